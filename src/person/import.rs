//! What an import asks of people, inside the transaction that writes one batch of rows: the
//! people the rows' keys already name, many creates at once, and updates and their undo. Each
//! write keeps the same promises as a single edit (custom values indexed, search documents
//! current, one audit row and one `person.*` domain event per person), in the caller's
//! transaction so that the batch, its progress and its records commit together.

use chrono::Utc;
use rapport_core::{Actor, PersonId, UserId, WorkspaceId};
use rapport_db::Tx;
use serde_json::Value;

use super::model::{NewPerson, Person, PersonInput, changes};
use super::service::{PersonError, named, parse, record_change, rewrite, taken};
use super::store;
use crate::access::OwnerFilter;
use crate::audit::AuditAction;
use crate::field::{self, CustomField, Object, ValueContext};

/// The key an import row finds its person by.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Key {
    /// The primary email, canonical.
    Email,
    ExternalId,
}

/// The people (in the trash too) whose key is one of `keys`, with their custom values by key.
pub async fn by_keys(
    tx: &mut Tx,
    workspace: WorkspaceId,
    key: Key,
    keys: &[String],
    defs: &[CustomField],
) -> Result<Vec<(String, Person)>, PersonError> {
    let column = match key {
        Key::Email => "email_canonical",
        Key::ExternalId => "external_id",
    };
    let found = store::by_column(tx, workspace, column, keys).await?;
    Ok(found.into_iter().map(|(key, person)| (key, named(person, defs))).collect())
}

/// A person by id, in the trash or not, with their custom values by key: the stored person an
/// imported row is merged into.
pub async fn by_id(
    tx: &mut Tx,
    workspace: WorkspaceId,
    id: PersonId,
    defs: &[CustomField],
) -> Result<Option<Person>, PersonError> {
    Ok(store::find_in(tx, workspace, id).await?.map(|person| named(person, defs)))
}

/// Lets the database plan the next batches' lookups for the table as it has grown: called
/// after batches 1, 2, 4, 8 … of an import, so the cost stays a small share of the writes.
pub async fn refresh_statistics(tx: &mut Tx) -> Result<(), PersonError> {
    Ok(store::refresh_statistics(tx).await?)
}

/// Checks a row's input for a new person: built-in and custom fields together, so one answer
/// names every bad field. Runs off the writer, on the reading side of an import.
pub fn check_new(input: &PersonInput, defs: &[CustomField], ctx: ValueContext) -> Result<NewPerson, PersonError> {
    parse(input, defs, None, ctx)
}

/// Creates checked people in the caller's transaction and answers them in the same order; a
/// custom value taken by another record is the error of that person's position.
pub async fn create_many(
    tx: &mut Tx,
    (workspace, actor): (WorkspaceId, &Actor),
    people: &[NewPerson],
    defs: &[CustomField],
) -> Result<Result<Vec<Person>, (usize, PersonError)>, PersonError> {
    let inserted = store::insert_many(tx, workspace, people, Utc::now()).await.map_err(|e| taken(e, "people"))?;
    let values: Vec<(i64, &crate::field::Stored)> = inserted.iter().map(|p| (p.id.get(), &p.custom)).collect();
    if let Err((place, errors)) = field::index_many(tx, workspace, Object::Person, defs, &values).await? {
        return Ok(Err((place, PersonError::Invalid(errors))));
    }
    let created: Vec<Person> = inserted.into_iter().map(|person| named(person, defs)).collect();
    let changed: Vec<_> = created.iter().map(|p| (p.id.get(), changes(None, Some(&p.fields)))).collect();
    crate::profile::record_changes(tx, workspace, actor, ("person", AuditAction::Create), &changed).await?;
    let documents: Vec<_> = created.iter().map(Person::search_document).collect();
    crate::search::index_many(tx, workspace, &documents).await?;
    crate::dedup::index(tx, workspace, &created).await?;
    Ok(Ok(created))
}

