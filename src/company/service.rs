//! Use cases on companies and on the links between people and companies. Each write is one
//! transaction holding the change, its audit row and domain event, and (for an idempotent
//! create) the stored response, so none can exist without the others.

//!
//! Every use case takes the caller's [`Principal`] and applies its reach for the action
//! (`crate::access::record_filter`), as people's do: a company outside the caller's read reach
//! is [`CompanyError::NotFound`], exactly like a missing one; a readable company outside the
//! update or delete reach is [`CompanyError::Forbidden`].

use chrono::Utc;
use rapport_core::{Actor, CompanyId, FieldChange, PersonId, UserId, WorkspaceId};
use rapport_db::{Db, DbError, Tx};
use serde_json::{Value, json};

use super::model::{Company, CompanyInput, Link, NewCompany, changes};
use super::store;
use crate::access::{FieldAccess, OwnerFilter, owner_allowed};
use crate::audit::AuditAction;
use crate::field::{self, CustomField, Object, Stored, ValueContext};
use crate::http::FieldErrors;
use crate::identity::{Action, Principal};
use crate::profile::{self, Replay, TRASH_KEEP, TimelineEntry, governing_field, record_change, text};
use crate::view::{ListSpec, ViewError};

/// The module name permissions are granted on.
pub(super) const MODULE: &str = "companies";
const ROUTE_CREATE: &str = "POST /api/v1/companies";
pub(super) const ENTITY: &str = "company";
const NO_READ: &str = "your role may not read companies";

/// A company shows at most this many people on its page and in its API answer; the people list
/// filters by company for the rest.
pub const PEOPLE_SHOWN: i64 = 200;

