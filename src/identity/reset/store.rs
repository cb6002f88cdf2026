//! The SQL of password reset. Users and their reset links belong to no single workspace; a
//! user's sessions are revoked across all of them.

use rapport_core::{Timestamp, UserId};
use rapport_db::{Db, DbError, Tx, sql};

pub(super) async fn active_user(db: &Db, canonical_email: &str) -> Result<Option<UserId>, DbError> {
    let id = sql!(db.exec(), c => sqlx::query_scalar(
        "SELECT id FROM users WHERE email_canonical = $1 AND status = 'active'"
    ).bind(canonical_email).fetch_optional(c).await)?;
    Ok(id)
}

pub(super) async fn insert_reset(
    tx: &mut Tx,
    token_hash: &str,
    user: UserId,
    now: Timestamp,
    expires_at: Timestamp,
) -> Result<(), DbError> {
    sql!(tx.exec(), c => sqlx::query(
        "INSERT INTO password_resets (token_hash, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4)"
    ).bind(token_hash).bind(user).bind(now).bind(expires_at).execute(c).await.map(|r| r.rows_affected()))?;
    Ok(())
}

pub(super) async fn live_reset(db: &Db, token_hash: &str, now: Timestamp) -> Result<bool, DbError> {
    let found: Option<i64> = sql!(db.exec(), c => sqlx::query_scalar(
        "SELECT CAST(1 AS BIGINT) FROM password_resets WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2"
    ).bind(token_hash).bind(now).fetch_optional(c).await)?;
    Ok(found.is_some())
}

/// Spends a live link, returning its user; `None` when it is unknown, expired or spent. The
/// user's other outstanding links are spent too.
pub(super) async fn spend_reset(tx: &mut Tx, token_hash: &str, now: Timestamp) -> Result<Option<UserId>, DbError> {
    let user: Option<UserId> = sql!(tx.exec(), c => sqlx::query_scalar(
        "UPDATE password_resets SET used_at = $1
         WHERE token_hash = $2 AND used_at IS NULL AND expires_at > $1 RETURNING user_id"
    ).bind(now).bind(token_hash).fetch_optional(c).await)?;
    if let Some(user) = user {
        sql!(tx.exec(), c => sqlx::query(
            "UPDATE password_resets SET used_at = $1 WHERE user_id = $2 AND used_at IS NULL"
        ).bind(now).bind(user).execute(c).await.map(|r| r.rows_affected()))?;
    }
    Ok(user)
}

pub(super) async fn set_password(
    tx: &mut Tx,
    user: UserId,
    password_hash: &str,
    now: Timestamp,
) -> Result<(), DbError> {
    sql!(tx.exec(), c => sqlx::query(
        "UPDATE users SET password_hash = $1, password_changed_at = $2, failed_logins = 0, locked_until = NULL
         WHERE id = $3"
    ).bind(password_hash).bind(now).bind(user).execute(c).await.map(|r| r.rows_affected()))?;
    Ok(())
}

pub(super) async fn revoke_user_sessions(tx: &mut Tx, user: UserId, now: Timestamp) -> Result<u64, DbError> {
    let revoked = sql!(tx.exec(), c => sqlx::query(
        "UPDATE sessions SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL"
    ).bind(now).bind(user).execute(c).await.map(|r| r.rows_affected()))?;
    Ok(revoked)
}
