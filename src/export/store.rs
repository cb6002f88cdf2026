//! The export module's SQL: the `exports` table. Every statement but the sweep's is scoped by
//! `workspace_id`; the sweep works across workspaces, as the trash purges do.

use rapport_core::{Timestamp, UserId, WorkspaceId};
use rapport_db::{Db, DbError, Tx, sql};
use serde_json::Value;
use sqlx::types::Json;

use super::model::{Export, Format, ListFilter, Object, Status};

const COLUMNS: &str = "id, user_id, object, format, filter, status, rows_done, rows_total, bytes, error, \
     created_at, finished_at, expires_at";

#[derive(sqlx::FromRow)]
struct Row {
    id: i64,
    user_id: UserId,
    object: String,
    format: String,
    filter: Json<Value>,
    status: String,
    rows_done: i64,
    rows_total: Option<i64>,
    bytes: Option<i64>,
    error: Option<String>,
    created_at: Timestamp,
    finished_at: Option<Timestamp>,
    expires_at: Option<Timestamp>,
}

impl Row {
    fn into_export(self) -> Result<Export, DbError> {
        let broken = |what: &str| DbError::from(sqlx::Error::Decode(format!("export {}: bad {what}", self.id).into()));
        let object = Object::parse(&self.object).ok_or_else(|| broken("object"))?;
        Ok(Export {
            id: self.id,
            user_id: self.user_id,
            filter: ListFilter::parse(object, &self.filter.0).map_err(|_| broken("filter"))?,
            format: Format::parse(&self.format).ok_or_else(|| broken("format"))?,
            status: Status::parse(&self.status).ok_or_else(|| broken("status"))?,
            rows_done: self.rows_done,
            rows_total: self.rows_total,
            bytes: self.bytes,
            error: self.error,
            created_at: self.created_at,
            finished_at: self.finished_at,
            expires_at: self.expires_at,
        })
    }
}

/// What an insert stores beyond the request: who asked, with which access.
pub(super) struct NewRow<'a> {
    pub workspace: WorkspaceId,
    pub user: UserId,
    pub filter: &'a ListFilter,
    pub format: Format,
    pub caller: &'a Value,
    pub now: Timestamp,
}

pub(super) async fn insert(tx: &mut Tx, row: &NewRow<'_>) -> Result<i64, DbError> {
    let id = sql!(tx.exec(), c => sqlx::query_scalar(
        "INSERT INTO exports (workspace_id, user_id, object, format, filter, caller, status, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, 'queued', $7, $7) RETURNING id"
    ).bind(row.workspace).bind(row.user).bind(row.filter.object().as_str()).bind(row.format.as_str())
     .bind(Json(row.filter.to_json())).bind(Json(row.caller)).bind(row.now).fetch_one(c).await)?;
    Ok(id)
}

pub(super) async fn find(db: &Db, workspace: WorkspaceId, id: i64) -> Result<Option<Export>, DbError> {
    let sql = format!("SELECT {COLUMNS} FROM exports WHERE workspace_id = $1 AND id = $2");
    let row: Option<Row> = sql!(db.exec(), c => sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
        .bind(workspace).bind(id).fetch_optional(c).await)?;
    row.map(Row::into_export).transpose()
}

/// The caller snapshot the job rebuilds its principal from.
pub(super) async fn caller(tx: &mut Tx, workspace: WorkspaceId, id: i64) -> Result<Option<Value>, DbError> {
    let caller: Option<Json<Value>> = sql!(tx.exec(), c => sqlx::query_scalar(
        "SELECT caller FROM exports WHERE workspace_id = $1 AND id = $2"
    ).bind(workspace).bind(id).fetch_optional(c).await)?;
    Ok(caller.map(|c| c.0))
}

/// A user's exports, newest first.
pub(super) async fn of_user(db: &Db, workspace: WorkspaceId, user: UserId, limit: i64) -> Result<Vec<Export>, DbError> {
    let sql =
        format!("SELECT {COLUMNS} FROM exports WHERE workspace_id = $1 AND user_id = $2 ORDER BY id DESC LIMIT $3");
    let rows: Vec<Row> = sql!(db.exec(), c => sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
        .bind(workspace).bind(user).bind(limit).fetch_all(c).await)?;
    rows.into_iter().map(Row::into_export).collect()
}

