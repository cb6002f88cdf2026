//! The identity module's SQL.

use chrono::Utc;
use rapport_core::{Email, Timestamp, UserId, WorkspaceId};
use rapport_db::{Db, DbError, Tx, sql};
use sqlx::types::Json;

pub(super) async fn insert_user(tx: &mut Tx, email: &Email, password_hash: &str) -> Result<UserId, DbError> {
    let id = sql!(tx.exec(), c => sqlx::query_scalar(
        "INSERT INTO users (email, email_canonical, password_hash, created_at) VALUES ($1, $2, $3, $4) RETURNING id"
    )
    .bind(email.as_str())
    .bind(email.canonical())
    .bind(password_hash)
    .bind(Utc::now())
    .fetch_one(c).await)?;
    Ok(id)
}

#[derive(sqlx::FromRow)]
pub(super) struct LoginRow {
    pub id: UserId,
    pub password_hash: String,
    pub status: String,
    pub failed_logins: i32,
    pub locked_until: Option<Timestamp>,
}

pub(super) async fn login_row(db: &Db, canonical_email: &str) -> Result<Option<LoginRow>, DbError> {
    let row = sql!(db.exec(), c => sqlx::query_as::<_, LoginRow>(
        "SELECT id, password_hash, status, failed_logins, locked_until FROM users WHERE email_canonical = $1"
    ).bind(canonical_email).fetch_optional(c).await)?;
    Ok(row)
}

pub(super) async fn record_failure(
    tx: &mut Tx,
    user: UserId,
    failures: i32,
    locked_until: Option<Timestamp>,
) -> Result<(), DbError> {
    sql!(tx.exec(), c => sqlx::query("UPDATE users SET failed_logins = $1, locked_until = $2 WHERE id = $3")
        .bind(failures).bind(locked_until).bind(user).execute(c).await.map(|r| r.rows_affected()))?;
    Ok(())
}

pub(super) async fn clear_failures(tx: &mut Tx, user: UserId) -> Result<(), DbError> {
    sql!(tx.exec(), c => sqlx::query("UPDATE users SET failed_logins = 0, locked_until = NULL WHERE id = $1")
        .bind(user).execute(c).await.map(|r| r.rows_affected()))?;
    Ok(())
}

pub(super) async fn login_row_by_id(db: &Db, user: UserId) -> Result<Option<LoginRow>, DbError> {
    let row = sql!(db.exec(), c => sqlx::query_as::<_, LoginRow>(
        "SELECT id, password_hash, status, failed_logins, locked_until FROM users WHERE id = $1"
    ).bind(user).fetch_optional(c).await)?;
    Ok(row)
}

/// The workspaces a user belongs to and is not deactivated in, with their role, oldest first.
pub(super) async fn memberships(db: &Db, user: UserId) -> Result<Vec<(WorkspaceId, String)>, DbError> {
    let rows = sql!(db.exec(), c => sqlx::query_as(
        "SELECT workspace_id, role FROM memberships WHERE user_id = $1 AND deactivated_at IS NULL
         ORDER BY created_at, workspace_id"
    ).bind(user).fetch_all(c).await)?;
    Ok(rows)
}

pub(super) struct NewSession<'a> {
    pub workspace: WorkspaceId,
    pub user: UserId,
    pub id_hash: &'a str,
    pub csrf_token: &'a str,
    pub now: Timestamp,
    pub idle_expires_at: Timestamp,
    pub expires_at: Timestamp,
    pub ip: Option<&'a str>,
    pub user_agent: Option<&'a str>,
}

