//! Use cases on companies and on the links between people and companies. Each write is one
//! transaction holding the change, its audit row and domain event, and (for an idempotent
//! create) the stored response, so none can exist without the others.

use chrono::Utc;
use rapport_core::{Actor, CompanyId, FieldChange, PersonId, WorkspaceId};
use rapport_db::{Db, DbError, Tx};
use serde_json::{Value, json};

use super::model::{Company, CompanyInput, Link, NewCompany, changes};
use super::store;
use crate::access::FieldAccess;
use crate::audit::AuditAction;
use crate::field::{self, CustomField, Object, Stored, ValueContext};
use crate::http::FieldErrors;
use crate::identity::Principal;
use crate::profile::{self, Replay, TRASH_KEEP, record_change, text};
use crate::view::{ListSpec, ViewError};

const ROUTE_CREATE: &str = "POST /api/v1/companies";
const ENTITY: &str = "company";

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
    #[error(transparent)]
    Db(#[from] DbError),
}

pub enum Created {
    New(Box<Company>),
    /// The stored answer to an earlier request with the same idempotency key.
    Replayed(Replay),
}

/// Creates a company. With an idempotency key, a retry answers what the first request answered
/// and creates nothing.
pub async fn create(
    db: &Db,
    workspace: WorkspaceId,
    actor: &Actor,
    input: &CompanyInput,
    key: Option<String>,
    respond: fn(&Company) -> Value,
) -> Result<Created, CompanyError> {
    if let Some(replayed) = replayed(db, workspace, key.as_deref()).await? {
        return Ok(Created::Replayed(replayed));
    }
    let ctx = field::context(db, workspace).await?;
    let defs = field::definitions(db, workspace, Object::Company).await?;
    let new = parse(input, &defs, None, ctx)?;
    let actor = actor.clone();
    let retry_key = key.clone();
    let written = db
        .write(move |tx| {
            Box::pin(async move {
                let id = store::insert(tx, workspace, &new, Utc::now()).await.map_err(taken)?;
                field::index(tx, workspace, (Object::Company, id.get()), &defs, &new.custom)
                    .await?
                    .map_err(CompanyError::Invalid)?;
                let company = named(store::find_in(tx, workspace, id).await?.ok_or(CompanyError::NotFound)?, &defs);
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
fn taken(err: DbError) -> CompanyError {
    let field = if err.is_unique("companies", "external_id", "companies_external_id") {
        ("external_id", "is taken by another record")
    } else if matches!(err, DbError::ForeignKeyViolation) {
        ("owner", "is not a member of this workspace")
    } else {
        return CompanyError::Db(err);
    };
    CompanyError::Invalid(FieldErrors::from([(field.0.into(), vec![field.1.into()])]))
}

pub async fn get(db: &Db, workspace: WorkspaceId, id: CompanyId) -> Result<Company, CompanyError> {
    let company = store::find(db, workspace, id).await?.ok_or(CompanyError::NotFound)?;
    Ok(named(company, &field::definitions(db, workspace, Object::Company).await?))
}

/// The company with its custom values by key, as callers read them.
fn named(mut company: Company, defs: &[CustomField]) -> Company {
    company.fields.custom = field::named(defs, &company.custom);
    company
}

/// Checks a company's built-in and custom fields together, so one answer names every bad
/// field; `before` is the stored custom values an update starts from.
fn parse(
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

/// Applies `patch` (a JSON merge patch of [`CompanyInput`]) when the company is still at
/// `expected_version` (if given).
pub async fn update(
    db: &Db,
    workspace: WorkspaceId,
    actor: &Actor,
    id: CompanyId,
    patch: Value,
    expected_version: Option<i64>,
) -> Result<Company, CompanyError> {
    let ctx = field::context(db, workspace).await?;
    let defs = field::definitions(db, workspace, Object::Company).await?;
    let actor = actor.clone();
    db.write(move |tx| {
        Box::pin(async move {
            let before = named(live(tx, workspace, id).await?, &defs);
            if expected_version.is_some_and(|v| v != before.version) {
                return Err(CompanyError::Stale);
            }
            let mut merged = before
                .fields
                .merged(&patch)
                .map_err(|e| CompanyError::Invalid(FieldErrors::from([("body".into(), vec![e.to_string()])])))?;
            merged.custom = field::changed_values(&before.fields.custom, &merged.custom);
            let new = parse(&merged, &defs, Some(&before.custom), ctx)?;
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
            Ok(named(store::find_in(tx, workspace, id).await?.ok_or(CompanyError::NotFound)?, &defs))
        })
    })
    .await
}

/// Moves a company to the trash; its links stay, so a restore brings them back.
pub async fn delete(db: &Db, workspace: WorkspaceId, actor: &Actor, id: CompanyId) -> Result<(), CompanyError> {
    let actor = actor.clone();
    db.write(move |tx| {
        Box::pin(async move {
            live(tx, workspace, id).await?;
            store::set_deleted(tx, workspace, id, Some(Utc::now()), Utc::now()).await?;
            Ok(record_change(tx, workspace, &actor, (ENTITY, id.get()), AuditAction::Delete, &[]).await?)
        })
    })
    .await
}

/// Takes a company out of the trash, within [`TRASH_KEEP`].
pub async fn restore(db: &Db, workspace: WorkspaceId, actor: &Actor, id: CompanyId) -> Result<Company, CompanyError> {
    let actor = actor.clone();
    let defs = field::definitions(db, workspace, Object::Company).await?;
    db.write(move |tx| {
        Box::pin(async move {
            let company = named(store::find_in(tx, workspace, id).await?.ok_or(CompanyError::NotFound)?, &defs);
            let Some(deleted_at) = company.deleted_at else { return Ok(company) };
            if deleted_at < Utc::now() - TRASH_KEEP {
                return Err(CompanyError::Expired);
            }
            store::set_deleted(tx, workspace, id, None, Utc::now()).await?;
            record_change(tx, workspace, &actor, (ENTITY, id.get()), AuditAction::Restore, &[]).await?;
            Ok(named(store::find_in(tx, workspace, id).await?.ok_or(CompanyError::NotFound)?, &defs))
        })
    })
    .await
}

/// Deletes for good every company trashed longer than [`TRASH_KEEP`]; returns how many.
pub async fn purge_trash(db: &Db) -> Result<usize, CompanyError> {
    db.write(|tx| {
        Box::pin(async move {
            let purged = store::purge(tx, Utc::now() - TRASH_KEEP).await?;
            let actor = Actor::System("company.purge".into());
            for (workspace, id) in &purged {
                field::unindex(tx, *workspace, (Object::Company, id.get())).await?;
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

/// The companies the list spec selects (filter, sort, cursor); fields hidden from the caller
/// cannot be filtered or sorted on.
pub async fn list(db: &Db, principal: &Principal, access: &FieldAccess, spec: &ListSpec) -> Result<Page, CompanyError> {
    let workspace = principal.workspace_id;
    let defs = field::definitions(db, workspace, Object::Company).await?;
    let listed =
        crate::view::page(db, principal, (&store::LIST_TABLE, access, &defs), None, spec).await.map_err(listed)?;
    let companies = store::by_ids(db, workspace, &listed.ids).await?.into_iter().map(|c| named(c, &defs)).collect();
    Ok(Page { companies, next: listed.next, count: listed.count })
}

/// How many companies match the spec's filter, exactly.
pub async fn count(db: &Db, principal: &Principal, access: &FieldAccess, spec: &ListSpec) -> Result<i64, CompanyError> {
    let defs = field::definitions(db, principal.workspace_id, Object::Company).await?;
    crate::view::count(db, principal, (&store::LIST_TABLE, access, &defs), None, spec).await.map_err(listed)
}

fn listed(err: ViewError) -> CompanyError {
    match err {
        ViewError::Invalid(problem) => {
            CompanyError::Invalid(FieldErrors::from([(problem.path, vec![problem.message])]))
        }
        ViewError::Db(err) => CompanyError::Db(err),
        ViewError::NotFound | ViewError::Forbidden(_) => CompanyError::NotFound,
    }
}

/// Links a person to a company with an optional title, or changes the title of the link. Both
/// must be in the workspace and out of the trash. The change shows on both timelines.
pub async fn link(
    db: &Db,
    principal: &Principal,
    (company, person): (CompanyId, PersonId),
    title: Option<&str>,
) -> Result<(), CompanyError> {
    live_person(db, principal, person).await?;
    let title = text(title);
    let (workspace, actor) = (principal.workspace_id, principal.actor());
    db.write(move |tx| {
        Box::pin(async move {
            live(tx, workspace, company).await?;
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

/// Removes a person from a company.
pub async fn unlink(
    db: &Db,
    workspace: WorkspaceId,
    actor: &Actor,
    (company, person): (CompanyId, PersonId),
) -> Result<(), CompanyError> {
    let actor = actor.clone();
    db.write(move |tx| {
        Box::pin(async move {
            let before = store::link_title(tx, workspace, company, person).await?.ok_or(CompanyError::NotFound)?;
            store::delete_link(tx, workspace, company, person).await?;
            record_link(tx, workspace, &actor, (company, person), Some(json!({ "title": before })), None).await
        })
    })
    .await
}

/// A link's change is a change of both records: `people.ID` on the company, `companies.ID` on
/// the person, each with the title before and after (`null` when unlinked).
async fn record_link(
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

/// A company's people (at most [`PEOPLE_SHOWN`]).
pub async fn people(db: &Db, workspace: WorkspaceId, company: CompanyId) -> Result<Vec<Link>, CompanyError> {
    get(db, workspace, company).await?;
    Ok(store::people_of(db, workspace, company, PEOPLE_SHOWN).await?)
}

/// The companies a person works for. Other modules (the person page) read them through here.
pub async fn companies_of(db: &Db, workspace: WorkspaceId, person: PersonId) -> Result<Vec<Link>, DbError> {
    store::companies_of(db, workspace, person).await
}