/// The reach an import's updates run with: who the importer is and whose people they may
/// change, so an owner given in the file stays within it.
pub struct Reach<'a> {
    pub user: UserId,
    pub change: &'a OwnerFilter,
}

/// Applies a row's fields (only those the row gives) to `before`, a person as [`by_keys`]
/// read it; answers the person afterwards, or `None` when nothing changed.
pub async fn update_from(
    tx: &mut Tx,
    (workspace, actor): (WorkspaceId, &Actor),
    reach: &Reach<'_>,
    before: &Person,
    input: &PersonInput,
    (defs, ctx): (&[CustomField], ValueContext),
) -> Result<Option<Person>, PersonError> {
    if !reach.change.covers(before.fields.owner.map(UserId::new)) {
        return Err(PersonError::Forbidden("you may change only people within your reach"));
    }
    let mut merged = before.fields.merged(&sparse(input)).map_err(|e| super::service::invalid_body(&e))?;
    merged.custom = field::changed_values(&before.fields.custom, &merged.custom);
    let new = parse(&merged, defs, Some(&before.custom), ctx)?;
    if new.owner != before.fields.owner.map(UserId::new)
        && !crate::access::owner_allowed(reach.user, Some(reach.change), new.owner)
    {
        return Err(PersonError::OwnerOutOfReach);
    }
    rewrite(tx, (workspace, actor), before, new, defs, (AuditAction::Update, Vec::new())).await
}

/// Puts a person back as `fields` says (an import's record of how they were), for an undo.
/// A person purged since has nothing to restore.
pub async fn restore_fields(
    tx: &mut Tx,
    (workspace, actor): (WorkspaceId, &Actor),
    id: PersonId,
    fields: &PersonInput,
    (defs, ctx): (&[CustomField], ValueContext),
) -> Result<(), PersonError> {
    let Some(before) = store::find_in(tx, workspace, id).await? else { return Ok(()) };
    let before = named(before, defs);
    let mut wanted = fields.clone();
    wanted.custom = field::changed_values(&before.fields.custom, &fields.custom);
    let new = parse(&wanted, defs, Some(&before.custom), ctx)?;
    rewrite(tx, (workspace, actor), &before, new, defs, (AuditAction::Update, Vec::new())).await.map(drop)
}

/// Removes people an import created, for good: an undone import leaves no trace in lists,
/// search or the trash, while the audit trail keeps that they existed.
pub async fn erase(
    tx: &mut Tx,
    (workspace, actor): (WorkspaceId, &Actor),
    ids: &[PersonId],
) -> Result<(), PersonError> {
    for id in ids {
        if store::erase(tx, workspace, *id).await? {
            field::unindex(tx, workspace, (Object::Person, id.get())).await?;
            crate::search::remove(tx, workspace, (Object::Person, id.get())).await?;
            crate::dedup::forget(tx, workspace, *id).await?;
            record_change(tx, workspace, actor, *id, AuditAction::Purge, &[]).await?;
        }
    }
    Ok(())
}

/// The fields a row gives, as a merge patch: absent and empty fields are left out, so they keep
/// what the person had.
fn sparse(input: &PersonInput) -> Value {
    fn prune(value: Value) -> Option<Value> {
        match value {
            Value::Null => None,
            Value::Array(items) if items.is_empty() => None,
            Value::Object(map) => {
                let kept: serde_json::Map<String, Value> =
                    map.into_iter().filter_map(|(k, v)| prune(v).map(|v| (k, v))).collect();
                if kept.is_empty() { None } else { Some(Value::Object(kept)) }
            }
            other => Some(other),
        }
    }
    prune(serde_json::to_value(input).unwrap_or(Value::Null)).unwrap_or_else(|| Value::Object(Default::default()))
}

/// A person's fields as an import records them before changing them.
pub fn snapshot(person: &Person) -> Value {
    serde_json::to_value(&person.fields).unwrap_or(Value::Null)
}
