//! The SQL of two-factor authentication: TOTP secrets, recovery codes, pending logins and the
//! workspace policy. Kept apart from `store.rs` so that the password and session queries stay
//! readable; the rules (what counts as a replay, when a login may complete) live in
//! `two_factor.rs` and are enforced here by conditional updates, so two racing requests cannot
//! both succeed.

use rapport_core::{Timestamp, UserId, WorkspaceId};
use rapport_db::{Db, DbError, Tx, sql};

#[derive(sqlx::FromRow)]
pub(super) struct TwoFactorRow {
    pub secret: String,
    pub enabled_at: Option<Timestamp>,
}

pub(super) async fn two_factor(db: &Db, user: UserId) -> Result<Option<TwoFactorRow>, DbError> {
    let row = sql!(db.exec(), c => sqlx::query_as::<_, TwoFactorRow>(
        "SELECT secret, enabled_at FROM two_factor WHERE user_id = $1"
    ).bind(user).fetch_optional(c).await)?;
    Ok(row)
}

/// Stores a not-yet-confirmed secret unless the user already has one; returns the one kept.
pub(super) async fn keep_pending_secret(
    tx: &mut Tx,
    user: UserId,
    secret: &str,
    now: Timestamp,
) -> Result<String, DbError> {
    sql!(tx.exec(), c => sqlx::query(
        "INSERT INTO two_factor (user_id, secret, created_at) VALUES ($1, $2, $3) ON CONFLICT (user_id) DO NOTHING"
    ).bind(user).bind(secret).bind(now).execute(c).await.map(|r| r.rows_affected()))?;
    let kept = sql!(tx.exec(), c => sqlx::query_scalar("SELECT secret FROM two_factor WHERE user_id = $1")
        .bind(user).fetch_one(c).await)?;
    Ok(kept)
}