/// Starts (or restarts, after a crash) a run: no rows done yet.
pub(super) async fn set_running(tx: &mut Tx, workspace: WorkspaceId, id: i64, now: Timestamp) -> Result<(), DbError> {
    sql!(tx.exec(), c => sqlx::query(
        "UPDATE exports SET status = 'running', rows_done = 0, rows_total = NULL, updated_at = $3 \
         WHERE workspace_id = $1 AND id = $2"
    ).bind(workspace).bind(id).bind(now).execute(c).await.map(|r| r.rows_affected()))?;
    Ok(())
}

pub(super) async fn progress(
    tx: &mut Tx,
    workspace: WorkspaceId,
    id: i64,
    (done, total): (i64, Option<i64>),
    now: Timestamp,
) -> Result<(), DbError> {
    sql!(tx.exec(), c => sqlx::query(
        "UPDATE exports SET rows_done = $3, rows_total = $4, updated_at = $5 WHERE workspace_id = $1 AND id = $2"
    ).bind(workspace).bind(id).bind(done).bind(total).bind(now).execute(c).await.map(|r| r.rows_affected()))?;
    Ok(())
}

pub(super) async fn finish(
    tx: &mut Tx,
    workspace: WorkspaceId,
    id: i64,
    (rows, bytes): (i64, i64),
    (now, expires_at): (Timestamp, Timestamp),
) -> Result<(), DbError> {
    sql!(tx.exec(), c => sqlx::query(
        "UPDATE exports SET status = 'done', rows_done = $3, rows_total = $3, bytes = $4, finished_at = $5, \
         updated_at = $5, expires_at = $6 WHERE workspace_id = $1 AND id = $2"
    ).bind(workspace).bind(id).bind(rows).bind(bytes).bind(now).bind(expires_at).execute(c).await.map(|r| r.rows_affected()))?;
    Ok(())
}

pub(super) async fn fail(
    tx: &mut Tx,
    workspace: WorkspaceId,
    id: i64,
    error: &str,
    now: Timestamp,
) -> Result<(), DbError> {
    sql!(tx.exec(), c => sqlx::query(
        "UPDATE exports SET status = 'failed', error = $3, finished_at = $4, updated_at = $4 \
         WHERE workspace_id = $1 AND id = $2 AND status IN ('queued', 'running')"
    ).bind(workspace).bind(id).bind(error).bind(now).execute(c).await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// Done exports whose link expired before `now`, and failed ones finished before `failed_before`,
/// in every workspace: the files the sweep removes.
pub(super) async fn to_sweep(
    db: &Db,
    now: Timestamp,
    failed_before: Timestamp,
    limit: i64,
) -> Result<Vec<(WorkspaceId, i64, Format)>, DbError> {
    let rows: Vec<(WorkspaceId, i64, String)> = sql!(db.exec(), c => sqlx::query_as(
        "SELECT workspace_id, id, format FROM exports \
         WHERE (status = 'done' AND expires_at <= $1) OR (status = 'failed' AND expires_at IS NULL AND finished_at <= $2) \
         ORDER BY id LIMIT $3"
    ).bind(now).bind(failed_before).bind(limit).fetch_all(c).await)?;
    Ok(rows.into_iter().filter_map(|(w, id, format)| Some((w, id, Format::parse(&format)?))).collect())
}

/// Marks swept exports: a done one as expired; a failed one keeps its status and reason.
pub(super) async fn swept(tx: &mut Tx, workspace: WorkspaceId, id: i64, now: Timestamp) -> Result<(), DbError> {
    sql!(tx.exec(), c => sqlx::query(
        "UPDATE exports SET status = CASE WHEN status = 'done' THEN 'expired' ELSE status END, \
         finished_at = COALESCE(finished_at, $3), expires_at = COALESCE(expires_at, $3), updated_at = $3 \
         WHERE workspace_id = $1 AND id = $2"
    ).bind(workspace).bind(id).bind(now).execute(c).await.map(|r| r.rows_affected()))?;
    Ok(())
}
