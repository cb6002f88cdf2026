//! The only SQL of the jobs crate: the jobs table, schedule slots, outbox and subscriber
//! positions.

use chrono::Utc;
use rapport_core::{JobId, Timestamp, WorkspaceId};
use rapport_db::{Backend, Db, DbError, Tx, sql};
use serde_json::Value;
use sqlx::types::Json;

use crate::outbox::{DomainEvent, NewDomainEvent};
use crate::queue::{JobRow, NewJob, QueueDepth};

/// Inserts a job unless one with the same dedupe key is queued or running.
pub(crate) async fn insert_job(tx: &mut Tx, job: &NewJob) -> Result<Option<JobId>, DbError> {
    let now = Utc::now();
    let id: Option<JobId> = sql!(tx.exec(), c => sqlx::query_scalar(
        "INSERT INTO jobs (queue, kind, payload, workspace_id, priority, status, attempts, max_attempts,
                           run_at, dedupe_key, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, 'queued', 0, $6, $7, $8, $9, $9)
         ON CONFLICT (dedupe_key) WHERE status IN ('queued', 'running') DO NOTHING
         RETURNING id"
    )
    .bind(&job.queue)
    .bind(&job.kind)
    .bind(Json(&job.payload))
    .bind(job.workspace_id)
    .bind(job.priority)
    .bind(job.max_attempts)
    .bind(job.run_at.unwrap_or(now))
    .bind(&job.dedupe_key)
    .bind(now)
    .fetch_optional(c).await)?;
    if tx.backend() == Backend::Postgres {
        sql!(tx.exec(), c => sqlx::query("SELECT pg_notify('rapport_wake', $1)").bind(&job.queue).execute(c).await.map(|r| r.rows_affected()))?;
    }
    Ok(id)
}

#[derive(sqlx::FromRow)]
pub(crate) struct Claimed {
    pub id: JobId,
    pub kind: String,
    pub payload: Json<Value>,
    pub workspace_id: Option<WorkspaceId>,
    pub attempts: i32,
    pub max_attempts: i32,
}

/// Leases the most urgent due job of `queues` to `worker`. PostgreSQL skips rows another
/// instance is claiming; SQLite's single writer serialises claims by itself.
pub(crate) async fn claim(
    db: &Db,
    queues: Vec<String>,
    worker: String,
    lease: chrono::Duration,
) -> Result<Option<Claimed>, DbError> {
    db.write(move |tx| {
        Box::pin(async move {
            let now = Utc::now();
            let queues = Json(queues);
            let lock = match tx.backend() {
                Backend::Postgres => "FOR UPDATE SKIP LOCKED",
                Backend::Sqlite => "",
            };
            let statement = format!(
                "UPDATE jobs SET status = 'running', attempts = attempts + 1, locked_by = $1,
                        lease_expires_at = $2, updated_at = $3
                 WHERE id = (
                     SELECT id FROM jobs
                     WHERE status = 'queued' AND run_at <= $3
                       AND queue IN (SELECT value FROM {list})
                     ORDER BY priority DESC, run_at, id
                     LIMIT 1 {lock})
                 RETURNING id, kind, payload, workspace_id, attempts, max_attempts",
                list = json_text_list(tx.backend(), 4),
            );
            let claimed = sql!(tx.exec(), c => sqlx::query_as::<_, Claimed>(sqlx::AssertSqlSafe(statement.clone()))
                .bind(&worker)
                .bind(now + lease)
                .bind(now)
                .bind(&queues)
                .fetch_optional(c).await)?;
            Ok(claimed)
        })
    })
    .await
}

/// A set-returning expression over a JSON array of strings bound at `$n`.
fn json_text_list(backend: Backend, n: usize) -> String {
    match backend {
        Backend::Sqlite => format!("json_each(${n})"),
        Backend::Postgres => format!("jsonb_array_elements_text(${n}::jsonb) AS t(value)"),
    }
}