/// Replaces a secret stored in clear by its sealed form, unless it changed meanwhile.
pub(super) async fn reseal(tx: &mut Tx, user: UserId, stored: &str, sealed: &str) -> Result<(), DbError> {
    sql!(tx.exec(), c => sqlx::query("UPDATE two_factor SET secret = $1 WHERE user_id = $2 AND secret = $3")
        .bind(sealed).bind(user).bind(stored).execute(c).await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// Turns the pending secret on, spending `step`; false when it was already on.
pub(super) async fn enable(tx: &mut Tx, user: UserId, step: i64, now: Timestamp) -> Result<bool, DbError> {
    let changed = sql!(tx.exec(), c => sqlx::query(
        "UPDATE two_factor SET enabled_at = $1, last_used_step = $2 WHERE user_id = $3 AND enabled_at IS NULL"
    ).bind(now).bind(step).bind(user).execute(c).await.map(|r| r.rows_affected()))?;
    Ok(changed == 1)
}

/// Spends `step` if it is later than the last one spent; false means a replay.
pub(super) async fn spend_step(tx: &mut Tx, user: UserId, step: i64) -> Result<bool, DbError> {
    let changed = sql!(tx.exec(), c => sqlx::query(
        "UPDATE two_factor SET last_used_step = $1
         WHERE user_id = $2 AND enabled_at IS NOT NULL AND (last_used_step IS NULL OR last_used_step < $1)"
    ).bind(step).bind(user).execute(c).await.map(|r| r.rows_affected()))?;
    Ok(changed == 1)
}

pub(super) async fn replace_recovery_codes(tx: &mut Tx, user: UserId, hashes: &[String]) -> Result<(), DbError> {
    sql!(tx.exec(), c => sqlx::query("DELETE FROM recovery_codes WHERE user_id = $1")
        .bind(user).execute(c).await.map(|r| r.rows_affected()))?;
    for hash in hashes {
        sql!(tx.exec(), c => sqlx::query("INSERT INTO recovery_codes (user_id, code_hash) VALUES ($1, $2)")
            .bind(user).bind(hash).execute(c).await.map(|r| r.rows_affected()))?;
    }
    Ok(())
}

/// Marks an unused recovery code used; false when there is no such unused code.
pub(super) async fn spend_recovery_code(
    tx: &mut Tx,
    user: UserId,
    hash: &str,
    now: Timestamp,
) -> Result<bool, DbError> {
    let changed = sql!(tx.exec(), c => sqlx::query(
        "UPDATE recovery_codes SET used_at = $1 WHERE user_id = $2 AND code_hash = $3 AND used_at IS NULL"
    ).bind(now).bind(user).bind(hash).execute(c).await.map(|r| r.rows_affected()))?;
    Ok(changed == 1)
}

pub(super) async fn unused_recovery_codes(db: &Db, user: UserId) -> Result<i64, DbError> {
    let count = sql!(db.exec(), c => sqlx::query_scalar(
        "SELECT count(*) FROM recovery_codes WHERE user_id = $1 AND used_at IS NULL"
    ).bind(user).fetch_one(c).await)?;
    Ok(count)
}

pub(super) async fn delete_two_factor(tx: &mut Tx, user: UserId) -> Result<(), DbError> {
    sql!(tx.exec(), c => sqlx::query("DELETE FROM recovery_codes WHERE user_id = $1")
        .bind(user).execute(c).await.map(|r| r.rows_affected()))?;
    sql!(tx.exec(), c => sqlx::query("DELETE FROM two_factor WHERE user_id = $1")
        .bind(user).execute(c).await.map(|r| r.rows_affected()))?;
    Ok(())
}

pub(super) async fn insert_pending_login(
    tx: &mut Tx,
    workspace: WorkspaceId,
    id_hash: &str,
    user: UserId,
    expires_at: Timestamp,
) -> Result<(), DbError> {
    sql!(tx.exec(), c => sqlx::query(
        "INSERT INTO pending_logins (workspace_id, id_hash, user_id, expires_at) VALUES ($1, $2, $3, $4)"
    ).bind(workspace).bind(id_hash).bind(user).bind(expires_at).execute(c).await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// The user of an unused, unexpired pending login.
pub(super) async fn live_pending_login(
    db: &Db,
    workspace: WorkspaceId,
    id_hash: &str,
    now: Timestamp,
) -> Result<Option<UserId>, DbError> {
    let user = sql!(db.exec(), c => sqlx::query_scalar(
        "SELECT user_id FROM pending_logins
         WHERE workspace_id = $1 AND id_hash = $2 AND used_at IS NULL AND expires_at > $3"
    ).bind(workspace).bind(id_hash).bind(now).fetch_optional(c).await)?;
    Ok(user)
}

/// Uses up a pending login; false when it was already used or has expired.
pub(super) async fn spend_pending_login(
    tx: &mut Tx,
    workspace: WorkspaceId,
    id_hash: &str,
    now: Timestamp,
) -> Result<bool, DbError> {
    let changed = sql!(tx.exec(), c => sqlx::query(
        "UPDATE pending_logins SET used_at = $1
         WHERE workspace_id = $2 AND id_hash = $3 AND used_at IS NULL AND expires_at > $1"
    ).bind(now).bind(workspace).bind(id_hash).execute(c).await.map(|r| r.rows_affected()))?;
    Ok(changed == 1)
}

pub(super) async fn set_policy(tx: &mut Tx, workspace: WorkspaceId, required: bool) -> Result<(), DbError> {
    sql!(tx.exec(), c => sqlx::query("UPDATE workspaces SET require_two_factor = $1 WHERE id = $2")
        .bind(required).bind(workspace).execute(c).await.map(|r| r.rows_affected()))?;
    Ok(())
}

pub(super) async fn policy(db: &Db, workspace: WorkspaceId) -> Result<bool, DbError> {
    let required = sql!(db.exec(), c => sqlx::query_scalar("SELECT require_two_factor FROM workspaces WHERE id = $1")
        .bind(workspace).fetch_one(c).await)?;
    Ok(required)
}
