//! The merge module's SQL: merges and bulk merge runs. Every statement is scoped by
//! `workspace_id`.

use rapport_core::{PersonId, Timestamp, UserId, WorkspaceId};
use rapport_db::{Db, DbError, Tx, sql};
use serde_json::Value;
use sqlx::types::Json;

use super::model::{Merge, Moved, Run, RunStatus};
use crate::dedup::Pair;
use crate::person::PersonInput;

const MERGE_COLUMNS: &str = "id, survivor_id, merged_id, survivor_before, survivor_after, merged_external_id, moved, \
     pair, run_id, actor, merged_at, undone_at";

#[derive(sqlx::FromRow)]
struct MergeRow {
    id: i64,
    survivor_id: PersonId,
    merged_id: PersonId,
    survivor_before: Json<PersonInput>,
    survivor_after: Json<PersonInput>,
    merged_external_id: Option<String>,
    moved: Json<Moved>,
    pair: Option<Json<Pair>>,
    run_id: Option<i64>,
    actor: String,
    merged_at: Timestamp,
    undone_at: Option<Timestamp>,
}

impl From<MergeRow> for Merge {
    fn from(row: MergeRow) -> Self {
        Self {
            id: row.id,
            survivor_id: row.survivor_id,
            merged_id: row.merged_id,
            survivor_before: row.survivor_before.0,
            survivor_after: row.survivor_after.0,
            merged_external_id: row.merged_external_id,
            moved: row.moved.0,
            pair: row.pair.map(|p| p.0),
            run_id: row.run_id,
            actor: row.actor,
            merged_at: row.merged_at,
            undone_at: row.undone_at,
        }
    }
}

pub(super) async fn insert(tx: &mut Tx, workspace: WorkspaceId, merge: &Merge) -> Result<i64, DbError> {
    let id = sql!(tx.exec(), c => sqlx::query_scalar(
        "INSERT INTO merges (workspace_id, survivor_id, merged_id, survivor_before, survivor_after, merged_external_id, \
         moved, pair, run_id, actor, merged_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id"
    ).bind(workspace).bind(merge.survivor_id).bind(merge.merged_id).bind(Json(&merge.survivor_before))
        .bind(Json(&merge.survivor_after)).bind(&merge.merged_external_id).bind(Json(&merge.moved))
        .bind(merge.pair.as_ref().map(Json)).bind(merge.run_id).bind(&merge.actor).bind(merge.merged_at)
        .fetch_one(c).await)?;
    Ok(id)
}

pub(super) async fn find(db: &Db, workspace: WorkspaceId, id: i64) -> Result<Option<Merge>, DbError> {
    let sql = format!("SELECT {MERGE_COLUMNS} FROM merges WHERE workspace_id = $1 AND id = $2");
    let row: Option<MergeRow> = sql!(db.exec(), c => sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
        .bind(workspace).bind(id).fetch_optional(c).await)?;
    Ok(row.map(Merge::from))
}

/// The same inside a write, so the undo and its check see one state.
pub(super) async fn find_in(tx: &mut Tx, workspace: WorkspaceId, id: i64) -> Result<Option<Merge>, DbError> {
    let sql = format!("SELECT {MERGE_COLUMNS} FROM merges WHERE workspace_id = $1 AND id = $2");
    let row: Option<MergeRow> = sql!(tx.exec(), c => sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
        .bind(workspace).bind(id).fetch_optional(c).await)?;
    Ok(row.map(Merge::from))
}

/// The workspace's merges newest first, `limit` before the id `before`.
pub(super) async fn recent(
    db: &Db,
    workspace: WorkspaceId,
    before: Option<i64>,
    limit: i64,
) -> Result<Vec<Merge>, DbError> {
    let sql =
        format!("SELECT {MERGE_COLUMNS} FROM merges WHERE workspace_id = $1 AND id < $2 ORDER BY id DESC LIMIT $3");
    let rows: Vec<MergeRow> = sql!(db.exec(), c => sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
        .bind(workspace).bind(before.unwrap_or(i64::MAX)).bind(limit).fetch_all(c).await)?;
    Ok(rows.into_iter().map(Merge::from).collect())
}

/// The merge that took `person` away, if it stands.
pub(super) async fn standing_of(db: &Db, workspace: WorkspaceId, person: PersonId) -> Result<Option<Merge>, DbError> {
    let sql = format!(
        "SELECT {MERGE_COLUMNS} FROM merges WHERE workspace_id = $1 AND merged_id = $2 AND undone_at IS NULL \
         ORDER BY id DESC LIMIT 1"
    );
    let row: Option<MergeRow> = sql!(db.exec(), c => sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
        .bind(workspace).bind(person).fetch_optional(c).await)?;
    Ok(row.map(Merge::from))
}

