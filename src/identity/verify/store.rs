//! The SQL of email verification. Users and their verification links belong to no single
//! workspace.

use rapport_core::{Timestamp, UserId};
use rapport_db::{Db, DbError, Tx, sql};

/// The user's address and when it was verified.
pub(super) async fn user_email(db: &Db, user: UserId) -> Result<Option<(String, Option<Timestamp>)>, DbError> {
    let row = sql!(db.exec(), c => sqlx::query_as(
        "SELECT email, email_verified_at FROM users WHERE id = $1"
    ).bind(user).fetch_optional(c).await)?;
    Ok(row)
}

pub(super) async fn insert_verification(
    tx: &mut Tx,
    token_hash: &str,
    user: UserId,
    now: Timestamp,
    expires_at: Timestamp,
) -> Result<(), DbError> {
    sql!(tx.exec(), c => sqlx::query(
        "INSERT INTO email_verifications (token_hash, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4)"
    ).bind(token_hash).bind(user).bind(now).bind(expires_at).execute(c).await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// Spends a live link, returning its user; `None` when it is unknown, expired or spent.
pub(super) async fn spend_verification(
    tx: &mut Tx,
    token_hash: &str,
    now: Timestamp,
) -> Result<Option<UserId>, DbError> {
    let user = sql!(tx.exec(), c => sqlx::query_scalar(
        "UPDATE email_verifications SET used_at = $1
         WHERE token_hash = $2 AND used_at IS NULL AND expires_at > $1 RETURNING user_id"
    ).bind(now).bind(token_hash).fetch_optional(c).await)?;
    Ok(user)
}

pub(super) async fn mark_verified(tx: &mut Tx, user: UserId, now: Timestamp) -> Result<(), DbError> {
    sql!(tx.exec(), c => sqlx::query(
        "UPDATE users SET email_verified_at = $1 WHERE id = $2 AND email_verified_at IS NULL"
    ).bind(now).bind(user).execute(c).await.map(|r| r.rows_affected()))?;
    Ok(())
}
