//! The tracking module's SQL: sources and their write keys, and the events table.

use rapport_core::{Timestamp, WorkspaceId};
use rapport_db::{Db, DbError, Tx, sql};
use sqlx::types::Json;

use super::model::Message;

/// Rows per INSERT: well under SQLite's limit of 32,766 bound values at 16 columns a row.
const ROWS_PER_INSERT: usize = 500;

#[derive(Clone, Debug, sqlx::FromRow)]
pub(super) struct SourceRow {
    pub id: i64,
    pub name: String,
    pub key_prefix: String,
    pub created_at: Timestamp,
}

pub(super) async fn insert_source(
    tx: &mut Tx,
    workspace: WorkspaceId,
    name: &str,
    key_prefix: &str,
    key_hash: &str,
    now: Timestamp,
) -> Result<i64, DbError> {
    let id = sql!(tx.exec(), c => sqlx::query_scalar(
        "INSERT INTO sources (workspace_id, name, key_prefix, key_hash, created_at) VALUES ($1, $2, $3, $4, $5) RETURNING id"
    ).bind(workspace).bind(name).bind(key_prefix).bind(key_hash).bind(now).fetch_one(c).await)?;
    Ok(id)
}

/// The live source whose write key hashes to `key_hash`, in `workspace` only.
pub(super) async fn source_by_key(db: &Db, workspace: WorkspaceId, key_hash: &str) -> Result<Option<i64>, DbError> {
    let id = sql!(db.exec(), c => sqlx::query_scalar(
        "SELECT id FROM sources WHERE workspace_id = $1 AND key_hash = $2 AND revoked_at IS NULL"
    ).bind(workspace).bind(key_hash).fetch_optional(c).await)?;
    Ok(id)
}

pub(super) async fn sources(db: &Db, workspace: WorkspaceId) -> Result<Vec<SourceRow>, DbError> {
    let rows = sql!(db.exec(), c => sqlx::query_as::<_, SourceRow>(
        "SELECT id, name, key_prefix, created_at FROM sources WHERE workspace_id = $1 AND revoked_at IS NULL ORDER BY id"
    ).bind(workspace).fetch_all(c).await)?;
    Ok(rows)
}

/// Inserts the messages that are new; a message id already stored in the workspace is skipped.
/// Returns how many were inserted.
pub(super) async fn insert_events(
    tx: &mut Tx,
    workspace: WorkspaceId,
    source: i64,
    messages: &[Message],
) -> Result<u64, DbError> {
    let mut inserted = 0;
    for chunk in messages.chunks(ROWS_PER_INSERT) {
        inserted += sql!(tx.exec(), c => {
            let mut insert = sqlx::QueryBuilder::new(
                "INSERT INTO events (workspace_id, source_id, message_id, type, name, user_id, anonymous_id, group_id,
                 previous_id, occurred_at, original_timestamp, sent_at, received_at, properties, traits, context) ",
            );
            insert.push_values(chunk, |mut row, m| {
                row.push_bind(workspace)
                    .push_bind(source)
                    .push_bind(&m.message_id)
                    .push_bind(m.kind.as_str())
                    .push_bind(&m.name)
                    .push_bind(&m.user_id)
                    .push_bind(&m.anonymous_id)
                    .push_bind(&m.group_id)
                    .push_bind(&m.previous_id)
                    .push_bind(m.occurred_at)
                    .push_bind(m.original_timestamp)
                    .push_bind(m.sent_at)
                    .push_bind(m.received_at)
                    .push_bind(Json(&m.properties))
                    .push_bind(Json(&m.traits))
                    .push_bind(Json(&m.context));
            });
            insert.push(" ON CONFLICT (workspace_id, message_id) DO NOTHING");
            insert.build().execute(c).await.map(|r| r.rows_affected())
        })?;
    }
    Ok(inserted)
}

#[derive(Debug, sqlx::FromRow)]
pub(super) struct EventRow {
    pub id: i64,
    pub source_id: i64,
    pub message_id: String,
    #[sqlx(rename = "type")]
    pub kind: String,
    pub name: Option<String>,
    pub user_id: Option<String>,
    pub anonymous_id: Option<String>,
    pub group_id: Option<String>,
    pub previous_id: Option<String>,
    pub person_id: Option<i64>,
    pub occurred_at: Timestamp,
    pub received_at: Timestamp,
    pub properties: Json<serde_json::Value>,
    pub traits: Json<serde_json::Value>,
}

pub(super) struct EventQuery<'a> {
    pub user_id: Option<&'a str>,
    pub anonymous_id: Option<&'a str>,
    /// Events with an id below this one (the cursor), newest first.
    pub before: Option<i64>,
    pub limit: i64,
}