/// Extends a lease; false when the lease was lost (expired and taken by another worker).
pub(crate) async fn heartbeat(db: &Db, id: JobId, worker: String, lease: chrono::Duration) -> Result<bool, DbError> {
    db.write(move |tx| {
        Box::pin(async move {
            let now = Utc::now();
            let changed = sql!(tx.exec(), c => sqlx::query(
                "UPDATE jobs SET lease_expires_at = $1, updated_at = $2
                 WHERE id = $3 AND status = 'running' AND locked_by = $4"
            ).bind(now + lease).bind(now).bind(id).bind(&worker).execute(c).await.map(|r| r.rows_affected()))?;
            Ok(changed == 1)
        })
    })
    .await
}

pub(crate) enum Finish {
    Done,
    Retry { at: Timestamp, error: String },
    Dead { error: String },
}

/// Records a job's outcome if `worker` still holds its lease; false when it did not.
pub(crate) async fn finish(db: &Db, id: JobId, worker: String, outcome: Finish) -> Result<bool, DbError> {
    db.write(move |tx| {
        Box::pin(async move {
            let now = Utc::now();
            let (status, run_at, error, finished) = match outcome {
                Finish::Done => ("done", None, None, Some(now)),
                Finish::Retry { at, error } => ("queued", Some(at), Some(error), None),
                Finish::Dead { error } => ("dead", None, Some(error), Some(now)),
            };
            let changed = sql!(tx.exec(), c => sqlx::query(
                "UPDATE jobs SET status = $1, run_at = COALESCE($2, run_at), last_error = COALESCE($3, last_error),
                        finished_at = $4, locked_by = NULL, lease_expires_at = NULL, updated_at = $5
                 WHERE id = $6 AND status = 'running' AND locked_by = $7"
            ).bind(status).bind(run_at).bind(error).bind(finished).bind(now).bind(id).bind(&worker)
             .execute(c).await.map(|r| r.rows_affected()))?;
            Ok(changed == 1)
        })
    })
    .await
}

/// Returns jobs whose worker stopped heart-beating to the queue (or to the dead letters when
/// they have used every attempt). Returns how many were reaped.
pub(crate) async fn reap_expired(db: &Db) -> Result<u64, DbError> {
    db.write(|tx| {
        Box::pin(async move {
            let now = Utc::now();
            let reaped = sql!(tx.exec(), c => sqlx::query(
                "UPDATE jobs SET
                    status = CASE WHEN attempts >= max_attempts THEN 'dead' ELSE 'queued' END,
                    finished_at = CASE WHEN attempts >= max_attempts THEN $1 ELSE NULL END,
                    last_error = 'the worker stopped before finishing (lease expired)',
                    locked_by = NULL, lease_expires_at = NULL, updated_at = $1
                 WHERE status = 'running' AND lease_expires_at < $1"
            ).bind(now).execute(c).await.map(|r| r.rows_affected()))?;
            Ok(reaped)
        })
    })
    .await
}

pub(crate) async fn queue_depths(db: &Db) -> Result<Vec<QueueDepth>, DbError> {
    let rows = sql!(db.exec(), c => sqlx::query_as::<_, QueueDepth>(
        "SELECT queue, status, count(*) AS jobs FROM jobs
         WHERE status IN ('queued', 'running', 'dead') GROUP BY queue, status ORDER BY queue, status"
    ).fetch_all(c).await)?;
    Ok(rows)
}

pub(crate) async fn list_jobs(db: &Db, status: &str, limit: i64) -> Result<Vec<JobRow>, DbError> {
    let rows = sql!(db.exec(), c => sqlx::query_as::<_, JobRow>(
        "SELECT id, queue, kind, status, attempts, max_attempts, run_at, last_error, updated_at
         FROM jobs WHERE status = $1 ORDER BY updated_at DESC, id DESC LIMIT $2"
    ).bind(status).bind(limit).fetch_all(c).await)?;
    Ok(rows)
}

pub(crate) async fn requeue_dead(tx: &mut Tx, id: JobId) -> Result<bool, DbError> {
    let now = Utc::now();
    let changed = sql!(tx.exec(), c => sqlx::query(
        "UPDATE jobs SET status = 'queued', attempts = 0, run_at = $1, finished_at = NULL, updated_at = $1
         WHERE id = $2 AND status = 'dead'"
    ).bind(now).bind(id).execute(c).await.map(|r| r.rows_affected()))?;
    Ok(changed == 1)
}

