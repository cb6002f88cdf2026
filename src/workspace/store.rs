//! The workspace module's SQL.

use chrono::Utc;
use rapport_core::{UserId, WorkspaceId};
use rapport_db::{Db, DbError, Tx, sql};

use super::model::WorkspaceName;

pub(super) async fn insert_workspace(tx: &mut Tx, name: &WorkspaceName) -> Result<WorkspaceId, DbError> {
    let id = sql!(tx.exec(), c => sqlx::query_scalar(
        "INSERT INTO workspaces (name, created_at) VALUES ($1, $2) RETURNING id"
    ).bind(name.as_str()).bind(Utc::now()).fetch_one(c).await)?;
    Ok(id)
}

pub(super) async fn insert_membership(
    tx: &mut Tx,
    workspace: WorkspaceId,
    user: UserId,
    role: &str,
) -> Result<(), DbError> {
    sql!(tx.exec(), c => sqlx::query(
        "INSERT INTO memberships (workspace_id, user_id, role, created_at) VALUES ($1, $2, $3, $4)"
    ).bind(workspace).bind(user).bind(role).bind(Utc::now()).execute(c).await.map(|r| r.rows_affected()))?;
    Ok(())
}

pub(super) async fn any_workspace(db: &Db) -> Result<bool, DbError> {
    let found: Option<i64> =
        sql!(db.exec(), c => sqlx::query_scalar("SELECT id FROM workspaces LIMIT 1").fetch_optional(c).await)?;
    Ok(found.is_some())
}

const SETUP_TOKEN: &str = "setup_token_sha256";

pub(super) async fn set_setup_token(tx: &mut Tx, digest: &str) -> Result<(), DbError> {
    sql!(tx.exec(), c => sqlx::query(
        "INSERT INTO instance_settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value"
    ).bind(SETUP_TOKEN).bind(digest).execute(c).await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// Deletes the setup token if its digest is `digest`; true when it did (the token was valid and
/// is now spent, inside the caller's transaction).
pub(super) async fn take_setup_token(tx: &mut Tx, digest: &str) -> Result<bool, DbError> {
    let deleted = sql!(tx.exec(), c => sqlx::query(
        "DELETE FROM instance_settings WHERE key = $1 AND value = $2"
    ).bind(SETUP_TOKEN).bind(digest).execute(c).await.map(|r| r.rows_affected()))?;
    Ok(deleted == 1)
}

pub(super) async fn setup_token_digest(db: &Db) -> Result<Option<String>, DbError> {
    let digest = sql!(db.exec(), c => sqlx::query_scalar("SELECT value FROM instance_settings WHERE key = $1")
        .bind(SETUP_TOKEN).fetch_optional(c).await)?;
    Ok(digest)
}

#[derive(sqlx::FromRow)]
pub(super) struct SettingsRow {
    pub name: String,
    pub default_currency: String,
    pub time_zone: String,
    pub locale: String,
    pub country: String,
}

pub(super) async fn settings(db: &Db, workspace: WorkspaceId) -> Result<Option<SettingsRow>, DbError> {
    let row = sql!(db.exec(), c => sqlx::query_as::<_, SettingsRow>(
        "SELECT name, default_currency, time_zone, locale, country FROM workspaces WHERE id = $1"
    ).bind(workspace).fetch_optional(c).await)?;
    Ok(row)
}

pub(super) async fn update_settings(tx: &mut Tx, workspace: WorkspaceId, row: &SettingsRow) -> Result<(), DbError> {
    sql!(tx.exec(), c => sqlx::query(
        "UPDATE workspaces SET name = $1, default_currency = $2, time_zone = $3, locale = $4, country = $5 WHERE id = $6"
    )
    .bind(&row.name).bind(&row.default_currency).bind(&row.time_zone).bind(&row.locale).bind(&row.country)
    .bind(workspace).execute(c).await.map(|r| r.rows_affected()))?;
    Ok(())
}
