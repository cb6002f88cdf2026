//! Helpers shared by the jobs tests: the engine under test, waiting with a deadline, and
//! enqueueing and finding jobs through the crate's public functions.

use std::time::Duration;

use chrono::Utc;
use rapport_core::{JobId, WorkspaceId};
use rapport_db::{Db, DbError, sql};
use rapport_jobs::{JobRow, JobStatus, NewJob, RetryPolicy, WorkerConfig, enqueue, list_jobs};

pub use rapport_test_db::skip_unless;

/// Polls `check` until it holds, failing the test after 10 seconds.
pub async fn eventually<F, Fut>(what: &str, check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    rapport_test_db::eventually(what, Duration::from_secs(10), check).await;
}

/// A worker that notices work quickly and retries after milliseconds rather than seconds.
pub fn quick_worker_config() -> WorkerConfig {
    WorkerConfig {
        poll_interval: Duration::from_millis(20),
        retry: RetryPolicy { base: Duration::from_millis(10), max: Duration::from_millis(50) },
        ..WorkerConfig::default()
    }
}

/// Enqueues `job` in a write of its own.
pub async fn enqueue_job(db: &Db, job: NewJob) -> Option<JobId> {
    db.write(move |tx| Box::pin(async move { enqueue(tx, &job).await })).await.expect("the enqueueing write commits")
}

/// The job `id` as admins see it, whatever its status.
pub async fn find_job(db: &Db, id: JobId) -> Option<JobRow> {
    for status in [JobStatus::Queued, JobStatus::Running, JobStatus::Done, JobStatus::Dead] {
        let jobs = list_jobs(db, status, 10_000).await.expect("jobs can be listed");
        if let Some(job) = jobs.into_iter().find(|job| job.id == id) {
            return Some(job);
        }
    }
    None
}

pub async fn job_status(db: &Db, id: JobId) -> Option<String> {
    find_job(db, id).await.map(|job| job.status)
}

pub async fn create_workspace(db: &Db) -> WorkspaceId {
    db.write(|tx| {
        Box::pin(async move {
            let id: WorkspaceId = sql!(tx.exec(), c => sqlx::query_scalar(
                "INSERT INTO workspaces (name, created_at) VALUES ('Acme', $1) RETURNING id"
            ).bind(Utc::now()).fetch_one(c).await)?;
            Ok::<_, DbError>(id)
        })
    })
    .await
    .expect("the workspace is created")
}
