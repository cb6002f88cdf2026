//! Use cases on people. Each write is one transaction holding the change, its domain event and
//! (for an idempotent create) the stored response, so none can exist without the others.
//!
//! Every use case takes the caller's [`Principal`] and applies its reach for the action
//! (`crate::access::record_filter`), so the API and the pages cannot decide differently: a
//! person outside the caller's read reach is [`PersonError::NotFound`], exactly like a missing
//! one; a readable person outside the update or delete reach is [`PersonError::Forbidden`].

use crate::access::{FieldAccess, OwnerFilter};
use crate::audit::{AuditAction, AuditRow, Cursor};
use chrono::Utc;
use rapport_core::{Actor, FieldChange, PersonId, UserId, WorkspaceId};
use rapport_db::{Db, DbError, Tx};
use serde_json::Value;

use super::model::{NewPerson, Person, PersonInput, TimelineEntry, changes, governing_field};
use super::store;
use crate::field::{self, CustomField, Object, Stored, ValueContext};
use crate::http::FieldErrors;
use crate::identity::{Action, Principal};
use crate::profile::{self, Replay};
use crate::view::{ListSpec, ViewError};

/// The module name permissions are granted on.
pub(super) const MODULE: &str = "people";
/// The entity name audit rows and domain events use.
const ENTITY: &str = "person";

pub use crate::profile::{COUNT_CAP, TRASH_KEEP};

const ROUTE_CREATE: &str = "POST /api/v1/people";

