//! The activity module's SQL: notes and tasks. Every statement is scoped by `workspace_id`.

use rapport_core::{Timestamp, UserId, WorkspaceId};
use rapport_db::{Db, DbError, Tx, sql};

use super::model::{Note, Target, Task, TaskFields};

#[derive(sqlx::FromRow)]
struct NoteRow {
    id: i64,
    target_type: String,
    target_id: i64,
    body: String,
    author_id: Option<UserId>,
    created_at: Timestamp,
    updated_at: Timestamp,
}

impl NoteRow {
    fn into_note(self) -> Option<Note> {
        Some(Note {
            id: self.id,
            target: Target::parse(&self.target_type, self.target_id)?,
            body: self.body,
            author_id: self.author_id,
            created_at: self.created_at,
            updated_at: self.updated_at,
        })
    }
}

const NOTE_COLUMNS: &str = "id, target_type, target_id, body, author_id, created_at, updated_at";

pub(super) async fn insert_note(
    tx: &mut Tx,
    workspace: WorkspaceId,
    target: Target,
    body: &str,
    author: Option<UserId>,
    now: Timestamp,
) -> Result<i64, DbError> {
    let id = sql!(tx.exec(), c => sqlx::query_scalar(
        "INSERT INTO notes (workspace_id, target_type, target_id, body, author_id, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $6) RETURNING id"
    ).bind(workspace).bind(target.entity()).bind(target.id()).bind(body).bind(author).bind(now).fetch_one(c).await)?;
    Ok(id)
}

pub(super) async fn find_note(tx: &mut Tx, workspace: WorkspaceId, id: i64) -> Result<Option<Note>, DbError> {
    let sql = format!("SELECT {NOTE_COLUMNS} FROM notes WHERE workspace_id = $1 AND id = $2");
    let row: Option<NoteRow> = sql!(tx.exec(), c => sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
        .bind(workspace).bind(id).fetch_optional(c).await)?;
    Ok(row.and_then(NoteRow::into_note))
}

pub(super) async fn note_of(db: &Db, workspace: WorkspaceId, id: i64) -> Result<Option<Note>, DbError> {
    let sql = format!("SELECT {NOTE_COLUMNS} FROM notes WHERE workspace_id = $1 AND id = $2");
    let row: Option<NoteRow> = sql!(db.exec(), c => sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
        .bind(workspace).bind(id).fetch_optional(c).await)?;
    Ok(row.and_then(NoteRow::into_note))
}

pub(super) async fn update_note(
    tx: &mut Tx,
    workspace: WorkspaceId,
    id: i64,
    body: &str,
    now: Timestamp,
) -> Result<(), DbError> {
    sql!(tx.exec(), c => sqlx::query("UPDATE notes SET body = $3, updated_at = $4 WHERE workspace_id = $1 AND id = $2")
        .bind(workspace).bind(id).bind(body).bind(now).execute(c).await.map(|r| r.rows_affected()))?;
    Ok(())
}

