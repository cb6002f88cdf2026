//! The import module's SQL: `imports`, `import_records`, `import_rejections`,
//! `import_duplicates` and `import_templates`. Every statement is scoped by `workspace_id`.

use rapport_core::{Timestamp, UserId, WorkspaceId};
use rapport_db::{Db, DbError, Tx, sql};
use serde_json::Value;
use sqlx::types::Json;

use super::model::{Column, Counts, DuplicateOf, DuplicateWarning, Import, Object, Rejection, Settings, Status};
use super::read::Format;

const COLUMNS: &str = "id, workspace_id, user_id, object, file_name, file_size, format, headers, estimated_rows, settings, status, \
     dry_run, next_row, created, updated, unchanged, rejected, possible_duplicates, error, created_at, updated_at, started_at, finished_at";

#[derive(sqlx::FromRow)]
struct Row {
    id: i64,
    workspace_id: WorkspaceId,
    user_id: UserId,
    object: String,
    file_name: String,
    file_size: i64,
    format: String,
    headers: Json<Vec<String>>,
    estimated_rows: i64,
    settings: Json<Value>,
    status: String,
    dry_run: bool,
    next_row: i64,
    created: i64,
    updated: i64,
    unchanged: i64,
    rejected: i64,
    possible_duplicates: i64,
    error: Option<String>,
    created_at: Timestamp,
    updated_at: Timestamp,
    started_at: Option<Timestamp>,
    finished_at: Option<Timestamp>,
}

pub(super) fn format_name(format: Format) -> &'static str {
    match format {
        Format::Csv => "csv",
        Format::Xlsx => "xlsx",
        Format::Vcard => "vcard",
    }
}

fn format_of(raw: &str) -> Option<Format> {
    match raw {
        "csv" => Some(Format::Csv),
        "xlsx" => Some(Format::Xlsx),
        "vcard" => Some(Format::Vcard),
        _ => None,
    }
}

impl Row {
    fn into_import(self) -> Result<Import, DbError> {
        let broken = |what: &str| DbError::from(sqlx::Error::Decode(format!("import {}: bad {what}", self.id).into()));
        Ok(Import {
            id: self.id,
            workspace_id: self.workspace_id,
            user_id: self.user_id,
            object: Object::parse(&self.object).ok_or_else(|| broken("object"))?,
            file_name: self.file_name.clone(),
            file_size: self.file_size,
            format: format_of(&self.format).ok_or_else(|| broken("format"))?,
            headers: self.headers.0.clone(),
            estimated_rows: self.estimated_rows,
            settings: Settings::from_json(self.settings.0.clone()).ok_or_else(|| broken("settings"))?,
            status: Status::parse(&self.status).ok_or_else(|| broken("status"))?,
            dry_run: self.dry_run,
            next_row: self.next_row,
            counts: Counts {
                created: self.created,
                updated: self.updated,
                unchanged: self.unchanged,
                rejected: self.rejected,
            },
            possible_duplicates: self.possible_duplicates,
            error: self.error,
            created_at: self.created_at,
            updated_at: self.updated_at,
            started_at: self.started_at,
            finished_at: self.finished_at,
        })
    }
}

/// What an upload stores: the file's description, its headers, the suggested settings and the
/// uploader's access (a run acts as them).
pub(super) struct NewImport<'a> {
    pub workspace: WorkspaceId,
    pub user: UserId,
    pub object: Object,
    pub file_name: &'a str,
    pub file_size: i64,
    pub format: Format,
    pub headers: &'a [String],
    pub estimated_rows: i64,
    pub settings: &'a Settings,
    pub caller: &'a Value,
    pub now: Timestamp,
}

pub(super) async fn insert(tx: &mut Tx, new: &NewImport<'_>) -> Result<i64, DbError> {
    let id = sql!(tx.exec(), c => sqlx::query_scalar(
        "INSERT INTO imports (workspace_id, user_id, object, file_name, file_size, format, headers, estimated_rows, \
         settings, caller, status, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'draft', $11, $11) RETURNING id"
    ).bind(new.workspace).bind(new.user).bind(new.object.as_str()).bind(new.file_name).bind(new.file_size)
     .bind(format_name(new.format)).bind(Json(new.headers)).bind(new.estimated_rows).bind(Json(new.settings.to_json()))
     .bind(Json(new.caller)).bind(new.now).fetch_one(c).await)?;
    Ok(id)
}

pub(super) async fn find(db: &Db, workspace: WorkspaceId, id: i64) -> Result<Option<Import>, DbError> {
    let sql = format!("SELECT {COLUMNS} FROM imports WHERE workspace_id = $1 AND id = $2");
    let row: Option<Row> = sql!(db.exec(), c => sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
        .bind(workspace).bind(id).fetch_optional(c).await)?;
    row.map(Row::into_import).transpose()
}