/// Marks a merge undone; answers false when it already was (a concurrent undo).
pub(super) async fn set_undone(tx: &mut Tx, workspace: WorkspaceId, id: i64, at: Timestamp) -> Result<bool, DbError> {
    let n = sql!(tx.exec(), c => sqlx::query(
        "UPDATE merges SET undone_at = $3 WHERE workspace_id = $1 AND id = $2 AND undone_at IS NULL"
    ).bind(workspace).bind(id).bind(at).execute(c).await.map(|r| r.rows_affected()))?;
    Ok(n == 1)
}

const RUN_COLUMNS: &str = "id, user_id, min_score, status, merged, skipped, error, created_at, finished_at";

#[derive(sqlx::FromRow)]
struct RunRow {
    id: i64,
    user_id: UserId,
    min_score: f64,
    status: String,
    merged: i64,
    skipped: i64,
    error: Option<String>,
    created_at: Timestamp,
    finished_at: Option<Timestamp>,
}

impl From<RunRow> for Run {
    fn from(row: RunRow) -> Self {
        Self {
            id: row.id,
            user_id: row.user_id,
            min_score: row.min_score,
            status: RunStatus::parse(&row.status).unwrap_or(RunStatus::Failed),
            merged: row.merged,
            skipped: row.skipped,
            error: row.error,
            created_at: row.created_at,
            finished_at: row.finished_at,
        }
    }
}

pub(super) async fn insert_run(
    tx: &mut Tx,
    workspace: WorkspaceId,
    (user, min_score): (UserId, f64),
    caller: &Value,
    now: Timestamp,
) -> Result<i64, DbError> {
    let id = sql!(tx.exec(), c => sqlx::query_scalar(
        "INSERT INTO merge_runs (workspace_id, user_id, min_score, caller, status, created_at) \
         VALUES ($1, $2, $3, $4, 'queued', $5) RETURNING id"
    ).bind(workspace).bind(user).bind(min_score).bind(Json(caller)).bind(now).fetch_one(c).await)?;
    Ok(id)
}

pub(super) async fn run(db: &Db, workspace: WorkspaceId, id: i64) -> Result<Option<Run>, DbError> {
    let sql = format!("SELECT {RUN_COLUMNS} FROM merge_runs WHERE workspace_id = $1 AND id = $2");
    let row: Option<RunRow> = sql!(db.exec(), c => sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
        .bind(workspace).bind(id).fetch_optional(c).await)?;
    Ok(row.map(Run::from))
}

/// The workspace's latest bulk merge.
pub(super) async fn latest_run(db: &Db, workspace: WorkspaceId) -> Result<Option<Run>, DbError> {
    let sql = format!("SELECT {RUN_COLUMNS} FROM merge_runs WHERE workspace_id = $1 ORDER BY id DESC LIMIT 1");
    let row: Option<RunRow> = sql!(db.exec(), c => sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
        .bind(workspace).fetch_optional(c).await)?;
    Ok(row.map(Run::from))
}

/// The access of the member a run acts as, as stored when they asked.
pub(super) async fn run_caller(db: &Db, workspace: WorkspaceId, id: i64) -> Result<Option<Value>, DbError> {
    let caller: Option<Json<Value>> = sql!(db.exec(), c => sqlx::query_scalar(
        "SELECT caller FROM merge_runs WHERE workspace_id = $1 AND id = $2"
    ).bind(workspace).bind(id).fetch_optional(c).await)?;
    Ok(caller.map(|c| c.0))
}

/// Records a run's status and counts so far.
pub(super) async fn progress(
    tx: &mut Tx,
    workspace: WorkspaceId,
    id: i64,
    (status, merged, skipped): (RunStatus, i64, i64),
    (error, finished_at): (Option<&str>, Option<Timestamp>),
) -> Result<(), DbError> {
    sql!(tx.exec(), c => sqlx::query(
        "UPDATE merge_runs SET status = $3, merged = $4, skipped = $5, error = $6, finished_at = $7 \
         WHERE workspace_id = $1 AND id = $2"
    ).bind(workspace).bind(id).bind(status.as_str()).bind(merged).bind(skipped).bind(error).bind(finished_at)
        .execute(c).await.map(|r| r.rows_affected()))?;
    Ok(())
}