pub(super) async fn delete_note(tx: &mut Tx, workspace: WorkspaceId, id: i64) -> Result<(), DbError> {
    sql!(tx.exec(), c => sqlx::query("DELETE FROM notes WHERE workspace_id = $1 AND id = $2")
        .bind(workspace).bind(id).execute(c).await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// A record's notes, newest first, before the cursor id.
pub(super) async fn notes(
    db: &Db,
    workspace: WorkspaceId,
    target: Target,
    before: Option<i64>,
    limit: i64,
) -> Result<Vec<Note>, DbError> {
    let sql = format!(
        "SELECT {NOTE_COLUMNS} FROM notes WHERE workspace_id = $1 AND target_type = $2 AND target_id = $3 \
         AND ($4 IS NULL OR id < $4) ORDER BY id DESC LIMIT $5"
    );
    let rows: Vec<NoteRow> = sql!(db.exec(), c => sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
        .bind(workspace).bind(target.entity()).bind(target.id()).bind(before).bind(limit).fetch_all(c).await)?;
    Ok(rows.into_iter().filter_map(NoteRow::into_note).collect())
}

#[derive(sqlx::FromRow)]
struct TaskRow {
    id: i64,
    target_type: Option<String>,
    target_id: Option<i64>,
    title: String,
    due_at: Option<Timestamp>,
    assignee_id: Option<UserId>,
    remind_at: Option<Timestamp>,
    reminded_at: Option<Timestamp>,
    done_at: Option<Timestamp>,
    created_by: Option<UserId>,
    created_at: Timestamp,
    updated_at: Timestamp,
}

impl From<TaskRow> for Task {
    fn from(row: TaskRow) -> Self {
        Self {
            id: row.id,
            target: row.target_type.zip(row.target_id).and_then(|(kind, id)| Target::parse(&kind, id)),
            title: row.title,
            due_at: row.due_at,
            assignee: row.assignee_id,
            remind_at: row.remind_at,
            reminded_at: row.reminded_at,
            done_at: row.done_at,
            created_by: row.created_by,
            created_at: row.created_at,
            updated_at: row.updated_at,
        }
    }
}

const TASK_COLUMNS: &str = "id, target_type, target_id, title, due_at, assignee_id, remind_at, reminded_at, done_at, \
     created_by, created_at, updated_at";

pub(super) async fn insert_task(
    tx: &mut Tx,
    workspace: WorkspaceId,
    target: Option<Target>,
    fields: &TaskFields,
    created_by: Option<UserId>,
    now: Timestamp,
) -> Result<i64, DbError> {
    let done_at = fields.done.then_some(now);
    let id = sql!(tx.exec(), c => sqlx::query_scalar(
        "INSERT INTO tasks (workspace_id, target_type, target_id, title, due_at, assignee_id, remind_at, done_at, \
         created_by, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10) RETURNING id"
    )
    .bind(workspace).bind(target.map(Target::entity)).bind(target.map(Target::id)).bind(&fields.title)
    .bind(fields.due_at).bind(fields.assignee).bind(fields.remind_at).bind(done_at).bind(created_by).bind(now)
    .fetch_one(c).await)?;
    Ok(id)
}

pub(super) async fn find_task(tx: &mut Tx, workspace: WorkspaceId, id: i64) -> Result<Option<Task>, DbError> {
    let sql = format!("SELECT {TASK_COLUMNS} FROM tasks WHERE workspace_id = $1 AND id = $2");
    let row: Option<TaskRow> = sql!(tx.exec(), c => sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
        .bind(workspace).bind(id).fetch_optional(c).await)?;
    Ok(row.map(Task::from))
}

pub(super) async fn task_of(db: &Db, workspace: WorkspaceId, id: i64) -> Result<Option<Task>, DbError> {
    let sql = format!("SELECT {TASK_COLUMNS} FROM tasks WHERE workspace_id = $1 AND id = $2");
    let row: Option<TaskRow> = sql!(db.exec(), c => sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
        .bind(workspace).bind(id).fetch_optional(c).await)?;
    Ok(row.map(Task::from))
}

/// Writes a task's fields; a changed reminder time makes the reminder due again, and `done`
/// keeps the first time it was done.
pub(super) async fn update_task(
    tx: &mut Tx,
    workspace: WorkspaceId,
    id: i64,
    fields: &TaskFields,
    now: Timestamp,
) -> Result<(), DbError> {
    sql!(tx.exec(), c => sqlx::query(
        "UPDATE tasks SET title = $3, due_at = $4, assignee_id = $5, \
         reminded_at = CASE WHEN remind_at IS NOT DISTINCT FROM $6 THEN reminded_at ELSE NULL END, remind_at = $6, \
         done_at = CASE WHEN $7 THEN COALESCE(done_at, $8) ELSE NULL END, updated_at = $8 \
         WHERE workspace_id = $1 AND id = $2"
    )
    .bind(workspace).bind(id).bind(&fields.title).bind(fields.due_at).bind(fields.assignee).bind(fields.remind_at)
    .bind(fields.done).bind(now).execute(c).await.map(|r| r.rows_affected()))?;
    Ok(())
}

pub(super) async fn delete_task(tx: &mut Tx, workspace: WorkspaceId, id: i64) -> Result<(), DbError> {
    sql!(tx.exec(), c => sqlx::query("DELETE FROM tasks WHERE workspace_id = $1 AND id = $2")
        .bind(workspace).bind(id).execute(c).await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// Marks the reminder sent if it is still due as planned (`remind_at` unchanged, not sent,
/// not done); answers whether this call did.
pub(super) async fn claim_reminder(
    tx: &mut Tx,
    workspace: WorkspaceId,
    id: i64,
    remind_at: Timestamp,
    now: Timestamp,
) -> Result<bool, DbError> {
    let n = sql!(tx.exec(), c => sqlx::query(
        "UPDATE tasks SET reminded_at = $4 WHERE workspace_id = $1 AND id = $2 AND remind_at = $3 \
         AND reminded_at IS NULL AND done_at IS NULL AND assignee_id IS NOT NULL"
    ).bind(workspace).bind(id).bind(remind_at).bind(now).execute(c).await.map(|r| r.rows_affected()))?;
    Ok(n == 1)
}

/// Which tasks a list shows.
pub(super) struct TaskFilter {
    pub target: Option<Target>,
    pub assignee: Option<UserId>,
    pub open_only: bool,
}

/// Matching tasks, open ones by due time (no due time last), then done ones newest first.
pub(super) async fn tasks(
    db: &Db,
    workspace: WorkspaceId,
    filter: &TaskFilter,
    limit: i64,
) -> Result<Vec<Task>, DbError> {
    let sql = format!(
        "SELECT {TASK_COLUMNS} FROM tasks WHERE workspace_id = $1 \
         AND ($2 IS NULL OR (target_type = $2 AND target_id = $3)) AND ($4 IS NULL OR assignee_id = $4) \
         AND (NOT $5 OR done_at IS NULL) \
         ORDER BY done_at IS NOT NULL, due_at IS NULL, due_at, done_at DESC, id DESC LIMIT $6"
    );
    let target = filter.target;
    let rows: Vec<TaskRow> = sql!(db.exec(), c => sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
        .bind(workspace).bind(target.map(Target::entity)).bind(target.map(Target::id)).bind(filter.assignee)
        .bind(filter.open_only).bind(limit).fetch_all(c).await)?;
    Ok(rows.into_iter().map(Task::from).collect())
}

/// Removes every note and task of a purged record.
pub(super) async fn delete_of(tx: &mut Tx, workspace: WorkspaceId, target: Target) -> Result<(), DbError> {
    for table in ["notes", "tasks"] {
        let sql = format!("DELETE FROM {table} WHERE workspace_id = $1 AND target_type = $2 AND target_id = $3");
        sql!(tx.exec(), c => sqlx::query(sqlx::AssertSqlSafe(sql.clone()))
            .bind(workspace).bind(target.entity()).bind(target.id()).execute(c).await.map(|r| r.rows_affected()))?;
    }
    Ok(())
}

/// The tables whose rows a record's merge moves.
pub(super) const MOVABLE: [&str; 2] = ["notes", "tasks"];

/// Moves a table's rows (one of [`MOVABLE`]) from one record to another, only those named in
/// `only` when given; answers the ids moved.
pub(super) async fn reassign(
    tx: &mut Tx,
    workspace: WorkspaceId,
    table: &'static str,
    (from, to): (Target, Target),
    only: Option<&[i64]>,
) -> Result<Vec<i64>, DbError> {
    if only.is_some_and(<[i64]>::is_empty) {
        return Ok(Vec::new());
    }
    let moved = sql!(tx.exec(), c => {
        let mut update = sqlx::QueryBuilder::new(format!("UPDATE {table} SET target_type = "));
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
