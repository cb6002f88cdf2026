//! Use cases of behaviour tracking: sources with write keys, taking in events durably, and
//! reading them back.

use chrono::Utc;
use rapport_core::{Actor, FieldChange, Secret, WorkspaceId};
use rapport_db::{Db, DbError, Tx};
use serde_json::Value;

use super::model::Message;
use super::store;
use crate::audit::{AuditAction, AuditEntry};
use crate::identity::secret;

const WRITE_KEY_PREFIX: &str = "rpk";

#[derive(Debug, thiserror::Error)]
pub enum TrackingError {
    #[error("the write key is missing, wrong or revoked")]
    UnknownWriteKey,
    #[error("a source needs a name")]
    NameRequired,
    #[error(transparent)]
    Db(#[from] DbError),
}

/// A source that sends events; its write key is shown once, at creation.
#[derive(Debug)]
pub struct CreatedSource {
    pub id: i64,
    pub write_key: Secret<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SourceRef {
    pub workspace: WorkspaceId,
    pub id: i64,
}

#[derive(Clone, Debug, serde::Serialize, utoipa::ToSchema)]
pub struct Source {
    pub id: i64,
    pub name: String,
    /// The first characters of the write key, to recognise it by.
    pub key_prefix: String,
    pub created_at: chrono::DateTime<Utc>,
}

/// Creates a source with a new write key, recorded in the security log: a write key is a
/// credential.
pub async fn create_source(
    db: &Db,
    (workspace, actor): (WorkspaceId, &Actor),
    name: &str,
) -> Result<CreatedSource, TrackingError> {
    let name = name.trim().to_owned();
    if name.is_empty() {
        return Err(TrackingError::NameRequired);
    }
    let key = secret::generate(WRITE_KEY_PREFIX, workspace).map_err(|e| DbError::Unavailable(e.to_string()))?;
    let key_hash = secret::hash(&key);
    let key_prefix = secret::visible_prefix(&key);
    let actor = actor.clone();
    let id = db
        .write(move |tx| {
            Box::pin(async move {
                let id = store::insert_source(tx, workspace, &name, &key_prefix, &key_hash, Utc::now()).await?;
                let changes: Vec<FieldChange> = [
                    FieldChange::between("name", Value::Null, name.clone().into()),
                    FieldChange::between("key_prefix", Value::Null, key_prefix.clone().into()),
                ]
                .into_iter()
                .flatten()
                .collect();
                security(tx, (workspace, &actor), id, AuditAction::TokenCreated, &changes).await?;
                Ok::<_, DbError>(id)
            })
        })
        .await?;
    Ok(CreatedSource { id, write_key: Secret::new(key) })
}

pub async fn sources(db: &Db, workspace: WorkspaceId) -> Result<Vec<Source>, TrackingError> {
    let rows = store::sources(db, workspace).await?;
    Ok(rows
        .into_iter()
        .map(|row| Source { id: row.id, name: row.name, key_prefix: row.key_prefix, created_at: row.created_at })
        .collect())
}

/// The source a write key belongs to.
pub async fn source_for_key(db: &Db, write_key: &str) -> Result<SourceRef, TrackingError> {
    let workspace = secret::workspace_of(WRITE_KEY_PREFIX, write_key).ok_or(TrackingError::UnknownWriteKey)?;
    let id = store::source_by_key(db, workspace, &secret::hash(write_key)).await?;
    id.map(|id| SourceRef { workspace, id }).ok_or(TrackingError::UnknownWriteKey)
}

/// How a batch was taken in: `stored` new events, `duplicates` already known by message id.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ingested {
    pub stored: u64,
    pub duplicates: u64,
}

/// Stores `messages` in one transaction and returns once they are durable: an acknowledged
/// event survives a crash the next instant.
pub async fn ingest(db: &Db, source: SourceRef, messages: Vec<Message>) -> Result<Ingested, TrackingError> {
    let total = messages.len() as u64;
    let stored = db
        .write(move |tx| {
            Box::pin(async move {
                let stored = store::insert_events(tx, source.workspace, source.id, &messages).await?;
                if stored > 0 {
                    super::resolve::received(tx, source.workspace, source.id, stored).await?;
                }
                Ok::<_, DbError>(stored)
            })
        })
        .await?;
    Ok(Ingested { stored, duplicates: total - stored })
}

#[derive(Clone, Debug, serde::Serialize, utoipa::ToSchema)]
pub struct Event {
    pub id: i64,
    pub source_id: i64,
    pub message_id: String,
    #[serde(rename = "type")]
    pub kind: String,
    /// The event of a track call, the name of a page or screen.
    pub name: Option<String>,
    pub user_id: Option<String>,
    pub anonymous_id: Option<String>,
    pub group_id: Option<String>,
    pub previous_id: Option<String>,
    /// Whom resolution found the event belongs to; absent while nobody is known (an anonymous
    /// visitor) or before resolution ran.
    pub person_id: Option<i64>,
    /// When it happened, corrected for the sender's clock.
    pub occurred_at: chrono::DateTime<Utc>,
    pub received_at: chrono::DateTime<Utc>,
    pub properties: serde_json::Value,
    pub traits: serde_json::Value,
}

pub struct EventFilter {
    pub user_id: Option<String>,
    pub anonymous_id: Option<String>,
    pub before: Option<i64>,
    pub limit: i64,
}

/// A workspace's events, newest first.
pub async fn events(db: &Db, workspace: WorkspaceId, filter: &EventFilter) -> Result<Vec<Event>, TrackingError> {
    let query = store::EventQuery {
        user_id: filter.user_id.as_deref(),
        anonymous_id: filter.anonymous_id.as_deref(),
        before: filter.before,
        limit: filter.limit,
    };
    let rows = store::events(db, workspace, &query).await?;
    Ok(rows
        .into_iter()
        .map(|row| Event {
            id: row.id,
            source_id: row.source_id,
            message_id: row.message_id,
            kind: row.kind,
            name: row.name,
            user_id: row.user_id,
            anonymous_id: row.anonymous_id,
            group_id: row.group_id,
            previous_id: row.previous_id,
            person_id: row.person_id,
            occurred_at: row.occurred_at,
            received_at: row.received_at,
            properties: row.properties.0,
            traits: row.traits.0,
        })
        .collect())
}

/// How many events of one type and name a workspace holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EventCount {
    pub kind: String,
    pub name: Option<String>,
    pub count: i64,
}

