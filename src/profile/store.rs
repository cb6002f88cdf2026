//! SQL for idempotency keys, and reading a record's domain events for its timeline.

use chrono::Utc;
use rapport_core::WorkspaceId;
use rapport_db::{Db, DbError, Tx, sql};
use sqlx::types::Json;

use super::Replay;

pub(super) async fn find_key(db: &Db, workspace: WorkspaceId, key: &str) -> Result<Option<Replay>, DbError> {
    let row: Option<(String, i32, Json<serde_json::Value>)> = sql!(db.exec(), c => sqlx::query_as(
        "SELECT route, status, body FROM idempotency_keys WHERE workspace_id = $1 AND key = $2"
    ).bind(workspace).bind(key).fetch_optional(c).await)?;
    Ok(row.map(|(route, status, Json(body))| Replay { route, status: u16::try_from(status).unwrap_or(500), body }))
}

pub(super) async fn insert_key(tx: &mut Tx, workspace: WorkspaceId, key: &str, reply: &Replay) -> Result<(), DbError> {
    sql!(tx.exec(), c => sqlx::query(
        "INSERT INTO idempotency_keys (workspace_id, key, route, status, body, created_at) VALUES ($1, $2, $3, $4, $5, $6)"
    )
    .bind(workspace).bind(key).bind(&reply.route).bind(i32::from(reply.status)).bind(Json(&reply.body)).bind(Utc::now())
    .execute(c).await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// One domain event recorded by a change to a record.
#[derive(sqlx::FromRow)]
pub(super) struct EventRow {
    pub id: i64,
    pub kind: String,
    pub actor: String,
    pub payload: Json<serde_json::Value>,
    pub occurred_at: rapport_core::Timestamp,
}

/// A record's events, newest first, before the cursor event id.
pub(super) async fn events(
    db: &Db,
    workspace: WorkspaceId,
    (entity, id): (&str, i64),
    before: Option<i64>,
    limit: i64,
) -> Result<Vec<EventRow>, DbError> {
    let rows = sql!(db.exec(), c => sqlx::query_as(
        "SELECT id, kind, actor, payload, occurred_at FROM domain_events \
         WHERE workspace_id = $1 AND entity_type = $2 AND entity_id = $3 AND ($4 IS NULL OR id < $4) \
         ORDER BY id DESC LIMIT $5"
    ).bind(workspace).bind(entity).bind(id).bind(before).bind(limit).fetch_all(c).await)?;
    Ok(rows)
}