#[derive(Debug, thiserror::Error)]
pub enum PersonError {
    #[error("some fields are invalid")]
    Invalid(FieldErrors),
    #[error("no such person")]
    NotFound,
    #[error("the person changed since it was read")]
    Stale,
    #[error("this idempotency key was used for another request")]
    KeyReused,
    #[error("the trash keeps people for 30 days; this one is gone")]
    Expired,
    /// The person was merged into another: only undoing the merge brings them back.
    #[error("this person was merged into person {0}; undo the merge to bring them back")]
    Merged(PersonId),
    /// The caller may not do this at all, or not to this person: the message says which.
    #[error("{0}")]
    Forbidden(&'static str),
    /// `owner` names someone whose records the caller may not change; the record would leave
    /// the caller's reach.
    #[error("owner: you may only give a person to yourself or to someone whose records you may change")]
    OwnerOutOfReach,
    #[error(transparent)]
    Db(#[from] DbError),
}

pub enum Created {
    New(Box<Person>),
    /// The stored answer to an earlier request with the same idempotency key.
    Replayed(Replay),
}

/// Creates a person. With an idempotency key, a retry answers what the first request answered
/// and creates nothing.
/// The owner must be within the caller's update reach (see [`crate::access::owner_allowed`]);
/// without one, a caller whose updates do not reach everyone becomes the owner, so they can
/// still change what they created.
pub async fn create(
    db: &Db,
    principal: &Principal,
    input: &PersonInput,
    key: Option<String>,
    respond: fn(&Person) -> Value,
) -> Result<Created, PersonError> {
    filter(db, principal, Action::Create, "your role may not create people").await?;
    let workspace = principal.workspace_id;
    if let Some(replayed) = replayed(db, workspace, key.as_deref()).await? {
        return Ok(Created::Replayed(replayed));
    }
    let change = crate::access::record_filter(db, principal, MODULE, Action::Update).await?;
    let ctx = field::context(db, workspace).await?;
    let defs = field::definitions(db, workspace, Object::Person).await?;
    let mut new = parse(input, &defs, None, ctx)?;
    if new.owner.is_none() && change != Some(OwnerFilter::Any) {
        new.owner = Some(principal.user_id);
    }
    if !crate::access::owner_allowed(principal.user_id, change.as_ref(), new.owner) {
        return Err(PersonError::OwnerOutOfReach);
    }
    let actor = principal.actor();
    let retry_key = key.clone();
    let written = db
        .write(move |tx| {
            Box::pin(async move {
                let now = Utc::now();
                let id = store::insert(tx, workspace, &new, now).await.map_err(|e| taken(e, "people"))?;
                field::index(tx, workspace, (Object::Person, id.get()), &defs, &new.custom)
                    .await?
                    .map_err(PersonError::Invalid)?;
                let person = named(store::find_in(tx, workspace, id).await?.ok_or(PersonError::NotFound)?, &defs);
                crate::search::index(tx, workspace, &person.search_document()).await?;
                crate::dedup::index(tx, workspace, std::slice::from_ref(&person)).await?;
                record_change(tx, workspace, &actor, id, AuditAction::Create, &changes(None, Some(&person.fields)))
                    .await?;
                if let Some(key) = key {
                    let reply = Replay { route: ROUTE_CREATE.into(), status: 201, body: respond(&person) };
                    profile::remember(tx, workspace, &key, &reply).await?;
                }
                Ok::<_, PersonError>(person)
            })
        })
        .await;
    match written {
        // Two requests with one key raced: the loser answers what the winner stored.
        Err(PersonError::Db(err)) if err.is_unique("idempotency_keys", "key", "idempotency_keys_pkey") => {
            replayed(db, workspace, retry_key.as_deref()).await?.map(Created::Replayed).ok_or(PersonError::Db(err))
        }
        other => other.map(|person| Created::New(Box::new(person))),
    }
}

async fn replayed(db: &Db, workspace: WorkspaceId, key: Option<&str>) -> Result<Option<Replay>, PersonError> {
    let Some(key) = key else { return Ok(None) };
    match profile::replay(db, workspace, key).await? {
        Some(reply) if reply.route != ROUTE_CREATE => Err(PersonError::KeyReused),
        other => Ok(other),
    }
}

/// A unique violation on the external id is the client's mistake, named by field.
pub(super) fn taken(err: DbError, table: &str) -> PersonError {
    if err.is_unique(table, "external_id", &format!("{table}_external_id")) {
        return PersonError::Invalid(FieldErrors::from([(
            "external_id".into(),
            vec!["is taken by another record".into()],
        )]));
    }
    if matches!(err, DbError::ForeignKeyViolation) {
        return PersonError::Invalid(FieldErrors::from([(
            "owner".into(),
            vec!["is not a member of this workspace".into()],
        )]));
    }
    PersonError::Db(err)
}

/// How far `action` reaches for the caller; refused with `denied` when it is not theirs at all.
async fn filter(
    db: &Db,
    principal: &Principal,
    action: Action,
    denied: &'static str,
) -> Result<OwnerFilter, PersonError> {
    crate::access::record_filter(db, principal, MODULE, action).await?.ok_or(PersonError::Forbidden(denied))
}

fn owner_of(person: &Person) -> Option<UserId> {
    person.fields.owner.map(UserId::new)
}

/// What the caller may do to one person they can read, for the page to offer only that.
#[derive(Clone, Copy, Debug, Default)]
pub struct Permitted {
    pub update: bool,
    pub delete: bool,
}

pub async fn permitted(db: &Db, principal: &Principal, person: &Person) -> Result<Permitted, PersonError> {
    let reaches = |filter: Option<OwnerFilter>| filter.is_some_and(|f| f.covers(owner_of(person)));
    Ok(Permitted {
        update: reaches(crate::access::record_filter(db, principal, MODULE, Action::Update).await?),
        delete: reaches(crate::access::record_filter(db, principal, MODULE, Action::Delete).await?),
    })
}

/// A person the caller may read, in the trash or not.
pub async fn get(db: &Db, principal: &Principal, id: PersonId) -> Result<Person, PersonError> {
    let read = filter(db, principal, Action::Read, "your role may not read people").await?;
    let person = store::find(db, principal.workspace_id, id)
        .await?
        .filter(|p| read.covers(owner_of(p)))
        .ok_or(PersonError::NotFound)?;
    Ok(named(person, &field::definitions(db, principal.workspace_id, Object::Person).await?))
}

/// The live person the caller may read whose primary email or external id is `key`, for
/// systems that name customers by their own keys.
pub async fn find_by(
    db: &Db,
    principal: &Principal,
    key: crate::person::import::Key,
    value: &str,
) -> Result<Person, PersonError> {
    let (column, value) = match key {
        crate::person::import::Key::Email => {
            ("email_canonical", rapport_core::Email::parse(value).map_err(|_| PersonError::NotFound)?.canonical())
        }
        crate::person::import::Key::ExternalId => ("external_id", value.trim().to_owned()),
    };
    let id = store::live_id_by(db, principal.workspace_id, column, &value).await?.ok_or(PersonError::NotFound)?;
    get(db, principal, id).await
}

/// The people with these ids the caller may read, in the trash or not, in the order given;
/// the others are left out.
pub async fn readable(db: &Db, principal: &Principal, ids: &[i64]) -> Result<Vec<Person>, PersonError> {
    let read = filter(db, principal, Action::Read, "your role may not read people").await?;
    let defs = field::definitions(db, principal.workspace_id, Object::Person).await?;
    let people = store::by_ids(db, principal.workspace_id, ids).await?;
    Ok(people.into_iter().filter(|p| read.covers(owner_of(p))).map(|p| named(p, &defs)).collect())
}

/// The person with their custom values by key, as callers read them.
pub(super) fn named(mut person: Person, defs: &[CustomField]) -> Person {
    person.fields.custom = field::named(defs, &person.custom);
    person
}

/// Checks a person's built-in and custom fields together, so one answer names every bad
/// field; `before` is the stored custom values an update starts from.
pub(super) fn parse(
    input: &PersonInput,
    defs: &[CustomField],
    before: Option<&Stored>,
    ctx: ValueContext,
) -> Result<NewPerson, PersonError> {
    let custom = field::checked(defs, &input.custom, before, ctx);
    let (mut new, custom) =
        field::together(NewPerson::parse(input, ctx.region), custom).map_err(PersonError::Invalid)?;
    new.custom = custom;
    Ok(new)
}

/// The reach of a change (`action`) and of reading, checked on the row the write holds: a
/// person the caller cannot read is missing, one they can read but not change is forbidden.
pub(super) struct WriteReach {
    read: OwnerFilter,
    pub(super) change: OwnerFilter,
    denied: &'static str,
}

impl WriteReach {
    pub(super) async fn of(
        db: &Db,
        principal: &Principal,
        action: Action,
        denied: &'static str,
    ) -> Result<Self, PersonError> {
        let change = filter(db, principal, action, denied).await?;
        let read = filter(db, principal, Action::Read, "your role may not read people").await?;
        Ok(Self { read, change, denied })
    }

    pub(super) fn check(&self, person: Option<Person>) -> Result<Person, PersonError> {
        let person = person.filter(|p| self.read.covers(owner_of(p))).ok_or(PersonError::NotFound)?;
        if self.change.covers(owner_of(&person)) { Ok(person) } else { Err(PersonError::Forbidden(self.denied)) }
    }
}

/// Applies `patch` (a JSON merge patch of [`PersonInput`]) when the person is still at
/// `expected_version` (if given). A new owner must be within the caller's update reach.
pub async fn update(
    db: &Db,
    principal: &Principal,
    id: PersonId,
    patch: Value,
    expected_version: Option<i64>,
) -> Result<Person, PersonError> {
    let reach = WriteReach::of(db, principal, Action::Update, "you may change only people within your reach").await?;
    let workspace = principal.workspace_id;
    let ctx = field::context(db, workspace).await?;
    let defs = field::definitions(db, workspace, Object::Person).await?;
    let (actor, principal) = (principal.actor(), principal.clone());
    db.write(move |tx| {
        Box::pin(async move {
            let before = live(tx, workspace, id).await?;
            let before = named(reach.check(Some(before))?, &defs);
            if expected_version.is_some_and(|v| v != before.version) {
                return Err(PersonError::Stale);
            }
            let mut merged = before.fields.merged(&patch).map_err(|e| invalid_body(&e))?;
            merged.custom = field::changed_values(&before.fields.custom, &merged.custom);
            let new = parse(&merged, &defs, Some(&before.custom), ctx)?;
            if new.owner != owner_of(&before)
                && !crate::access::owner_allowed(principal.user_id, Some(&reach.change), new.owner)
            {
                return Err(PersonError::OwnerOutOfReach);
            }
            let mut after = new.to_input();
            after.custom = field::named(&defs, &new.custom);
            let changed = changes(Some(&before.fields), Some(&after));
            if changed.is_empty() {
                return Ok(before);
            }
            store::update(tx, workspace, id, &new, Utc::now()).await.map_err(|e| taken(e, "people"))?;
            field::index(tx, workspace, (Object::Person, id.get()), &defs, &new.custom)
                .await?
                .map_err(PersonError::Invalid)?;
            record_change(tx, workspace, &actor, id, AuditAction::Update, &changed).await?;
            let person = named(store::find_in(tx, workspace, id).await?.ok_or(PersonError::NotFound)?, &defs);
            crate::search::index(tx, workspace, &person.search_document()).await?;
            crate::dedup::reindex(tx, workspace, &before, &person).await?;
            Ok(person)
        })
    })
    .await
}

/// Stores `new` over `before` with everything a change carries (custom values indexed, the audit
/// row and domain event, search document, duplicate keys); answers the person afterwards, or
/// `None` when nothing changed. `extra` are changes beyond the fields (a merge's `merged_from`),
/// recorded under `action`.
pub(super) async fn rewrite(
    tx: &mut Tx,
    (workspace, actor): (WorkspaceId, &Actor),
    before: &Person,
    new: NewPerson,
    defs: &[CustomField],
    (action, extra): (AuditAction, Vec<FieldChange>),
) -> Result<Option<Person>, PersonError> {
    let mut after = new.to_input();
    after.custom = field::named(defs, &new.custom);
    let mut changed = changes(Some(&before.fields), Some(&after));
    changed.extend(extra);
    if changed.is_empty() {
        return Ok(None);
    }
    let id = before.id;
    store::update(tx, workspace, id, &new, Utc::now()).await.map_err(|e| taken(e, "people"))?;
    field::index(tx, workspace, (Object::Person, id.get()), defs, &new.custom).await?.map_err(PersonError::Invalid)?;
    record_change(tx, workspace, actor, id, action, &changed).await?;
    let person = named(store::find_in(tx, workspace, id).await?.ok_or(PersonError::NotFound)?, defs);
    crate::search::index(tx, workspace, &person.search_document()).await?;
    crate::dedup::reindex(tx, workspace, before, &person).await?;
    Ok(Some(person))
}

pub(super) fn invalid_body(err: &serde_json::Error) -> PersonError {
    PersonError::Invalid(FieldErrors::from([("body".into(), vec![err.to_string()])]))
}

async fn live(tx: &mut Tx, workspace: WorkspaceId, id: PersonId) -> Result<Person, PersonError> {
    store::find_in(tx, workspace, id).await?.filter(|p| p.deleted_at.is_none()).ok_or(PersonError::NotFound)
}

/// Moves a person to the trash.
pub async fn delete(db: &Db, principal: &Principal, id: PersonId) -> Result<(), PersonError> {
    let reach = WriteReach::of(db, principal, Action::Delete, "you may delete only people within your reach").await?;
    let (workspace, actor) = (principal.workspace_id, principal.actor());
    db.write(move |tx| {
        Box::pin(async move {
            reach.check(Some(live(tx, workspace, id).await?))?;
            store::set_deleted(tx, workspace, id, Some(Utc::now()), Utc::now()).await?;
            crate::search::remove(tx, workspace, (Object::Person, id.get())).await?;
            record_change(tx, workspace, &actor, id, AuditAction::Delete, &[]).await
        })
    })
    .await
}

/// Takes a person out of the trash, within [`TRASH_KEEP`]. Undoing a delete needs the same
/// reach as the delete.
pub async fn restore(db: &Db, principal: &Principal, id: PersonId) -> Result<Person, PersonError> {
    let reach = WriteReach::of(db, principal, Action::Delete, "you may restore only people within your reach").await?;
    let (workspace, actor) = (principal.workspace_id, principal.actor());
    let defs = field::definitions(db, workspace, Object::Person).await?;
    db.write(move |tx| {
        Box::pin(async move {
            let person = named(reach.check(store::find_in(tx, workspace, id).await?)?, &defs);
            let Some(deleted_at) = person.deleted_at else { return Ok(person) };
            if let Some(survivor) = person.merged_into {
                return Err(PersonError::Merged(survivor));
            }
            if deleted_at < Utc::now() - TRASH_KEEP {
                return Err(PersonError::Expired);
            }
            store::set_deleted(tx, workspace, id, None, Utc::now()).await?;
            record_change(tx, workspace, &actor, id, AuditAction::Restore, &[]).await?;
            let person = named(store::find_in(tx, workspace, id).await?.ok_or(PersonError::NotFound)?, &defs);
            crate::search::index(tx, workspace, &person.search_document()).await?;
            Ok(person)
        })
    })
    .await
}

/// Deletes for good everyone trashed longer than [`TRASH_KEEP`]; returns how many.
pub async fn purge_trash(db: &Db) -> Result<usize, PersonError> {
    db.write(|tx| {
        Box::pin(async move {
            let purged = store::purge(tx, Utc::now() - TRASH_KEEP).await?;
            for (workspace, id) in &purged {
                field::unindex(tx, *workspace, (Object::Person, id.get())).await?;
                crate::search::remove(tx, *workspace, (Object::Person, id.get())).await?;
                record_change(tx, *workspace, &Actor::System("person.purge".into()), *id, AuditAction::Purge, &[])
                    .await?;
            }
            Ok(purged.len())
        })
    })
    .await
}

/// A page of people in the list's order, and the count (capped at [`COUNT_CAP`]).
pub struct Page {
    pub people: Vec<Person>,
    /// The cursor of the next page.
    pub next: Option<String>,
    pub count: i64,
}

/// The people the caller may read that the list spec selects (filter, sort, cursor); the
/// reach is a condition of the query itself, so pages and counts never include what the
/// caller cannot see, and fields hidden from the caller cannot be filtered or sorted on.
pub async fn list(db: &Db, principal: &Principal, access: &FieldAccess, spec: &ListSpec) -> Result<Page, PersonError> {
    let read = filter(db, principal, Action::Read, "your role may not read people").await?;
    let workspace = principal.workspace_id;
    let defs = field::definitions(db, workspace, Object::Person).await?;
    let listed = crate::view::page(db, principal, (&store::LIST_TABLE, access, &defs), read.owners(), spec)
        .await
        .map_err(listed)?;
    let people = store::by_ids(db, workspace, &listed.ids).await?.into_iter().map(|p| named(p, &defs)).collect();
    Ok(Page { people, next: listed.next, count: listed.count })
}

/// How many people the caller may read match the spec's filter, exactly.
pub async fn count(db: &Db, principal: &Principal, access: &FieldAccess, spec: &ListSpec) -> Result<i64, PersonError> {
    let read = filter(db, principal, Action::Read, "your role may not read people").await?;
    let defs = field::definitions(db, principal.workspace_id, Object::Person).await?;
    crate::view::count(db, principal, (&store::LIST_TABLE, access, &defs), read.owners(), spec).await.map_err(listed)
}

fn listed(err: ViewError) -> PersonError {
    match err {
        ViewError::Invalid(problem) => PersonError::Invalid(FieldErrors::from([(problem.path, vec![problem.message])])),
        ViewError::Db(err) => PersonError::Db(err),
        ViewError::NotFound => PersonError::NotFound,
        ViewError::Forbidden(why) => PersonError::Forbidden(why),
    }
}

/// Drops the changes of fields the caller's role may not see.
fn visible_changes(access: &FieldAccess, changes: &mut Vec<FieldChange>) {
    changes.retain(|change| access.visible(governing_field(&change.field)));
}

/// A person's history from their domain events, newest first, `limit` at a time before the
/// event id `before`, without the changes of hidden fields. Trashed people keep their
/// timeline; purged ones have none to show.
pub async fn timeline(
    db: &Db,
    principal: &Principal,
    access: &FieldAccess,
    id: PersonId,
    (before, limit): (Option<i64>, i64),
) -> Result<(Vec<TimelineEntry>, Option<i64>), PersonError> {
    get(db, principal, id).await?;
    let (mut entries, next) = profile::timeline(db, principal.workspace_id, (ENTITY, id.get()), before, limit).await?;
    for entry in &mut entries {
        visible_changes(access, &mut entry.changes);
    }
    Ok((entries, next))
}

/// A person's audit rows, newest first a page at a time: who changed which field from what
/// to what. Changes of hidden fields are left out, and so is an update that changed nothing
/// else, since its mere presence would tell that a hidden field moved.
pub async fn history(
    db: &Db,
    principal: &Principal,
    access: &FieldAccess,
    id: PersonId,
    cursor: Option<Cursor>,
) -> Result<crate::audit::Page<AuditRow>, PersonError> {
    get(db, principal, id).await?;
    let mut page = crate::audit::history(db, principal.workspace_id, "person", id.get(), cursor)
        .await
        .map_err(|crate::audit::AuditError::Db(err)| PersonError::Db(err))?;
    for row in &mut page.items {
        visible_changes(access, &mut row.changes);
    }
    page.items.retain(|row| !(row.action == AuditAction::Update.as_str() && row.changes.is_empty()));
    Ok(page)
}

/// A person's change leaves the transaction as an audit row and a `person.*` domain event.
pub(super) async fn record_change(
    tx: &mut Tx,
    workspace: WorkspaceId,
    actor: &Actor,
    id: PersonId,
    action: AuditAction,
    changes: &[FieldChange],
) -> Result<(), PersonError> {
    Ok(profile::record_change(tx, workspace, actor, (ENTITY, id.get()), action, changes).await?)
}

/// Stores many checked people in one transaction, for loading generated data. It records no
/// domain events and no audit rows: a bulk load is a restore of data that exists elsewhere, not
/// a series of user actions, and a million timeline entries saying "created by the loader"
/// would bury the real history. Their custom values' index and search documents are written
/// in the same transaction.
pub async fn insert_many(db: &Db, workspace: WorkspaceId, people: Vec<NewPerson>) -> Result<u64, PersonError> {
    let defs = field::definitions(db, workspace, Object::Person).await?;
    let inserted = db
        .write(move |tx| {
            Box::pin(async move {
                let inserted =
                    store::insert_many(tx, workspace, &people, Utc::now()).await.map_err(|e| taken(e, "people"))?;
                let values: Vec<(i64, &field::Stored)> = inserted.iter().map(|p| (p.id.get(), &p.custom)).collect();
                if let Err((_, errors)) = field::index_many(tx, workspace, Object::Person, &defs, &values).await? {
                    return Err(PersonError::Invalid(errors));
                }
                let documents: Vec<_> = inserted.iter().map(Person::search_document).collect();
                crate::search::index_many(tx, workspace, &documents).await?;
                crate::dedup::index(tx, workspace, &inserted).await?;
                Ok::<_, PersonError>(inserted.len() as u64)
            })
        })
        .await?;
    Ok(inserted)
}

/// Writes the search documents of up to `limit` live people after `after` in id order, for
/// filling the index of people stored before search existed; returns the last id written.
pub async fn reindex_search(db: &Db, after: Option<PersonId>, limit: i64) -> Result<Option<PersonId>, PersonError> {
    let people = store::live_after(db, after, limit).await?;
    let last = people.last().map(|(_, person)| person.id);
    db.write(move |tx| {
        Box::pin(async move {
            for (workspace, person) in &people {
                crate::search::index(tx, *workspace, &person.search_document()).await?;
            }
            Ok::<_, DbError>(())
        })
    })
    .await?;
    Ok(last)
}

/// How many people a workspace holds, the trash included.
pub async fn count_all(db: &Db, workspace: WorkspaceId) -> Result<i64, PersonError> {
    Ok(store::count_all(db, workspace).await?)
}

/// Every external id in a workspace, for checking that what references people finds them.
pub async fn external_ids(db: &Db, workspace: WorkspaceId) -> Result<Vec<String>, PersonError> {
    Ok(store::external_ids(db, workspace).await?)
}