/// A workspace's events counted by type and name, for checking a load.
pub async fn census(db: &Db, workspace: WorkspaceId) -> Result<Vec<EventCount>, TrackingError> {
    let rows = store::census(db, workspace).await?;
    Ok(rows.into_iter().map(|(kind, name, count)| EventCount { kind, name, count }).collect())
}

/// Every distinct user id a workspace's events name.
pub async fn user_ids(db: &Db, workspace: WorkspaceId) -> Result<Vec<String>, TrackingError> {
    Ok(store::user_ids(db, workspace).await?)
}

/// A source as its page shows it: what the list shows, and how many events it has sent.
#[derive(Clone, Debug)]
pub struct SourceDetail {
    pub source: Source,
    pub events: i64,
}

/// A live source of the workspace, with its event count; `None` when it has none by that id.
pub async fn source(db: &Db, workspace: WorkspaceId, id: i64) -> Result<Option<SourceDetail>, TrackingError> {
    let Some(row) = store::source(db, workspace, id).await? else {
        return Ok(None);
    };
    let events = store::source_event_count(db, workspace, id).await?;
    let source = Source { id: row.id, name: row.name, key_prefix: row.key_prefix, created_at: row.created_at };
    Ok(Some(SourceDetail { source, events }))
}

/// Revokes a source: its write key is refused from the next request on, and its events stay.
/// False when the workspace has no live source by that id.
/// Revokes a source's write key, recorded in the security log; answers whether there was such
/// a live source.
pub async fn revoke_source(db: &Db, (workspace, actor): (WorkspaceId, &Actor), id: i64) -> Result<bool, TrackingError> {
    let actor = actor.clone();
    let revoked = db
        .write(move |tx| {
            Box::pin(async move {
                let revoked = store::revoke_source(tx, workspace, id, Utc::now()).await?;
                if revoked {
                    security(tx, (workspace, &actor), id, AuditAction::TokenRevoked, &[]).await?;
                }
                Ok::<_, DbError>(revoked)
            })
        })
        .await?;
    Ok(revoked)
}

async fn security(
    tx: &mut Tx,
    (workspace, actor): (WorkspaceId, &Actor),
    source: i64,
    action: AuditAction,
    changes: &[FieldChange],
) -> Result<(), DbError> {
    let entry = AuditEntry { workspace, actor, request_id: None, entity: "source", entity_id: source, action, changes };
    crate::audit::record_security(tx, &entry).await
}
