//! What behaviour tracking asks of companies, inside the transaction that resolves a batch of
//! events: the company a group call names by its id, created from the call's traits when new,
//! and the caller's person linked to it. Writes keep the promises of a single edit.

use chrono::Utc;
use rapport_core::{Actor, CompanyId, PersonId, WorkspaceId};
use rapport_db::Tx;
use serde_json::json;

use super::model::{CompanyInput, changes};
use super::service::{CompanyError, ENTITY, named, parse, record_link, taken};
use super::store;
use crate::audit::AuditAction;
use crate::field::{self, CustomField, Object, ValueContext};
use crate::profile::record_change;

/// The company whose external id is `group_id`, or a new one made of `input` with that id. A
/// company in the trash stays there: the group call is not a reason to bring it back.
pub async fn by_group_id(
    tx: &mut Tx,
    (workspace, actor): (WorkspaceId, &Actor),
    group_id: &str,
    input: &CompanyInput,
    (defs, ctx): (&[CustomField], ValueContext),
) -> Result<Option<CompanyId>, CompanyError> {
    if let Some(found) = store::by_external_id(tx, workspace, group_id).await? {
        return Ok(found.deleted_at.is_none().then_some(found.id));
    }
    let mut input = input.clone();
    input.external_id = Some(group_id.to_owned());
    let new = parse(&input, defs, None, ctx)?;
    let id = store::insert(tx, workspace, &new, Utc::now()).await.map_err(taken)?;
    field::index(tx, workspace, (Object::Company, id.get()), defs, &new.custom)
        .await?
        .map_err(CompanyError::Invalid)?;
    let company = named(store::find_in(tx, workspace, id).await?.ok_or(CompanyError::NotFound)?, defs);
    crate::search::index(tx, workspace, &company.search_document()).await?;
    let changed = changes(None, Some(&company.fields));
    record_change(tx, workspace, actor, (ENTITY, id.get()), AuditAction::Create, &changed).await?;
    Ok(Some(id))
}

/// Links `person` to `company` unless they are linked already; an existing link keeps its title.
pub async fn join(
    tx: &mut Tx,
    (workspace, actor): (WorkspaceId, &Actor),
    (company, person): (CompanyId, PersonId),
    title: Option<&str>,
) -> Result<(), CompanyError> {
    if store::link_title(tx, workspace, company, person).await?.is_some() {
        return Ok(());
    }
    let title = title.map(str::trim).filter(|t| !t.is_empty()).map(str::to_owned);
    store::upsert_link(tx, workspace, company, person, title.as_deref(), Utc::now()).await?;
    record_link(tx, workspace, actor, (company, person), None, Some(json!({ "title": title }))).await
}
