//! The bulk module's SQL: the `bulk_jobs` table. Every statement is scoped by `workspace_id`.

use rapport_core::{Timestamp, UserId, WorkspaceId};
use rapport_db::{Db, DbError, Tx, sql};
use serde_json::Value;
use sqlx::types::Json;

use super::model::{Action, BulkJob, NewBulk, Object, Progress, RecordError, Selection, Status};

const COLUMNS: &str = "id, user_id, object, action, argument, selection, status, total, done, failed, last_id, \
     errors, error, export_id, created_at, updated_at, finished_at";

#[derive(sqlx::FromRow)]
struct Row {
    id: i64,
    user_id: UserId,
    object: String,
    action: String,
    argument: Json<Value>,
    selection: Json<Value>,
    status: String,
    total: i64,
    done: i64,
    failed: i64,
    last_id: i64,
    errors: Json<Vec<RecordError>>,
    error: Option<String>,
    export_id: Option<i64>,
    created_at: Timestamp,
    updated_at: Timestamp,
    finished_at: Option<Timestamp>,
}

impl Row {
    fn into_job(self) -> Result<BulkJob, DbError> {
        let broken =
            |what: &str| DbError::from(sqlx::Error::Decode(format!("bulk job {}: bad {what}", self.id).into()));
        Ok(BulkJob {
            id: self.id,
            user_id: self.user_id,
            object: Object::parse(&self.object).ok_or_else(|| broken("object"))?,
            action: Action::stored(&self.action, &self.argument.0).ok_or_else(|| broken("action"))?,
            selection: Selection::stored(&self.selection.0).ok_or_else(|| broken("selection"))?,
            status: Status::parse(&self.status).ok_or_else(|| broken("status"))?,
            total: self.total,
            done: self.done,
            failed: self.failed,
            last_id: self.last_id,
            errors: self.errors.0,
            error: self.error,
            export_id: self.export_id,
            created_at: self.created_at,
            updated_at: self.updated_at,
            finished_at: self.finished_at,
        })
    }
}

/// What an insert stores beyond the request: who asked, with which access, how many records
/// were selected, and for an export the export it handed off to.
pub(super) struct NewRow<'a> {
    pub workspace: WorkspaceId,
    pub user: UserId,
    pub new: &'a NewBulk,
    pub caller: &'a Value,
    pub total: i64,
    pub export_id: Option<i64>,
    pub now: Timestamp,
}

pub(super) async fn insert(tx: &mut Tx, row: &NewRow<'_>) -> Result<i64, DbError> {
    let status = if row.export_id.is_some() { Status::Done } else { Status::Queued };
    let finished = row.export_id.map(|_| row.now);
    let id = sql!(tx.exec(), c => sqlx::query_scalar(
        "INSERT INTO bulk_jobs (workspace_id, user_id, object, action, argument, selection, caller, status, total, \
         export_id, created_at, updated_at, finished_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11, $12) RETURNING id"
    ).bind(row.workspace).bind(row.user).bind(row.new.object.as_str()).bind(row.new.action.name())
     .bind(Json(row.new.action.argument())).bind(Json(row.new.selection.to_json())).bind(Json(row.caller))
     .bind(status.as_str()).bind(row.total).bind(row.export_id).bind(row.now).bind(finished).fetch_one(c).await)?;
    Ok(id)
}

pub(super) async fn find(db: &Db, workspace: WorkspaceId, id: i64) -> Result<Option<BulkJob>, DbError> {
    let sql = format!("SELECT {COLUMNS} FROM bulk_jobs WHERE workspace_id = $1 AND id = $2");
    let row: Option<Row> = sql!(db.exec(), c => sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
        .bind(workspace).bind(id).fetch_optional(c).await)?;
    row.map(Row::into_job).transpose()
}

/// The caller snapshot the job rebuilds its principal from.
pub(super) async fn caller(tx: &mut Tx, workspace: WorkspaceId, id: i64) -> Result<Option<Value>, DbError> {
    let caller: Option<Json<Value>> = sql!(tx.exec(), c => sqlx::query_scalar(
        "SELECT caller FROM bulk_jobs WHERE workspace_id = $1 AND id = $2"
    ).bind(workspace).bind(id).fetch_optional(c).await)?;
    Ok(caller.map(|c| c.0))
}

/// Marks a queued (or, after a restart, running) job running; false when it was cancelled or
/// finished meanwhile.
pub(super) async fn set_running(tx: &mut Tx, workspace: WorkspaceId, id: i64, now: Timestamp) -> Result<bool, DbError> {
    let changed = sql!(tx.exec(), c => sqlx::query(
        "UPDATE bulk_jobs SET status = 'running', updated_at = $3 \
         WHERE workspace_id = $1 AND id = $2 AND status IN ('queued', 'running')"
    ).bind(workspace).bind(id).bind(now).execute(c).await.map(|r| r.rows_affected()))?;
    Ok(changed == 1)
}

/// Adds one batch's progress. The status is left as it is, so a cancel that arrived during the
/// batch stands, and the batch it let finish is still counted.
pub(super) async fn progress(
    tx: &mut Tx,
    workspace: WorkspaceId,
    id: i64,
    batch: &Progress,
    errors: &[RecordError],
    now: Timestamp,
) -> Result<(), DbError> {
    sql!(tx.exec(), c => sqlx::query(
        "UPDATE bulk_jobs SET done = done + $3, failed = failed + $4, last_id = $5, errors = $6, updated_at = $7 \
         WHERE workspace_id = $1 AND id = $2"
    ).bind(workspace).bind(id).bind(batch.done).bind(batch.failed).bind(batch.last_id).bind(Json(errors)).bind(now)
     .execute(c).await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// Ends a job that is still queued or running with `status`; `error` says why one failed.
pub(super) async fn finish(
    tx: &mut Tx,
    workspace: WorkspaceId,
    id: i64,
    (status, error): (Status, Option<&str>),
    now: Timestamp,
) -> Result<(), DbError> {
    sql!(tx.exec(), c => sqlx::query(
        "UPDATE bulk_jobs SET status = $3, error = $4, finished_at = $5, updated_at = $5 \
         WHERE workspace_id = $1 AND id = $2 AND status IN ('queued', 'running')"
    ).bind(workspace).bind(id).bind(status.as_str()).bind(error).bind(now).execute(c).await.map(|r| r.rows_affected()))?;
    Ok(())
}