/// The workspace's imports newest first (one user's, when `user` is given).
pub(super) async fn recent(
    db: &Db,
    workspace: WorkspaceId,
    user: Option<UserId>,
    limit: i64,
) -> Result<Vec<Import>, DbError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM imports WHERE workspace_id = $1 AND ($2 IS NULL OR user_id = $2) ORDER BY id DESC LIMIT $3"
    );
    let rows: Vec<Row> = sql!(db.exec(), c => sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
        .bind(workspace).bind(user).bind(limit).fetch_all(c).await)?;
    rows.into_iter().map(Row::into_import).collect()
}

/// The uploader's access when they uploaded or started the import.
pub(super) async fn caller(tx: &mut Tx, workspace: WorkspaceId, id: i64) -> Result<Option<Value>, DbError> {
    let caller: Option<Json<Value>> = sql!(tx.exec(), c => sqlx::query_scalar(
        "SELECT caller FROM imports WHERE workspace_id = $1 AND id = $2"
    ).bind(workspace).bind(id).fetch_optional(c).await)?;
    Ok(caller.map(|c| c.0))
}

/// Queues a run with `settings` from the first row: a draft, or an import whose dry run
/// finished. Earlier counts, rejections and duplicate warnings (the dry run's) are cleared.
pub(super) async fn queue(
    tx: &mut Tx,
    workspace: WorkspaceId,
    id: i64,
    (settings, dry_run): (&Settings, bool),
    caller: &Value,
    now: Timestamp,
) -> Result<(), DbError> {
    sql!(tx.exec(), c => sqlx::query(
        "DELETE FROM import_rejections WHERE workspace_id = $1 AND import_id = $2"
    ).bind(workspace).bind(id).execute(c).await.map(|r| r.rows_affected()))?;
    sql!(tx.exec(), c => sqlx::query(
        "DELETE FROM import_duplicates WHERE workspace_id = $1 AND import_id = $2"
    ).bind(workspace).bind(id).execute(c).await.map(|r| r.rows_affected()))?;
    sql!(tx.exec(), c => sqlx::query(
        "UPDATE imports SET status = 'queued', settings = $3, dry_run = $4, caller = $5, next_row = 1, created = 0, \
         updated = 0, unchanged = 0, rejected = 0, possible_duplicates = 0, error = NULL, started_at = NULL, finished_at = NULL, updated_at = $6 \
         WHERE workspace_id = $1 AND id = $2"
    ).bind(workspace).bind(id).bind(Json(settings.to_json())).bind(dry_run).bind(Json(caller)).bind(now)
     .execute(c).await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// Marks a queued (or, after a restart, running) import running; false when it was cancelled
/// or finished meanwhile.
pub(super) async fn set_running(tx: &mut Tx, workspace: WorkspaceId, id: i64, now: Timestamp) -> Result<bool, DbError> {
    let changed = sql!(tx.exec(), c => sqlx::query(
        "UPDATE imports SET status = 'running', started_at = COALESCE(started_at, $3), updated_at = $3 \
         WHERE workspace_id = $1 AND id = $2 AND status IN ('queued', 'running')"
    ).bind(workspace).bind(id).bind(now).execute(c).await.map(|r| r.rows_affected()))?;
    Ok(changed == 1)
}

/// Moves the run past a batch, only if it still stands where the batch began (`from`) and is
/// running: the check that makes two runners of one import, or a batch replayed after a crash,
/// write each row once. False when the batch must not be written.
pub(super) async fn advance(
    tx: &mut Tx,
    workspace: WorkspaceId,
    id: i64,
    (from, to): (i64, i64),
    (counts, duplicates): (Counts, i64),
    now: Timestamp,
) -> Result<bool, DbError> {
    let changed = sql!(tx.exec(), c => sqlx::query(
        "UPDATE imports SET next_row = $4, created = created + $5, updated = updated + $6, \
         unchanged = unchanged + $7, rejected = rejected + $8, possible_duplicates = possible_duplicates + $10, \
         updated_at = $9 WHERE workspace_id = $1 AND id = $2 AND next_row = $3 AND status = 'running'"
    ).bind(workspace).bind(id).bind(from).bind(to).bind(counts.created).bind(counts.updated).bind(counts.unchanged)
     .bind(counts.rejected).bind(now).bind(duplicates).execute(c).await.map(|r| r.rows_affected()))?;
    Ok(changed == 1)
}

/// Ends an import in one of the `from` states with `status`; `error` says why one failed.
pub(super) async fn finish(
    tx: &mut Tx,
    workspace: WorkspaceId,
    id: i64,
    (from, status, error): (&[Status], Status, Option<&str>),
    now: Timestamp,
) -> Result<bool, DbError> {
    let from: Vec<&str> = from.iter().map(|s| s.as_str()).collect();
    let changed = sql!(tx.exec(), c => {
        let mut update = sqlx::QueryBuilder::new("UPDATE imports SET status = ");
        update.push_bind(status.as_str()).push(", error = ").push_bind(error.map(str::to_owned))
            .push(", finished_at = ").push_bind(now).push(", updated_at = ").push_bind(now)
            .push(" WHERE workspace_id = ").push_bind(workspace).push(" AND id = ").push_bind(id)
            .push(" AND status IN (");
        let mut list = update.separated(", ");
        for state in &from {
            list.push_bind(*state);
        }
        update.push(")");
        update.build().execute(c).await.map(|r| r.rows_affected())
    })?;
    Ok(changed == 1)
}

/// A committed row's record, and what it was before the row changed it.
pub(super) struct Written {
    pub row: i64,
    pub record: i64,
    pub before: Option<Value>,
}

/// Rows per multi-row INSERT of the two per-row tables: well under both engines' limits of
/// bound values.
const PER_INSERT: usize = 1000;

pub(super) async fn record_rows(
    tx: &mut Tx,
    workspace: WorkspaceId,
    import: i64,
    written: &[Written],
) -> Result<(), DbError> {
    for chunk in written.chunks(PER_INSERT) {
        sql!(tx.exec(), c => {
            let mut insert = sqlx::QueryBuilder::new(
                "INSERT INTO import_records (workspace_id, import_id, row_number, record_id, action, before) ",
            );
            insert.push_values(chunk, |mut row, written| {
                row.push_bind(workspace)
                    .push_bind(import)
                    .push_bind(written.row)
                    .push_bind(written.record)
                    .push_bind(if written.before.is_some() { "updated" } else { "created" })
                    .push_bind(written.before.clone().map(Json));
            });
            insert.build().execute(c).await.map(|r| r.rows_affected())
        })?;
    }
    Ok(())
}

pub(super) async fn reject_rows(
    tx: &mut Tx,
    workspace: WorkspaceId,
    import: i64,
    rejections: &[Rejection],
) -> Result<(), DbError> {
    for chunk in rejections.chunks(PER_INSERT) {
        sql!(tx.exec(), c => {
            let mut insert = sqlx::QueryBuilder::new(
                "INSERT INTO import_rejections (workspace_id, import_id, row_number, column_name, reason) ",
            );
            insert.push_values(chunk, |mut row, rejection| {
                row.push_bind(workspace)
                    .push_bind(import)
                    .push_bind(rejection.row)
                    .push_bind(rejection.column.clone())
                    .push_bind(rejection.reason.clone());
            });
            insert.build().execute(c).await.map(|r| r.rows_affected())
        })?;
    }
    Ok(())
}

/// Rows per multi-row INSERT of duplicate warnings: eight values a row.
const WARNINGS_PER_INSERT: usize = 500;

pub(super) async fn record_duplicates(
    tx: &mut Tx,
    workspace: WorkspaceId,
    import: i64,
    warnings: &[DuplicateWarning],
) -> Result<(), DbError> {
    for chunk in warnings.chunks(WARNINGS_PER_INSERT) {
        sql!(tx.exec(), c => {
            let mut insert = sqlx::QueryBuilder::new(
                "INSERT INTO import_duplicates (workspace_id, import_id, row_number, duplicate_id, duplicate_row, \
                 duplicate_name, score, reasons) ",
            );
            insert.push_values(chunk, |mut row, warning| {
                let (person, earlier) = match warning.of {
                    DuplicateOf::Person(id) => (Some(id), None),
                    DuplicateOf::Row(row) => (None, Some(row)),
                };
                row.push_bind(workspace)
                    .push_bind(import)
                    .push_bind(warning.row)
                    .push_bind(person)
                    .push_bind(earlier)
                    .push_bind(warning.name.clone())
                    .push_bind(warning.score)
                    .push_bind(Json(warning.reasons.clone()));
            });
            insert.build().execute(c).await.map(|r| r.rows_affected())
        })?;
    }
    Ok(())
}

/// Up to `limit` duplicate warnings of rows after `after`, in row order.
pub(super) async fn duplicates(
    db: &Db,
    workspace: WorkspaceId,
    import: i64,
    after: i64,
    limit: i64,
) -> Result<Vec<DuplicateWarning>, DbError> {
    type Line = (i64, Option<i64>, Option<i64>, String, f64, Json<Vec<String>>);
    let rows: Vec<Line> = sql!(db.exec(), c => sqlx::query_as(
        "SELECT row_number, duplicate_id, duplicate_row, duplicate_name, score, reasons FROM import_duplicates \
         WHERE workspace_id = $1 AND import_id = $2 AND row_number > $3 ORDER BY row_number LIMIT $4"
    ).bind(workspace).bind(import).bind(after).bind(limit).fetch_all(c).await)?;
    Ok(rows
        .into_iter()
        .map(|(row, person, earlier, name, score, reasons)| DuplicateWarning {
            row,
            of: match (person, earlier) {
                (Some(id), _) => DuplicateOf::Person(id),
                (None, earlier) => DuplicateOf::Row(earlier.unwrap_or_default()),
            },
            name,
            score,
            reasons: reasons.0,
        })
        .collect())
}

/// Up to `limit` lines of the error report after line `after`, in row order.
pub(super) async fn rejections(
    db: &Db,
    workspace: WorkspaceId,
    import: i64,
    after: i64,
    limit: i64,
) -> Result<Vec<(i64, Rejection)>, DbError> {
    let rows: Vec<(i64, i64, String, String)> = sql!(db.exec(), c => sqlx::query_as(
        "SELECT id, row_number, column_name, reason FROM import_rejections \
         WHERE workspace_id = $1 AND import_id = $2 AND id > $3 ORDER BY id LIMIT $4"
    ).bind(workspace).bind(import).bind(after).bind(limit).fetch_all(c).await)?;
    Ok(rows.into_iter().map(|(id, row, column, reason)| (id, Rejection { row, column, reason })).collect())
}

/// The last `limit` committed rows' records, highest row first: an undo takes them back from
/// the end, and deletes each line once it has.
pub(super) async fn last_written(
    tx: &mut Tx,
    workspace: WorkspaceId,
    import: i64,
    limit: i64,
) -> Result<Vec<Written>, DbError> {
    let rows: Vec<(i64, i64, Option<Json<Value>>)> = sql!(tx.exec(), c => sqlx::query_as(
        "SELECT row_number, record_id, before FROM import_records WHERE workspace_id = $1 AND import_id = $2 \
         ORDER BY row_number DESC LIMIT $3"
    ).bind(workspace).bind(import).bind(limit).fetch_all(c).await)?;
    Ok(rows.into_iter().map(|(row, record, before)| Written { row, record, before: before.map(|b| b.0) }).collect())
}

pub(super) async fn forget_rows(
    tx: &mut Tx,
    workspace: WorkspaceId,
    import: i64,
    from_row: i64,
) -> Result<(), DbError> {
    sql!(tx.exec(), c => sqlx::query(
        "DELETE FROM import_records WHERE workspace_id = $1 AND import_id = $2 AND row_number >= $3"
    ).bind(workspace).bind(import).bind(from_row).execute(c).await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// Starts an undo of a finished import; false when it is not in a state that can be undone.
pub(super) async fn set_undoing(tx: &mut Tx, workspace: WorkspaceId, id: i64, now: Timestamp) -> Result<bool, DbError> {
    let changed = sql!(tx.exec(), c => sqlx::query(
        "UPDATE imports SET status = 'undoing', updated_at = $3 WHERE workspace_id = $1 AND id = $2 \
         AND dry_run = FALSE AND status IN ('done', 'cancelled', 'failed', 'undoing')"
    ).bind(workspace).bind(id).bind(now).execute(c).await.map(|r| r.rows_affected()))?;
    Ok(changed == 1)
}

pub(super) async fn save_template(
    tx: &mut Tx,
    workspace: WorkspaceId,
    (object, name): (Object, &str),
    mapping: &[Column],
    now: Timestamp,
) -> Result<(), DbError> {
    sql!(tx.exec(), c => sqlx::query(
        "INSERT INTO import_templates (workspace_id, object, name, mapping, created_at) VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (workspace_id, object, name) DO UPDATE SET mapping = excluded.mapping"
    ).bind(workspace).bind(object.as_str()).bind(name).bind(Json(mapping)).bind(now).execute(c).await.map(|r| r.rows_affected()))?;
    Ok(())
}

pub(super) async fn templates(
    db: &Db,
    workspace: WorkspaceId,
    object: Object,
) -> Result<Vec<(String, Vec<Column>)>, DbError> {
    let rows: Vec<(String, Json<Vec<Column>>)> = sql!(db.exec(), c => sqlx::query_as(
        "SELECT name, mapping FROM import_templates WHERE workspace_id = $1 AND object = $2 ORDER BY name"
    ).bind(workspace).bind(object.as_str()).fetch_all(c).await)?;
    Ok(rows.into_iter().map(|(name, mapping)| (name, mapping.0)).collect())
}
