//! The attachment module's SQL: the `attachments` metadata rows. Every statement is scoped by
//! `workspace_id`.

use rapport_core::{Timestamp, UserId, WorkspaceId};
use rapport_db::{Db, DbError, Tx, sql};

use super::model::Attachment;
use crate::activity::Target;

#[derive(sqlx::FromRow)]
struct Row {
    id: i64,
    target_type: String,
    target_id: i64,
    file_name: String,
    content_type: String,
    size_bytes: i64,
    sha256: String,
    storage_key: String,
    uploaded_by: Option<UserId>,
    uploader_email: Option<String>,
    created_at: Timestamp,
}

impl Row {
    fn into_attachment(self) -> Option<Attachment> {
        Some(Attachment {
            id: self.id,
            target: Target::parse(&self.target_type, self.target_id)?,
            file_name: self.file_name,
            content_type: self.content_type,
            size: self.size_bytes,
            sha256: self.sha256,
            uploaded_by: self.uploaded_by,
            uploader_email: self.uploader_email,
            created_at: self.created_at,
            storage_key: self.storage_key,
        })
    }
}

const COLUMNS: &str = "id, target_type, target_id, file_name, content_type, size_bytes, sha256, storage_key, \
     uploaded_by, uploader_email, created_at";

/// An attachment's row as written.
pub(super) struct NewRow<'a> {
    pub target: Target,
    pub file_name: &'a str,
    pub content_type: &'a str,
    pub size: i64,
    pub sha256: &'a str,
    pub storage_key: &'a str,
    pub uploaded_by: UserId,
    pub uploader_email: &'a str,
}

pub(super) async fn insert(
    tx: &mut Tx,
    workspace: WorkspaceId,
    row: &NewRow<'_>,
    now: Timestamp,
) -> Result<Attachment, DbError> {
    let sql = format!(
        "INSERT INTO attachments (workspace_id, target_type, target_id, file_name, content_type, size_bytes, sha256, \
         storage_key, uploaded_by, uploader_email, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) \
         RETURNING {COLUMNS}"
    );
    let found: Row = sql!(tx.exec(), c => sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
        .bind(workspace).bind(row.target.entity()).bind(row.target.id()).bind(row.file_name).bind(row.content_type)
        .bind(row.size).bind(row.sha256).bind(row.storage_key).bind(row.uploaded_by).bind(row.uploader_email).bind(now)
        .fetch_one(c).await)?;
    found.into_attachment().ok_or(DbError::NotFound)
}

pub(super) async fn find(db: &Db, workspace: WorkspaceId, id: i64) -> Result<Option<Attachment>, DbError> {
    let sql = format!("SELECT {COLUMNS} FROM attachments WHERE workspace_id = $1 AND id = $2");
    let row: Option<Row> = sql!(db.exec(), c => sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
        .bind(workspace).bind(id).fetch_optional(c).await)?;
    Ok(row.and_then(Row::into_attachment))
}

/// A record's attachments, newest first, before the cursor id.
pub(super) async fn of_target(
    db: &Db,
    workspace: WorkspaceId,
    target: Target,
    before: Option<i64>,
    limit: i64,
) -> Result<Vec<Attachment>, DbError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM attachments WHERE workspace_id = $1 AND target_type = $2 AND target_id = $3 \
         AND ($4 IS NULL OR id < $4) ORDER BY id DESC LIMIT $5"
    );
    let rows: Vec<Row> = sql!(db.exec(), c => sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
        .bind(workspace).bind(target.entity()).bind(target.id()).bind(before).bind(limit).fetch_all(c).await)?;
    Ok(rows.into_iter().filter_map(Row::into_attachment).collect())
}

/// Deletes one attachment's row; answers whether there was one.
pub(super) async fn delete(tx: &mut Tx, workspace: WorkspaceId, id: i64) -> Result<bool, DbError> {
    let n = sql!(tx.exec(), c => sqlx::query("DELETE FROM attachments WHERE workspace_id = $1 AND id = $2")
        .bind(workspace).bind(id).execute(c).await.map(|r| r.rows_affected()))?;
    Ok(n == 1)
}

/// Deletes every attachment row of a purged record; answers the storage keys of their files.
pub(super) async fn delete_of(tx: &mut Tx, workspace: WorkspaceId, target: Target) -> Result<Vec<String>, DbError> {
    let keys = sql!(tx.exec(), c => sqlx::query_scalar(
        "DELETE FROM attachments WHERE workspace_id = $1 AND target_type = $2 AND target_id = $3 RETURNING storage_key"
    ).bind(workspace).bind(target.entity()).bind(target.id()).fetch_all(c).await)?;
    Ok(keys)
}

/// Moves attachments from one record to another, only those named in `only` when given;
/// answers the ids moved.
pub(super) async fn reassign(
    tx: &mut Tx,
    workspace: WorkspaceId,
    (from, to): (Target, Target),
    only: Option<&[i64]>,
) -> Result<Vec<i64>, DbError> {
    if only.is_some_and(<[i64]>::is_empty) {
        return Ok(Vec::new());
    }
    let moved = sql!(tx.exec(), c => {
        let mut update = sqlx::QueryBuilder::new("UPDATE attachments SET target_type = ");
        update.push_bind(to.entity()).push(", target_id = ").push_bind(to.id());
        update.push(" WHERE workspace_id = ").push_bind(workspace);
        update.push(" AND target_type = ").push_bind(from.entity()).push(" AND target_id = ").push_bind(from.id());
        if let Some(ids) = only {
            update.push(" AND id IN (");
            let mut list = update.separated(", ");
            for id in ids {
                list.push_bind(*id);
            }
            update.push(")");
        }
        update.push(" RETURNING id");
        update.build_query_scalar().fetch_all(c).await
    })?;
    Ok(moved)
}

/// Whether a row of the workspace names this file.
pub(super) async fn claimed(db: &Db, workspace: WorkspaceId, key: &str) -> Result<bool, DbError> {
    let found: Option<i64> = sql!(db.exec(), c => sqlx::query_scalar(
        "SELECT id FROM attachments WHERE workspace_id = $1 AND storage_key = $2"
    ).bind(workspace).bind(key).fetch_optional(c).await)?;
    Ok(found.is_some())
}