/// Claims the slot `slot` of the recurring job `name`; true for exactly one caller per slot.
pub(crate) async fn claim_slot(tx: &mut Tx, name: &str, slot: Timestamp) -> Result<bool, DbError> {
    let inserted = sql!(tx.exec(), c => sqlx::query(
        "INSERT INTO schedule_slots (name, slot, job_id) VALUES ($1, $2, 0) ON CONFLICT DO NOTHING"
    ).bind(name).bind(slot).execute(c).await.map(|r| r.rows_affected()))?;
    Ok(inserted == 1)
}

pub(crate) async fn set_slot_job(tx: &mut Tx, name: &str, slot: Timestamp, job: JobId) -> Result<(), DbError> {
    sql!(tx.exec(), c => sqlx::query("UPDATE schedule_slots SET job_id = $1 WHERE name = $2 AND slot = $3")
        .bind(job).bind(name).bind(slot).execute(c).await.map(|r| r.rows_affected()))?;
    Ok(())
}

pub(crate) async fn insert_event(tx: &mut Tx, event: &NewDomainEvent) -> Result<(), DbError> {
    sql!(tx.exec(), c => sqlx::query(
        "INSERT INTO domain_events (workspace_id, kind, entity_type, entity_id, payload, actor, request_id, occurred_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
    )
    .bind(event.workspace_id)
    .bind(&event.kind)
    .bind(&event.entity_type)
    .bind(event.entity_id)
    .bind(Json(&event.payload))
    .bind(&event.actor)
    .bind(&event.request_id)
    .bind(Utc::now())
    .execute(c).await.map(|r| r.rows_affected()))?;
    if tx.backend() == Backend::Postgres {
        sql!(tx.exec(), c => sqlx::query("SELECT pg_notify('rapport_wake', 'events')").execute(c).await.map(|r| r.rows_affected()))?;
    }
    Ok(())
}

/// Rows per multi-row insert of [`insert_events`]: 8 values a row.
const EVENTS_PER_INSERT: usize = 1000;

pub(crate) async fn insert_events(tx: &mut Tx, events: &[NewDomainEvent]) -> Result<(), DbError> {
    if events.is_empty() {
        return Ok(());
    }
    let now = Utc::now();
    for chunk in events.chunks(EVENTS_PER_INSERT) {
        sql!(tx.exec(), c => {
            let mut insert = sqlx::QueryBuilder::new(
                "INSERT INTO domain_events (workspace_id, kind, entity_type, entity_id, payload, actor, request_id, occurred_at) ",
            );
            insert.push_values(chunk, |mut row, event| {
                row.push_bind(event.workspace_id)
                    .push_bind(event.kind.clone())
                    .push_bind(event.entity_type.clone())
                    .push_bind(event.entity_id)
                    .push_bind(Json(event.payload.clone()))
                    .push_bind(event.actor.clone())
                    .push_bind(event.request_id.clone())
                    .push_bind(now);
            });
            insert.build().execute(c).await.map(|r| r.rows_affected())
        })?;
    }
    if tx.backend() == Backend::Postgres {
        sql!(tx.exec(), c => sqlx::query("SELECT pg_notify('rapport_wake', 'events')").execute(c).await.map(|r| r.rows_affected()))?;
    }
    Ok(())
}

/// Takes (or renews) the delivery lease of `subscriber` and returns its position, or `None`
/// when another instance holds the lease.
pub(crate) async fn lease_subscriber(
    db: &Db,
    subscriber: String,
    worker: String,
    lease: chrono::Duration,
) -> Result<Option<(i64, i64)>, DbError> {
    db.write(move |tx| {
        Box::pin(async move {
            let now = Utc::now();
            sql!(tx.exec(), c => sqlx::query(
                "INSERT INTO subscriber_positions (subscriber, xact_id, event_id, updated_at)
                 VALUES ($1, 0, 0, $2) ON CONFLICT (subscriber) DO NOTHING"
            ).bind(&subscriber).bind(now).execute(c).await.map(|r| r.rows_affected()))?;
            let position: Option<(i64, i64)> = sql!(tx.exec(), c => sqlx::query_as(
                "UPDATE subscriber_positions SET leased_by = $1, lease_expires_at = $2
                 WHERE subscriber = $3 AND (leased_by IS NULL OR leased_by = $1 OR lease_expires_at < $4)
                 RETURNING xact_id, event_id"
            ).bind(&worker).bind(now + lease).bind(&subscriber).bind(now).fetch_optional(c).await)?;
            Ok(position)
        })
    })
    .await
}