pub(super) async fn insert_session(tx: &mut Tx, session: &NewSession<'_>) -> Result<(), DbError> {
    sql!(tx.exec(), c => sqlx::query(
        "INSERT INTO sessions (workspace_id, id_hash, user_id, csrf_token, created_at, last_seen_at, idle_expires_at, expires_at, ip, user_agent)
         VALUES ($1, $2, $3, $4, $5, $5, $6, $7, $8, $9)"
    )
    .bind(session.workspace).bind(session.id_hash).bind(session.user).bind(session.csrf_token).bind(session.now)
    .bind(session.idle_expires_at).bind(session.expires_at).bind(session.ip).bind(session.user_agent)
    .execute(c).await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// Who a credential (session or token) belongs to, with everything authorisation needs.
#[derive(sqlx::FromRow)]
pub(super) struct CredentialRow {
    pub user_id: UserId,
    pub email: String,
    pub role: String,
    /// A custom role assigned on top of the built-in one.
    pub role_id: Option<i64>,
    pub workspace_name: String,
    pub secret: String,
    pub credential_id: i64,
    pub name: Option<String>,
    pub scopes: Option<Json<Vec<String>>>,
    pub idle_expires_at: Option<Timestamp>,
    pub must_enrol_two_factor: bool,
}

/// A live session: not revoked, within both expiries, its user active and still an active member.
pub(super) async fn live_session(
    db: &Db,
    workspace: WorkspaceId,
    id_hash: &str,
    now: Timestamp,
) -> Result<Option<CredentialRow>, DbError> {
    let row = sql!(db.exec(), c => sqlx::query_as::<_, CredentialRow>(
        "SELECT u.id AS user_id, u.email, m.role, m.role_id, w.name AS workspace_name, s.csrf_token AS secret, CAST(0 AS BIGINT) AS credential_id,
                NULL AS name, NULL AS scopes, s.idle_expires_at,
                (w.require_two_factor AND NOT EXISTS
                  (SELECT 1 FROM two_factor f WHERE f.user_id = u.id AND f.enabled_at IS NOT NULL)) AS must_enrol_two_factor
         FROM sessions s
         JOIN users u ON u.id = s.user_id
         JOIN memberships m ON m.workspace_id = s.workspace_id AND m.user_id = s.user_id
         JOIN workspaces w ON w.id = s.workspace_id
         WHERE s.workspace_id = $1 AND s.id_hash = $2 AND s.revoked_at IS NULL
           AND s.expires_at > $3 AND s.idle_expires_at > $3 AND u.status = 'active' AND m.deactivated_at IS NULL"
    ).bind(workspace).bind(id_hash).bind(now).fetch_optional(c).await)?;
    Ok(row)
}

pub(super) async fn touch_session(
    tx: &mut Tx,
    workspace: WorkspaceId,
    id_hash: &str,
    now: Timestamp,
    idle_expires_at: Timestamp,
) -> Result<(), DbError> {
    sql!(tx.exec(), c => sqlx::query(
        "UPDATE sessions SET last_seen_at = $1, idle_expires_at = $2 WHERE workspace_id = $3 AND id_hash = $4"
    ).bind(now).bind(idle_expires_at).bind(workspace).bind(id_hash).execute(c).await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// Revokes a live session and returns whose it was; `None` when it was not live.
pub(super) async fn revoke_session(
    tx: &mut Tx,
    workspace: WorkspaceId,
    id_hash: &str,
    now: Timestamp,
) -> Result<Option<UserId>, DbError> {
    let revoked = sql!(tx.exec(), c => sqlx::query_scalar(
        "UPDATE sessions SET revoked_at = $1 WHERE workspace_id = $2 AND id_hash = $3 AND revoked_at IS NULL RETURNING user_id"
    ).bind(now).bind(workspace).bind(id_hash).fetch_optional(c).await)?;
    Ok(revoked)
}

pub(super) struct NewToken<'a> {
    pub workspace: WorkspaceId,
    pub user: UserId,
    pub name: &'a str,
    pub prefix: &'a str,
    pub secret_hash: &'a str,
    pub scopes: &'a [String],
    pub expires_at: Option<Timestamp>,
    pub now: Timestamp,
}

pub(super) async fn insert_token(tx: &mut Tx, token: &NewToken<'_>) -> Result<i64, DbError> {
    let id = sql!(tx.exec(), c => sqlx::query_scalar(
        "INSERT INTO api_tokens (workspace_id, user_id, name, prefix, secret_hash, scopes, expires_at, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id"
    )
    .bind(token.workspace).bind(token.user).bind(token.name).bind(token.prefix).bind(token.secret_hash)
    .bind(Json(token.scopes)).bind(token.expires_at).bind(token.now)
    .fetch_one(c).await)?;
    Ok(id)
}

/// A live token: not revoked, not expired, its user active and still an active member.
pub(super) async fn live_token(
    db: &Db,
    workspace: WorkspaceId,
    secret_hash: &str,
    now: Timestamp,
) -> Result<Option<CredentialRow>, DbError> {
    let row = sql!(db.exec(), c => sqlx::query_as::<_, CredentialRow>(
        "SELECT u.id AS user_id, u.email, m.role, m.role_id, w.name AS workspace_name, t.prefix AS secret, t.id AS credential_id,
                t.name, t.scopes, NULL AS idle_expires_at,
                (w.require_two_factor AND NOT EXISTS
                  (SELECT 1 FROM two_factor f WHERE f.user_id = u.id AND f.enabled_at IS NOT NULL)) AS must_enrol_two_factor
         FROM api_tokens t
         JOIN users u ON u.id = t.user_id
         JOIN memberships m ON m.workspace_id = t.workspace_id AND m.user_id = t.user_id
         JOIN workspaces w ON w.id = t.workspace_id
         WHERE t.workspace_id = $1 AND t.secret_hash = $2 AND t.revoked_at IS NULL
           AND (t.expires_at IS NULL OR t.expires_at > $3) AND u.status = 'active' AND m.deactivated_at IS NULL"
    ).bind(workspace).bind(secret_hash).bind(now).fetch_optional(c).await)?;
    Ok(row)
}

/// An active member of the workspace by canonical email (the first owner when `None`), as the
/// command line acts for them.
pub(super) async fn member_credential(
    db: &Db,
    workspace: WorkspaceId,
    email: Option<&str>,
) -> Result<Option<CredentialRow>, DbError> {
    let row = sql!(db.exec(), c => sqlx::query_as::<_, CredentialRow>(
        "SELECT u.id AS user_id, u.email, m.role, m.role_id, w.name AS workspace_name, '' AS secret, CAST(0 AS BIGINT) AS credential_id,
                NULL AS name, NULL AS scopes, NULL AS idle_expires_at, FALSE AS must_enrol_two_factor
         FROM memberships m
         JOIN users u ON u.id = m.user_id
         JOIN workspaces w ON w.id = m.workspace_id
         WHERE m.workspace_id = $1 AND u.status = 'active' AND m.deactivated_at IS NULL
           AND (u.email_canonical = $2 OR ($2 IS NULL AND m.role = 'owner'))
         ORDER BY u.id LIMIT 1"
    ).bind(workspace).bind(email).fetch_optional(c).await)?;
    Ok(row)
}

pub(super) async fn touch_token(tx: &mut Tx, workspace: WorkspaceId, id: i64, now: Timestamp) -> Result<(), DbError> {
    sql!(tx.exec(), c => sqlx::query("UPDATE api_tokens SET last_used_at = $1 WHERE workspace_id = $2 AND id = $3")
        .bind(now).bind(workspace).bind(id).execute(c).await.map(|r| r.rows_affected()))?;
    Ok(())
}

pub(super) async fn user_id_by_email(
    db: &Db,
    workspace: WorkspaceId,
    canonical_email: &str,
) -> Result<Option<UserId>, DbError> {
    let id = sql!(db.exec(), c => sqlx::query_scalar(
        "SELECT u.id FROM users u JOIN memberships m ON m.user_id = u.id
         WHERE m.workspace_id = $1 AND u.email_canonical = $2"
    ).bind(workspace).bind(canonical_email).fetch_optional(c).await)?;
    Ok(id)
}

/// The email of an active member of `workspace`.
pub(super) async fn member_email(tx: &mut Tx, workspace: WorkspaceId, user: UserId) -> Result<Option<String>, DbError> {
    let email = sql!(tx.exec(), c => sqlx::query_scalar(
        "SELECT u.email FROM users u JOIN memberships m ON m.user_id = u.id \
         WHERE m.workspace_id = $1 AND u.id = $2 AND u.status = 'active'"
    ).bind(workspace).bind(user).fetch_optional(c).await)?;
    Ok(email)
}