#[derive(Debug, thiserror::Error)]
pub enum CompanyError {
    #[error("some fields are invalid")]
    Invalid(FieldErrors),
    #[error("no such company")]
    NotFound,
    #[error("the company changed since it was read")]
    Stale,
    #[error("this idempotency key was used for another request")]
    KeyReused,
    #[error("the trash keeps companies for 30 days; this one is gone")]
    Expired,
    /// The caller may not do this at all, or not to this company: the message says which.
    #[error("{0}")]
    Forbidden(&'static str),
    /// `owner` names someone whose records the caller may not change; the record would leave
    /// the caller's reach.
    #[error("owner: you may only give a company to yourself or to someone whose records you may change")]
    OwnerOutOfReach,
    #[error(transparent)]
    Db(#[from] DbError),
}

pub enum Created {
    New(Box<Company>),
    /// The stored answer to an earlier request with the same idempotency key.
    Replayed(Replay),
}

/// Creates a company. With an idempotency key, a retry answers what the first request answered
/// and creates nothing. The owner must be within the caller's update reach
/// ([`owner_allowed`]); without one, a caller whose updates do not reach everyone becomes the
/// owner, so they can still change what they created.
pub async fn create(
    db: &Db,
    principal: &Principal,
    input: &CompanyInput,
    key: Option<String>,
    respond: fn(&Company) -> Value,
) -> Result<Created, CompanyError> {
    filter(db, principal, Action::Create, "your role may not create companies").await?;
    let workspace = principal.workspace_id;
    if let Some(replayed) = replayed(db, workspace, key.as_deref()).await? {
        return Ok(Created::Replayed(replayed));
    }
    let change = crate::access::record_filter(db, principal, MODULE, Action::Update).await?;
    let ctx = field::context(db, workspace).await?;
    let defs = field::definitions(db, workspace, Object::Company).await?;
    let mut new = parse(input, &defs, None, ctx)?;
    if new.owner.is_none() && change != Some(OwnerFilter::Any) {
        new.owner = Some(principal.user_id);
    }
    if !owner_allowed(principal.user_id, change.as_ref(), new.owner) {
        return Err(CompanyError::OwnerOutOfReach);
    }
    let actor = principal.actor();
    let retry_key = key.clone();
    let written = db
        .write(move |tx| {
            Box::pin(async move {
                let id = store::insert(tx, workspace, &new, Utc::now()).await.map_err(taken)?;
                field::index(tx, workspace, (Object::Company, id.get()), &defs, &new.custom)
                    .await?
                    .map_err(CompanyError::Invalid)?;
                let company = named(store::find_in(tx, workspace, id).await?.ok_or(CompanyError::NotFound)?, &defs);
                crate::search::index(tx, workspace, &company.search_document()).await?;
                let changed = changes(None, Some(&company.fields));
                record_change(tx, workspace, &actor, (ENTITY, id.get()), AuditAction::Create, &changed).await?;
                if let Some(key) = key {
                    let reply = Replay { route: ROUTE_CREATE.into(), status: 201, body: respond(&company) };
                    profile::remember(tx, workspace, &key, &reply).await?;
                }
                Ok::<_, CompanyError>(company)
            })
        })
        .await;
    match written {
        // Two requests with one key raced: the loser answers what the winner stored.
        Err(CompanyError::Db(err)) if err.is_unique("idempotency_keys", "key", "idempotency_keys_pkey") => {
            replayed(db, workspace, retry_key.as_deref()).await?.map(Created::Replayed).ok_or(CompanyError::Db(err))
        }
        other => other.map(|company| Created::New(Box::new(company))),
    }
}

async fn replayed(db: &Db, workspace: WorkspaceId, key: Option<&str>) -> Result<Option<Replay>, CompanyError> {
    let Some(key) = key else { return Ok(None) };
    match profile::replay(db, workspace, key).await? {
        Some(reply) if reply.route != ROUTE_CREATE => Err(CompanyError::KeyReused),
        other => Ok(other),
    }
}

/// A unique violation on the external id, or an owner who is not a member, is the client's
/// mistake, named by field.
pub(super) fn taken(err: DbError) -> CompanyError {
    let field = if err.is_unique("companies", "external_id", "companies_external_id") {
        ("external_id", "is taken by another record")
    } else if matches!(err, DbError::ForeignKeyViolation) {
        ("owner", "is not a member of this workspace")
    } else {
        return CompanyError::Db(err);
    };
    CompanyError::Invalid(FieldErrors::from([(field.0.into(), vec![field.1.into()])]))
}

/// How far `action` reaches for the caller; refused with `denied` when it is not theirs at all.
async fn filter(
    db: &Db,
    principal: &Principal,
    action: Action,
    denied: &'static str,
) -> Result<OwnerFilter, CompanyError> {
    crate::access::record_filter(db, principal, MODULE, action).await?.ok_or(CompanyError::Forbidden(denied))
}

fn owner_of(company: &Company) -> Option<UserId> {
    company.fields.owner.map(UserId::new)
}

/// What the caller may do to one company they can read, for the page to offer only that.
#[derive(Clone, Copy, Debug, Default)]
pub struct Permitted {
    pub update: bool,
    pub delete: bool,
}

pub async fn permitted(db: &Db, principal: &Principal, company: &Company) -> Result<Permitted, CompanyError> {
    let reaches = |filter: Option<OwnerFilter>| filter.is_some_and(|f| f.covers(owner_of(company)));
    Ok(Permitted {
        update: reaches(crate::access::record_filter(db, principal, MODULE, Action::Update).await?),
        delete: reaches(crate::access::record_filter(db, principal, MODULE, Action::Delete).await?),
    })
}

/// A company the caller may read, in the trash or not.
pub async fn get(db: &Db, principal: &Principal, id: CompanyId) -> Result<Company, CompanyError> {
    let read = filter(db, principal, Action::Read, NO_READ).await?;
    let company = store::find(db, principal.workspace_id, id)
        .await?
        .filter(|c| read.covers(owner_of(c)))
        .ok_or(CompanyError::NotFound)?;
    Ok(named(company, &field::definitions(db, principal.workspace_id, Object::Company).await?))
}

/// The company with its custom values by key, as callers read them.
pub(super) fn named(mut company: Company, defs: &[CustomField]) -> Company {
    company.fields.custom = field::named(defs, &company.custom);
    company
}

/// Checks a company's built-in and custom fields together, so one answer names every bad
/// field; `before` is the stored custom values an update starts from.
pub(super) fn parse(
    input: &CompanyInput,
    defs: &[CustomField],
    before: Option<&Stored>,
    ctx: ValueContext,
) -> Result<NewCompany, CompanyError> {
    let custom = field::checked(defs, &input.custom, before, ctx);
    let (mut new, custom) =
        field::together(NewCompany::parse(input, ctx.region), custom).map_err(CompanyError::Invalid)?;
    new.custom = custom;
    Ok(new)
}

async fn live(tx: &mut Tx, workspace: WorkspaceId, id: CompanyId) -> Result<Company, CompanyError> {
    store::find_in(tx, workspace, id).await?.filter(|c| c.deleted_at.is_none()).ok_or(CompanyError::NotFound)
}

/// The reach of a change (`action`) and of reading, checked on the row the write holds: a
/// company the caller cannot read is missing, one they can read but not change is forbidden.
struct WriteReach {
    read: OwnerFilter,
    change: OwnerFilter,
    denied: &'static str,
}

impl WriteReach {
    async fn of(db: &Db, principal: &Principal, action: Action, denied: &'static str) -> Result<Self, CompanyError> {
        let change = filter(db, principal, action, denied).await?;
        let read = filter(db, principal, Action::Read, NO_READ).await?;
        Ok(Self { read, change, denied })
    }

    fn check(&self, company: Option<Company>) -> Result<Company, CompanyError> {
        let company = company.filter(|c| self.read.covers(owner_of(c))).ok_or(CompanyError::NotFound)?;
        if self.change.covers(owner_of(&company)) { Ok(company) } else { Err(CompanyError::Forbidden(self.denied)) }
    }
}

const UPDATE_DENIED: &str = "you may change only companies within your reach";

/// Applies `patch` (a JSON merge patch of [`CompanyInput`]) when the company is still at
/// `expected_version` (if given). A new owner must be within the caller's update reach.
pub async fn update(
    db: &Db,
    principal: &Principal,
    id: CompanyId,
    patch: Value,
    expected_version: Option<i64>,
) -> Result<Company, CompanyError> {
    let reach = WriteReach::of(db, principal, Action::Update, UPDATE_DENIED).await?;
    let workspace = principal.workspace_id;
    let ctx = field::context(db, workspace).await?;
    let defs = field::definitions(db, workspace, Object::Company).await?;
    let (actor, me) = (principal.actor(), principal.user_id);
    db.write(move |tx| {
        Box::pin(async move {
            let before = named(reach.check(Some(live(tx, workspace, id).await?))?, &defs);
            if expected_version.is_some_and(|v| v != before.version) {
                return Err(CompanyError::Stale);
            }
            let mut merged = before
                .fields
                .merged(&patch)
                .map_err(|e| CompanyError::Invalid(FieldErrors::from([("body".into(), vec![e.to_string()])])))?;
            merged.custom = field::changed_values(&before.fields.custom, &merged.custom);
            let new = parse(&merged, &defs, Some(&before.custom), ctx)?;
            if new.owner != owner_of(&before) && !owner_allowed(me, Some(&reach.change), new.owner) {
                return Err(CompanyError::OwnerOutOfReach);
            }
            let mut after = new.to_input();
            after.custom = field::named(&defs, &new.custom);
            let changed = changes(Some(&before.fields), Some(&after));
            if changed.is_empty() {
                return Ok(before);
            }
            store::update(tx, workspace, id, &new, Utc::now()).await.map_err(taken)?;
            field::index(tx, workspace, (Object::Company, id.get()), &defs, &new.custom)
                .await?
                .map_err(CompanyError::Invalid)?;
            record_change(tx, workspace, &actor, (ENTITY, id.get()), AuditAction::Update, &changed).await?;
            let company = named(store::find_in(tx, workspace, id).await?.ok_or(CompanyError::NotFound)?, &defs);
            crate::search::index(tx, workspace, &company.search_document()).await?;
            Ok(company)
        })
    })
    .await
}

/// Moves a company to the trash; its links stay, so a restore brings them back.
pub async fn delete(db: &Db, principal: &Principal, id: CompanyId) -> Result<(), CompanyError> {
    let reach =
        WriteReach::of(db, principal, Action::Delete, "you may delete only companies within your reach").await?;
    let (workspace, actor) = (principal.workspace_id, principal.actor());
    db.write(move |tx| {
        Box::pin(async move {
            reach.check(Some(live(tx, workspace, id).await?))?;
            store::set_deleted(tx, workspace, id, Some(Utc::now()), Utc::now()).await?;
            crate::search::remove(tx, workspace, (Object::Company, id.get())).await?;
            Ok(record_change(tx, workspace, &actor, (ENTITY, id.get()), AuditAction::Delete, &[]).await?)
        })
    })
    .await
}

/// Takes a company out of the trash, within [`TRASH_KEEP`]. Undoing a delete needs the same
/// reach as the delete.
pub async fn restore(db: &Db, principal: &Principal, id: CompanyId) -> Result<Company, CompanyError> {
    let reach =
        WriteReach::of(db, principal, Action::Delete, "you may restore only companies within your reach").await?;
    let (workspace, actor) = (principal.workspace_id, principal.actor());
    let defs = field::definitions(db, workspace, Object::Company).await?;
    db.write(move |tx| {
        Box::pin(async move {
            let company = named(reach.check(store::find_in(tx, workspace, id).await?)?, &defs);
            let Some(deleted_at) = company.deleted_at else { return Ok(company) };
            if deleted_at < Utc::now() - TRASH_KEEP {
                return Err(CompanyError::Expired);
            }
            store::set_deleted(tx, workspace, id, None, Utc::now()).await?;
            record_change(tx, workspace, &actor, (ENTITY, id.get()), AuditAction::Restore, &[]).await?;
            let company = named(store::find_in(tx, workspace, id).await?.ok_or(CompanyError::NotFound)?, &defs);
            crate::search::index(tx, workspace, &company.search_document()).await?;
            Ok(company)
        })
    })
    .await
}

/// Writes the search documents of up to `limit` live companies after `after` in id order, for
/// filling the index of companies stored before search existed; returns the last id written.
pub async fn reindex_search(db: &Db, after: Option<CompanyId>, limit: i64) -> Result<Option<CompanyId>, CompanyError> {
    let companies = store::live_after(db, after, limit).await?;
    let last = companies.last().map(|(_, company)| company.id);
    db.write(move |tx| {
        Box::pin(async move {
            for (workspace, company) in &companies {
                crate::search::index(tx, *workspace, &company.search_document()).await?;
            }
            Ok::<_, DbError>(())
        })
    })
    .await?;
    Ok(last)
}

/// Deletes for good every company trashed longer than [`TRASH_KEEP`]; returns how many.
pub async fn purge_trash(db: &Db) -> Result<usize, CompanyError> {
    db.write(|tx| {
        Box::pin(async move {
            let purged = store::purge(tx, Utc::now() - TRASH_KEEP).await?;
            let actor = Actor::System("company.purge".into());
            for (workspace, id) in &purged {
                field::unindex(tx, *workspace, (Object::Company, id.get())).await?;
                crate::search::remove(tx, *workspace, (Object::Company, id.get())).await?;
                record_change(tx, *workspace, &actor, (ENTITY, id.get()), AuditAction::Purge, &[]).await?;
            }
            Ok(purged.len())
        })
    })
    .await
}

/// A page of companies in the list's order, and the count (capped at [`COUNT_CAP`]).
pub struct Page {
    pub companies: Vec<Company>,
    /// The cursor of the next page.
    pub next: Option<String>,
    pub count: i64,
}

/// The companies the caller may read that the list spec selects (filter, sort, cursor); the
/// reach is a condition of the query itself, so pages and counts never include what the
/// caller cannot see, and fields hidden from the caller cannot be filtered or sorted on.
pub async fn list(db: &Db, principal: &Principal, access: &FieldAccess, spec: &ListSpec) -> Result<Page, CompanyError> {
    let read = filter(db, principal, Action::Read, NO_READ).await?;
    let workspace = principal.workspace_id;
    let defs = field::definitions(db, workspace, Object::Company).await?;
    let listed = crate::view::page(db, principal, (&store::LIST_TABLE, access, &defs), read.owners(), spec)
        .await
        .map_err(listed)?;
    let companies = store::by_ids(db, workspace, &listed.ids).await?.into_iter().map(|c| named(c, &defs)).collect();
    Ok(Page { companies, next: listed.next, count: listed.count })
}

/// How many companies match the spec's filter, exactly.
pub async fn count(db: &Db, principal: &Principal, access: &FieldAccess, spec: &ListSpec) -> Result<i64, CompanyError> {
    let read = filter(db, principal, Action::Read, NO_READ).await?;
    let defs = field::definitions(db, principal.workspace_id, Object::Company).await?;
    crate::view::count(db, principal, (&store::LIST_TABLE, access, &defs), read.owners(), spec).await.map_err(listed)
}

fn listed(err: ViewError) -> CompanyError {
    match err {
        ViewError::Invalid(problem) => {
            CompanyError::Invalid(FieldErrors::from([(problem.path, vec![problem.message])]))
        }
        ViewError::Db(err) => CompanyError::Db(err),
        ViewError::NotFound => CompanyError::NotFound,
        ViewError::Forbidden(why) => CompanyError::Forbidden(why),
    }
}

/// Links a person to a company with an optional title, or changes the title of the link. Both
/// must be in the workspace and out of the trash; a link is a change of the company, so the
/// company must be within the caller's update reach, and the person within their read reach.
/// The change shows on both timelines.
pub async fn link(
    db: &Db,
    principal: &Principal,
    (company, person): (CompanyId, PersonId),
    title: Option<&str>,
) -> Result<(), CompanyError> {
    let reach = WriteReach::of(db, principal, Action::Update, UPDATE_DENIED).await?;
    live_person(db, principal, person).await?;
    let title = text(title);
    let (workspace, actor) = (principal.workspace_id, principal.actor());
    db.write(move |tx| {
        Box::pin(async move {
            reach.check(Some(live(tx, workspace, company).await?))?;
            let before = store::link_title(tx, workspace, company, person).await?;
            if before.as_ref() == Some(&title) {
                return Ok(());
            }
            store::upsert_link(tx, workspace, company, person, title.as_deref(), Utc::now()).await?;
            let old = before.map(|t| json!({ "title": t }));
            record_link(tx, workspace, &actor, (company, person), old, Some(json!({ "title": title }))).await
        })
    })
    .await
}

/// Removes a person from a company, a change of the company like [`link`].
pub async fn unlink(
    db: &Db,
    principal: &Principal,
    (company, person): (CompanyId, PersonId),
) -> Result<(), CompanyError> {
    let reach = WriteReach::of(db, principal, Action::Update, UPDATE_DENIED).await?;
    let (workspace, actor) = (principal.workspace_id, principal.actor());
    db.write(move |tx| {
        Box::pin(async move {
            reach.check(store::find_in(tx, workspace, company).await?)?;
            let before = store::link_title(tx, workspace, company, person).await?.ok_or(CompanyError::NotFound)?;
            store::delete_link(tx, workspace, company, person).await?;
            record_link(tx, workspace, &actor, (company, person), Some(json!({ "title": before })), None).await
        })
    })
    .await
}

/// A link's change is a change of both records: `people.ID` on the company, `companies.ID` on
/// the person, each with the title before and after (`null` when unlinked).
pub(super) async fn record_link(
    tx: &mut Tx,
    workspace: WorkspaceId,
    actor: &Actor,
    (company, person): (CompanyId, PersonId),
    old: Option<Value>,
    new: Option<Value>,
) -> Result<(), CompanyError> {
    let (old, new) = (old.unwrap_or(Value::Null), new.unwrap_or(Value::Null));
    let sides =
        [(ENTITY, company.get(), format!("people.{person}")), ("person", person.get(), format!("companies.{company}"))];
    for (entity, id, field) in sides {
        let changed: Vec<FieldChange> = FieldChange::between(&field, old.clone(), new.clone()).into_iter().collect();
        record_change(tx, workspace, actor, (entity, id), AuditAction::Update, &changed).await?;
    }
    Ok(())
}

/// The person must be one the caller may read, of their workspace, out of the trash.
async fn live_person(db: &Db, principal: &Principal, person: PersonId) -> Result<(), CompanyError> {
    match crate::person::get(db, principal, person).await {
        Ok(found) if found.deleted_at.is_none() => Ok(()),
        Ok(_) | Err(crate::person::PersonError::NotFound | crate::person::PersonError::Forbidden(_)) => {
            Err(CompanyError::Invalid(FieldErrors::from([(
                "person_id".into(),
                vec!["is not a person of this workspace".into()],
            )])))
        }
        Err(crate::person::PersonError::Db(err)) => Err(err.into()),
        Err(other) => Err(CompanyError::Db(DbError::Unavailable(other.to_string()))),
    }
}

/// The people (at most [`PEOPLE_SHOWN`]) of a company the caller may read, as far as the
/// caller may read people: none for a role that reads no people.
pub async fn people(db: &Db, principal: &Principal, company: CompanyId) -> Result<Vec<Link>, CompanyError> {
    get(db, principal, company).await?;
    let Some(read) = crate::access::record_filter(db, principal, "people", Action::Read).await? else {
        return Ok(Vec::new());
    };
    let links = store::people_of(db, principal.workspace_id, company, PEOPLE_SHOWN).await?;
    Ok(links.into_iter().filter(|l| read.covers(l.person_owner)).map(|l| l.link).collect())
}

/// A company's history from its domain events, newest first, `limit` at a time before the
/// event id `before`, without the changes of fields hidden from the caller. Trashed companies
/// keep their timeline; purged ones have none to show.
pub async fn timeline(
    db: &Db,
    principal: &Principal,
    access: &FieldAccess,
    id: CompanyId,
    (before, limit): (Option<i64>, i64),
) -> Result<(Vec<TimelineEntry>, Option<i64>), CompanyError> {
    get(db, principal, id).await?;
    let (mut entries, next) = profile::timeline(db, principal.workspace_id, (ENTITY, id.get()), before, limit).await?;
    for entry in &mut entries {
        entry.changes.retain(|change| access.visible(governing_field(&change.field)));
    }
    Ok((entries, next))
}

/// The companies a person works for, as far as the caller may read companies. Other modules
/// (the person page, exports) read them through here.
pub async fn companies_of(db: &Db, principal: &Principal, person: PersonId) -> Result<Vec<Link>, DbError> {
    let Some(read) = crate::access::record_filter(db, principal, MODULE, Action::Read).await? else {
        return Ok(Vec::new());
    };
    let links = store::companies_of(db, principal.workspace_id, person).await?;
    Ok(links.into_iter().filter(|l| read.covers(l.company_owner)).map(|l| l.link).collect())
}

/// Moves a person's company links to `to` inside a merge's transaction (a company `to` is
/// already linked to keeps that link and its title); answers the companies moved.
pub async fn move_links(
    tx: &mut Tx,
    workspace: WorkspaceId,
    (from, to): (PersonId, PersonId),
) -> Result<Vec<i64>, DbError> {
    let moved = store::reassign_links(tx, workspace, (from, to), None).await?;
    Ok(moved.into_iter().map(CompanyId::get).collect())
}

/// Moves back the links [`move_links`] moved from `from` to `to`.
pub async fn move_links_back(
    tx: &mut Tx,
    workspace: WorkspaceId,
    companies: &[i64],
    (from, to): (PersonId, PersonId),
) -> Result<(), DbError> {
    store::reassign_links(tx, workspace, (to, from), Some(companies)).await.map(drop)
}