/// Events after `position` that can no longer be overtaken by a transaction still running.
pub(crate) async fn events_after(db: &Db, position: (i64, i64), limit: i64) -> Result<Vec<DomainEvent>, DbError> {
    let horizon = match db.backend() {
        Backend::Sqlite => "",
        Backend::Postgres => "AND xact_id < pg_snapshot_xmin(pg_current_snapshot())::text::bigint",
    };
    let statement = format!(
        "SELECT id, workspace_id, kind, entity_type, entity_id, payload, actor, request_id, occurred_at, xact_id
         FROM domain_events
         WHERE (xact_id > $1 OR (xact_id = $1 AND id > $2)) {horizon}
         ORDER BY xact_id, id LIMIT $3"
    );
    let rows = sql!(db.exec(), c => sqlx::query_as::<_, DomainEvent>(sqlx::AssertSqlSafe(statement.clone()))
        .bind(position.0).bind(position.1).bind(limit).fetch_all(c).await)?;
    Ok(rows)
}

/// Moves the subscriber past the events it handled, provided it still holds the lease.
pub(crate) async fn advance_subscriber(
    db: &Db,
    subscriber: String,
    worker: String,
    position: (i64, i64),
    error: Option<String>,
) -> Result<bool, DbError> {
    db.write(move |tx| {
        Box::pin(async move {
            let now = Utc::now();
            let changed = sql!(tx.exec(), c => sqlx::query(
                "UPDATE subscriber_positions SET xact_id = $1, event_id = $2, last_error = $3, updated_at = $4
                 WHERE subscriber = $5 AND leased_by = $6"
            ).bind(position.0).bind(position.1).bind(error).bind(now).bind(&subscriber).bind(&worker)
             .execute(c).await.map(|r| r.rows_affected()))?;
            Ok(changed == 1)
        })
    })
    .await
}

pub(crate) async fn release_subscriber(db: &Db, subscriber: String, worker: String) -> Result<(), DbError> {
    db.write(move |tx| {
        Box::pin(async move {
            sql!(tx.exec(), c => sqlx::query(
                "UPDATE subscriber_positions SET leased_by = NULL, lease_expires_at = NULL WHERE subscriber = $1 AND leased_by = $2"
            ).bind(&subscriber).bind(&worker).execute(c).await.map(|r| r.rows_affected()))?;
            Ok(())
        })
    })
    .await
}

#[derive(sqlx::FromRow)]
pub(crate) struct PositionRow {
    pub subscriber: String,
    pub event_id: i64,
    pub last_error: Option<String>,
    pub updated_at: Timestamp,
}

pub(crate) async fn subscriber_positions(db: &Db) -> Result<Vec<PositionRow>, DbError> {
    let rows = sql!(db.exec(), c => sqlx::query_as::<_, PositionRow>(
        "SELECT subscriber, event_id, last_error, updated_at FROM subscriber_positions ORDER BY subscriber"
    ).fetch_all(c).await)?;
    Ok(rows)
}

/// Deletes finished jobs and spent schedule slots older than `before`; dead letters stay until
/// an admin retries them.
pub(crate) async fn prune(db: &Db, before: Timestamp) -> Result<u64, DbError> {
    db.write(move |tx| {
        Box::pin(async move {
            let jobs = sql!(tx.exec(), c => sqlx::query("DELETE FROM jobs WHERE status = 'done' AND finished_at < $1")
                .bind(before).execute(c).await.map(|r| r.rows_affected()))?;
            let slots = sql!(tx.exec(), c => sqlx::query("DELETE FROM schedule_slots WHERE slot < $1")
                .bind(before).execute(c).await.map(|r| r.rows_affected()))?;
            Ok(jobs + slots)
        })
    })
    .await
}
