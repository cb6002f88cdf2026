//! SQL for idempotency keys.

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
