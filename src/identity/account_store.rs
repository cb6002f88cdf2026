//! The SQL behind a user's own account pages: listing and revoking sessions and API tokens,
//! and changing the password. Every query names the workspace and the user, so one member can
//! never see or end another's credentials by guessing an id.

use rapport_core::{Timestamp, UserId, WorkspaceId};
use rapport_db::{Db, DbError, Tx, sql};
use sqlx::types::Json;

#[derive(sqlx::FromRow)]
pub(super) struct SessionRow {
    pub id_hash: String,
    pub created_at: Timestamp,
    pub last_seen_at: Timestamp,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}

pub(super) async fn live_sessions(
    db: &Db,
    workspace: WorkspaceId,
    user: UserId,
    now: Timestamp,
) -> Result<Vec<SessionRow>, DbError> {
    let rows = sql!(db.exec(), c => sqlx::query_as::<_, SessionRow>(
        "SELECT id_hash, created_at, last_seen_at, ip, user_agent FROM sessions
         WHERE workspace_id = $1 AND user_id = $2 AND revoked_at IS NULL AND expires_at > $3 AND idle_expires_at > $3
         ORDER BY last_seen_at DESC"
    ).bind(workspace).bind(user).bind(now).fetch_all(c).await)?;
    Ok(rows)
}

/// Revokes the user's live sessions in the workspace, except the one whose hash is `keep`.
pub(super) async fn revoke_sessions(
    tx: &mut Tx,
    workspace: WorkspaceId,
    user: UserId,
    only: Option<&str>,
    keep: Option<&str>,
    now: Timestamp,
) -> Result<u64, DbError> {
    let revoked = sql!(tx.exec(), c => sqlx::query(
        "UPDATE sessions SET revoked_at = $1
         WHERE workspace_id = $2 AND user_id = $3 AND revoked_at IS NULL
           AND ($4 IS NULL OR id_hash = $4) AND ($5 IS NULL OR id_hash <> $5)"
    ).bind(now).bind(workspace).bind(user).bind(only).bind(keep).execute(c).await.map(|r| r.rows_affected()))?;
    Ok(revoked)
}

/// Revokes the user's sessions in every workspace: a new password ends them all.
pub(super) async fn revoke_sessions_everywhere(
    tx: &mut Tx,
    user: UserId,
    keep: &str,
    now: Timestamp,
) -> Result<u64, DbError> {
    let revoked = sql!(tx.exec(), c => sqlx::query(
        "UPDATE sessions SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL AND id_hash <> $3"
    ).bind(now).bind(user).bind(keep).execute(c).await.map(|r| r.rows_affected()))?;
    Ok(revoked)
}

pub(super) async fn set_password(tx: &mut Tx, user: UserId, hash: &str, now: Timestamp) -> Result<(), DbError> {
    sql!(tx.exec(), c => sqlx::query("UPDATE users SET password_hash = $1, password_changed_at = $2 WHERE id = $3")
        .bind(hash).bind(now).bind(user).execute(c).await.map(|r| r.rows_affected()))?;
    Ok(())
}

pub(super) async fn is_member(db: &Db, workspace: WorkspaceId, user: UserId) -> Result<bool, DbError> {
    let found: Option<i64> = sql!(db.exec(), c => sqlx::query_scalar(
        "SELECT user_id FROM memberships WHERE workspace_id = $1 AND user_id = $2"
    ).bind(workspace).bind(user).fetch_optional(c).await)?;
    Ok(found.is_some())
}

#[derive(sqlx::FromRow)]
pub(super) struct TokenRow {
    pub id: i64,
    pub name: String,
    pub prefix: String,
    pub scopes: Json<Vec<String>>,
    pub created_at: Timestamp,
    pub last_used_at: Option<Timestamp>,
    pub expires_at: Option<Timestamp>,
}

pub(super) async fn live_tokens(db: &Db, workspace: WorkspaceId, user: UserId) -> Result<Vec<TokenRow>, DbError> {
    let rows = sql!(db.exec(), c => sqlx::query_as::<_, TokenRow>(
        "SELECT id, name, prefix, scopes, created_at, last_used_at, expires_at FROM api_tokens
         WHERE workspace_id = $1 AND user_id = $2 AND revoked_at IS NULL ORDER BY created_at DESC, id DESC"
    ).bind(workspace).bind(user).fetch_all(c).await)?;
    Ok(rows)
}

pub(super) async fn revoke_token(
    tx: &mut Tx,
    workspace: WorkspaceId,
    user: UserId,
    id: i64,
    now: Timestamp,
) -> Result<bool, DbError> {
    let revoked = sql!(tx.exec(), c => sqlx::query(
        "UPDATE api_tokens SET revoked_at = $1 WHERE workspace_id = $2 AND user_id = $3 AND id = $4 AND revoked_at IS NULL"
    ).bind(now).bind(workspace).bind(user).bind(id).execute(c).await.map(|r| r.rows_affected()))?;
    Ok(revoked == 1)
}
