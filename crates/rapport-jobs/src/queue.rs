//! What a job is and how one is enqueued, inspected and retried.

use rapport_core::{JobId, Timestamp, WorkspaceId};
use rapport_db::{Db, DbError, Tx};
use serde_json::Value;

/// A job to enqueue. Built with [`NewJob::new`] and refined with the builder methods.
#[derive(Clone, Debug)]
pub struct NewJob {
    pub(crate) queue: String,
    pub(crate) kind: String,
    pub(crate) payload: Value,
    pub(crate) workspace_id: Option<WorkspaceId>,
    pub(crate) priority: i32,
    pub(crate) max_attempts: i32,
    pub(crate) run_at: Option<Timestamp>,
    pub(crate) dedupe_key: Option<String>,
}

impl NewJob {
    /// A job of `kind` on the `default` queue, due now, with five attempts.
    pub fn new(kind: impl Into<String>, payload: Value) -> Self {
        Self {
            queue: "default".into(),
            kind: kind.into(),
            payload,
            workspace_id: None,
            priority: 0,
            max_attempts: 5,
            run_at: None,
            dedupe_key: None,
        }
    }

    pub fn queue(mut self, queue: impl Into<String>) -> Self {
        self.queue = queue.into();
        self
    }

    pub fn workspace(mut self, workspace: WorkspaceId) -> Self {
        self.workspace_id = Some(workspace);
        self
    }

    /// Higher runs first among due jobs of a queue.
    pub fn priority(mut self, priority: i32) -> Self {
        self.priority = priority;
        self
    }

    pub fn max_attempts(mut self, attempts: i32) -> Self {
        self.max_attempts = attempts.max(1);
        self
    }

    pub fn run_at(mut self, at: Timestamp) -> Self {
        self.run_at = Some(at);
        self
    }

    /// While a job with this key is queued or running, enqueueing another is a no-op.
    pub fn dedupe(mut self, key: impl Into<String>) -> Self {
        self.dedupe_key = Some(key.into());
        self
    }
}

/// Enqueues `job` in the caller's transaction: it exists only if that transaction commits.
/// Returns `None` when an identical dedupe key is already queued or running.
pub async fn enqueue(tx: &mut Tx, job: &NewJob) -> Result<Option<JobId>, DbError> {
    crate::store::insert_job(tx, job).await
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JobStatus {
    Queued,
    Running,
    Done,
    Dead,
}

impl JobStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Running => "running",
            Self::Done => "done",
            Self::Dead => "dead",
        }
    }
}

/// A job as admins see it.
#[derive(Clone, Debug, sqlx::FromRow, serde::Serialize)]
pub struct JobRow {
    pub id: JobId,
    pub queue: String,
    pub kind: String,
    pub status: String,
    pub attempts: i32,
    pub max_attempts: i32,
    pub run_at: Timestamp,
    pub last_error: Option<String>,
    pub updated_at: Timestamp,
}

pub async fn list_jobs(db: &Db, status: JobStatus, limit: i64) -> Result<Vec<JobRow>, DbError> {
    crate::store::list_jobs(db, status.as_str(), limit).await
}

/// Puts a dead job back in its queue with fresh attempts; false if it was not dead.
pub async fn retry_dead_job(db: &Db, id: JobId) -> Result<bool, DbError> {
    db.write(move |tx| Box::pin(async move { crate::store::requeue_dead(tx, id).await })).await
}

/// Jobs per queue and status, for `/metrics`.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct QueueDepth {
    pub queue: String,
    pub status: String,
    pub jobs: i64,
}

pub async fn queue_depths(db: &Db) -> Result<Vec<QueueDepth>, DbError> {
    crate::store::queue_depths(db).await
}