pub(super) async fn events(db: &Db, workspace: WorkspaceId, query: &EventQuery<'_>) -> Result<Vec<EventRow>, DbError> {
    let rows = sql!(db.exec(), c => sqlx::query_as::<_, EventRow>(
        "SELECT id, source_id, message_id, type, name, user_id, anonymous_id, group_id, previous_id, person_id, occurred_at,
           received_at, properties, traits
         FROM events
         WHERE workspace_id = $1 AND ($2 IS NULL OR user_id = $2) AND ($3 IS NULL OR anonymous_id = $3)
           AND ($4 IS NULL OR id < $4)
         ORDER BY id DESC LIMIT $5"
    ).bind(workspace).bind(query.user_id).bind(query.anonymous_id).bind(query.before).bind(query.limit)
    .fetch_all(c).await)?;
    Ok(rows)
}

/// How many events of each type and name the workspace holds.
pub(super) async fn census(db: &Db, workspace: WorkspaceId) -> Result<Vec<(String, Option<String>, i64)>, DbError> {
    let rows = sql!(db.exec(), c => sqlx::query_as(
        "SELECT type, name, count(*) FROM events WHERE workspace_id = $1 GROUP BY type, name ORDER BY type, name"
    ).bind(workspace).fetch_all(c).await)?;
    Ok(rows)
}

/// Every distinct user id events name in the workspace.
pub(super) async fn user_ids(db: &Db, workspace: WorkspaceId) -> Result<Vec<String>, DbError> {
    let ids = sql!(db.exec(), c => sqlx::query_scalar(
        "SELECT DISTINCT user_id FROM events WHERE workspace_id = $1 AND user_id IS NOT NULL"
    ).bind(workspace).fetch_all(c).await)?;
    Ok(ids)
}

/// The live source `id` of `workspace`, if there is one.
pub(super) async fn source(db: &Db, workspace: WorkspaceId, id: i64) -> Result<Option<SourceRow>, DbError> {
    let row = sql!(db.exec(), c => sqlx::query_as::<_, SourceRow>(
        "SELECT id, name, key_prefix, created_at FROM sources WHERE workspace_id = $1 AND id = $2 AND revoked_at IS NULL"
    ).bind(workspace).bind(id).fetch_optional(c).await)?;
    Ok(row)
}

/// Marks a live source revoked; false when `workspace` has no such live source.
pub(super) async fn revoke_source(
    tx: &mut Tx,
    workspace: WorkspaceId,
    id: i64,
    now: Timestamp,
) -> Result<bool, DbError> {
    let revoked = sql!(tx.exec(), c => sqlx::query(
        "UPDATE sources SET revoked_at = $3 WHERE workspace_id = $1 AND id = $2 AND revoked_at IS NULL"
    ).bind(workspace).bind(id).bind(now).execute(c).await.map(|r| r.rows_affected()))?;
    Ok(revoked == 1)
}

/// How many events the source has sent.
pub(super) async fn source_event_count(db: &Db, workspace: WorkspaceId, id: i64) -> Result<i64, DbError> {
    let count = sql!(db.exec(), c => sqlx::query_scalar(
        "SELECT count(*) FROM events WHERE workspace_id = $1 AND source_id = $2"
    ).bind(workspace).bind(id).fetch_one(c).await)?;
    Ok(count)
}

/// The workspace's trait rules, (object, trait, field) in order.
pub(super) async fn trait_rules(
    db: &Db,
    workspace: WorkspaceId,
) -> Result<Vec<(String, String, Option<String>)>, DbError> {
    let rows = sql!(db.exec(), c => sqlx::query_as(
        "SELECT object, trait, field FROM trait_rules WHERE workspace_id = $1 ORDER BY object, position"
    ).bind(workspace).fetch_all(c).await)?;
    Ok(rows)
}

pub(super) async fn trait_rules_in(
    tx: &mut Tx,
    workspace: WorkspaceId,
) -> Result<Vec<(String, String, Option<String>)>, DbError> {
    let rows = sql!(tx.exec(), c => sqlx::query_as(
        "SELECT object, trait, field FROM trait_rules WHERE workspace_id = $1 ORDER BY object, position"
    ).bind(workspace).fetch_all(c).await)?;
    Ok(rows)
}

/// Replaces the workspace's trait rules with `rules` (object, trait, field), in that order.
pub(super) async fn replace_trait_rules(
    tx: &mut Tx,
    workspace: WorkspaceId,
    rules: &[(&str, &str, Option<&str>)],
) -> Result<(), DbError> {
    sql!(tx.exec(), c => sqlx::query("DELETE FROM trait_rules WHERE workspace_id = $1")
        .bind(workspace).execute(c).await.map(drop))?;
    for (position, (object, name, field)) in rules.iter().enumerate() {
        sql!(tx.exec(), c => sqlx::query(
            "INSERT INTO trait_rules (workspace_id, object, trait, field, position) VALUES ($1, $2, $3, $4, $5)"
        ).bind(workspace).bind(*object).bind(*name).bind(*field).bind(position as i64).execute(c).await.map(drop))?;
    }
    Ok(())
}

