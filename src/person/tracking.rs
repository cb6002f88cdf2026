//! What behaviour tracking asks of people, inside the transaction that resolves a batch of
//! events: the person an external id or an email names, a person an identify call creates, and
//! their fields filled from the traits it carried. Each write keeps the promises of a single
//! edit (custom values indexed, search documents and duplicate keys current, one audit row and
//! one `person.*` domain event).

use chrono::Utc;
use rapport_core::{Actor, PersonId, WorkspaceId};
use rapport_db::Tx;

use super::model::{Person, PersonInput, changes};
use super::service::{PersonError, named, parse, record_change, rewrite, taken};
use super::store;
use crate::audit::AuditAction;
use crate::field::{self, CustomField, Object, ValueContext};

/// The live person whose external id is `external_id`; one merged away answers their survivor.
pub async fn by_external_id(
    tx: &mut Tx,
    workspace: WorkspaceId,
    external_id: &str,
) -> Result<Option<PersonId>, PersonError> {
    let found = store::by_column(tx, workspace, "external_id", &[external_id.to_owned()]).await?;
    Ok(found.into_iter().find_map(|(_, person)| live_or_survivor(&person)))
}

/// The live person whose primary email, canonical, is `canonical`; the oldest when several are.
pub async fn by_email(tx: &mut Tx, workspace: WorkspaceId, canonical: &str) -> Result<Option<PersonId>, PersonError> {
    let mut found = store::by_column(tx, workspace, "email_canonical", &[canonical.to_owned()]).await?;
    found.sort_by_key(|(_, person)| person.id);
    Ok(found.iter().find_map(|(_, person)| person.deleted_at.is_none().then_some(person.id)))
}

/// The person to credit for `id`: themselves while live, their survivor once merged, nobody
/// once deleted or purged.
pub async fn credited(tx: &mut Tx, workspace: WorkspaceId, id: PersonId) -> Result<Option<PersonId>, PersonError> {
    Ok(store::find_in(tx, workspace, id).await?.and_then(|person| live_or_survivor(&person)))
}

fn live_or_survivor(person: &Person) -> Option<PersonId> {
    match (person.deleted_at, person.merged_into) {
        (None, _) => Some(person.id),
        (Some(_), Some(survivor)) => Some(survivor),
        (Some(_), None) => None,
    }
}

/// Creates a person from checked traits.
pub async fn create_from(
    tx: &mut Tx,
    (workspace, actor): (WorkspaceId, &Actor),
    input: &PersonInput,
    (defs, ctx): (&[CustomField], ValueContext),
) -> Result<PersonId, PersonError> {
    let new = parse(input, defs, None, ctx)?;
    let id = store::insert(tx, workspace, &new, Utc::now()).await.map_err(|e| taken(e, "people"))?;
    field::index(tx, workspace, (Object::Person, id.get()), defs, &new.custom).await?.map_err(PersonError::Invalid)?;
    let person = named(store::find_in(tx, workspace, id).await?.ok_or(PersonError::NotFound)?, defs);
    record_change(tx, workspace, actor, id, AuditAction::Create, &changes(None, Some(&person.fields))).await?;
    crate::search::index(tx, workspace, &person.search_document()).await?;
    crate::dedup::index(tx, workspace, std::slice::from_ref(&person)).await?;
    Ok(id)
}

/// Gives the person `id` what `traits` names, a merge patch over their fields: what the traits
/// leave out stays. A deleted person is left alone.
pub async fn fill_from(
    tx: &mut Tx,
    (workspace, actor): (WorkspaceId, &Actor),
    id: PersonId,
    traits: &serde_json::Value,
    (defs, ctx): (&[CustomField], ValueContext),
) -> Result<(), PersonError> {
    let Some(before) = store::find_in(tx, workspace, id).await?.filter(|p| p.deleted_at.is_none()) else {
        return Ok(());
    };
    let before = named(before, defs);
    let mut merged = before.fields.merged(traits).map_err(|e| super::service::invalid_body(&e))?;
    merged.custom = field::changed_values(&before.fields.custom, &merged.custom);
    let new = parse(&merged, defs, Some(&before.custom), ctx)?;
    rewrite(tx, (workspace, actor), &before, new, defs, (AuditAction::Update, Vec::new())).await.map(drop)
}

/// The live people (or survivors) whose external id is one of `ids`.
pub async fn by_external_ids(
    tx: &mut Tx,
    workspace: WorkspaceId,
    ids: &[String],
) -> Result<Vec<(String, PersonId)>, PersonError> {
    let found = store::by_column(tx, workspace, "external_id", ids).await?;
    Ok(found.into_iter().filter_map(|(id, person)| live_or_survivor(&person).map(|p| (id, p))).collect())
}
