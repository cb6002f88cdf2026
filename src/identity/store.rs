//! The identity module's SQL.

use chrono::Utc;
use rapport_core::{Email, UserId};
use rapport_db::{DbError, Tx, sql};

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