/// The workspace's retention: months kept and whether deleted events are rolled up.
pub(super) async fn retention(db: &Db, workspace: WorkspaceId) -> Result<Option<(i64, bool)>, DbError> {
    let row = sql!(db.exec(), c => sqlx::query_as(
        "SELECT keep_months, roll_up FROM event_retention WHERE workspace_id = $1"
    ).bind(workspace).fetch_optional(c).await)?;
    Ok(row)
}

pub(super) async fn retention_in(tx: &mut Tx, workspace: WorkspaceId) -> Result<Option<(i64, bool)>, DbError> {
    let row = sql!(tx.exec(), c => sqlx::query_as(
        "SELECT keep_months, roll_up FROM event_retention WHERE workspace_id = $1"
    ).bind(workspace).fetch_optional(c).await)?;
    Ok(row)
}

/// Sets the workspace's retention, or keeps every event again (`None`).
pub(super) async fn save_retention(
    tx: &mut Tx,
    workspace: WorkspaceId,
    retention: Option<(i64, bool)>,
    now: Timestamp,
) -> Result<(), DbError> {
    match retention {
        Some((months, roll_up)) => sql!(tx.exec(), c => sqlx::query(
            "INSERT INTO event_retention (workspace_id, keep_months, roll_up, updated_at) VALUES ($1, $2, $3, $4)
             ON CONFLICT (workspace_id) DO UPDATE SET keep_months = excluded.keep_months, roll_up = excluded.roll_up,
               updated_at = excluded.updated_at"
        ).bind(workspace).bind(months).bind(roll_up).bind(now).execute(c).await.map(drop))?,
        None => sql!(tx.exec(), c => sqlx::query("DELETE FROM event_retention WHERE workspace_id = $1")
            .bind(workspace).execute(c).await.map(drop))?,
    }
    Ok(())
}

/// Every workspace with a retention set: (workspace, months, roll up).
pub(super) async fn retentions(db: &Db) -> Result<Vec<(WorkspaceId, i64, bool)>, DbError> {
    let rows = sql!(db.exec(), c => sqlx::query_as(
        "SELECT workspace_id, keep_months, roll_up FROM event_retention ORDER BY workspace_id"
    ).fetch_all(c).await)?;
    Ok(rows)
}

/// Deletes up to `limit` of the workspace's resolved events from before `cutoff`, oldest first,
/// adding them to the daily roll-ups first when `roll_up`; answers how many went.
pub(super) async fn expire_events(
    tx: &mut Tx,
    workspace: WorkspaceId,
    (cutoff, roll_up): (Timestamp, bool),
    limit: i64,
) -> Result<u64, DbError> {
    let ids: Vec<i64> = sql!(tx.exec(), c => sqlx::query_scalar(
        "SELECT id FROM events WHERE workspace_id = $1 AND occurred_at < $2 AND resolved_at IS NOT NULL
         ORDER BY occurred_at LIMIT $3"
    ).bind(workspace).bind(cutoff).bind(limit).fetch_all(c).await)?;
    let day = match tx.backend() {
        rapport_db::Backend::Sqlite => "substr(occurred_at, 1, 10)",
        rapport_db::Backend::Postgres => "to_char(occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD')",
    };
    for chunk in ids.chunks(ROWS_PER_INSERT) {
        if roll_up {
            sql!(tx.exec(), c => {
                let mut insert = sqlx::QueryBuilder::new(format!(
                    "INSERT INTO event_rollups (workspace_id, day, type, name, events) \
                     SELECT workspace_id, {day}, type, COALESCE(name, ''), count(*) FROM events WHERE workspace_id = "
                ));
                insert.push_bind(workspace).push(" AND id IN (");
                let mut list = insert.separated(", ");
                for id in chunk {
                    list.push_bind(*id);
                }
                insert.push(format!(
                    ") GROUP BY workspace_id, {day}, type, COALESCE(name, '') \
                     ON CONFLICT (workspace_id, day, type, name) DO UPDATE SET events = event_rollups.events + excluded.events"
                ));
                insert.build().execute(c).await.map(drop)
            })?;
        }
        sql!(tx.exec(), c => {
            let mut delete = sqlx::QueryBuilder::new("DELETE FROM events WHERE workspace_id = ");
            delete.push_bind(workspace).push(" AND id IN (");
            let mut list = delete.separated(", ");
            for id in chunk {
                list.push_bind(*id);
            }
            delete.push(")");
            delete.build().execute(c).await.map(drop)
        })?;
    }
    Ok(ids.len() as u64)
}

/// The workspace's daily roll-ups from `since` (a `YYYY-MM-DD` day), by day, type and name.
pub(super) async fn rollups(
    db: &Db,
    workspace: WorkspaceId,
    since: &str,
) -> Result<Vec<(String, String, String, i64)>, DbError> {
    let rows = sql!(db.exec(), c => sqlx::query_as(
        "SELECT day, type, name, events FROM event_rollups WHERE workspace_id = $1 AND day >= $2 ORDER BY day, type, name"
    ).bind(workspace).bind(since).fetch_all(c).await)?;
    Ok(rows)
}
