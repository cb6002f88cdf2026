//! The worker: claims due jobs, runs their handlers with a heart-beating lease, and records the
//! outcome with retries and exponential backoff. It also reaps expired leases and drives the
//! outbox subscribers, so one `Worker` is all a process needs to do background work.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use futures::future::BoxFuture;
use rapport_core::{JobId, WorkspaceId};
use rapport_db::{Backend, Db};
use serde_json::Value;
use tokio::sync::Notify;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use crate::outbox::Subscribers;
use crate::scheduler::Scheduler;
use crate::store::{self, Finish};

/// What a handler receives: the job and a token that fires when the job must stop (shutdown
/// or a lost lease). Handlers must be idempotent: a job runs at least once.
#[derive(Clone)]
pub struct JobContext {
    pub db: Db,
    pub id: JobId,
    pub kind: String,
    pub payload: Value,
    pub workspace_id: Option<WorkspaceId>,
    /// 1 on the first run.
    pub attempt: i32,
    pub cancelled: CancellationToken,
}

pub type HandlerFn = Arc<dyn Fn(JobContext) -> BoxFuture<'static, anyhow::Result<()>> + Send + Sync>;

/// Handlers by job kind. Modules register theirs when the application is assembled.
#[derive(Clone, Default)]
pub struct Registry {
    handlers: HashMap<String, HandlerFn>,
}

impl Registry {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn handle<F, Fut>(mut self, kind: impl Into<String>, handler: F) -> Self
    where
        F: Fn(JobContext) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = anyhow::Result<()>> + Send + 'static,
    {
        self.handlers.insert(kind.into(), Arc::new(move |ctx| Box::pin(handler(ctx))));
        self
    }

    pub fn kinds(&self) -> impl Iterator<Item = &str> {
        self.handlers.keys().map(String::as_str)
    }
}

/// Delay before retry `attempt` (1-based): `base · 2^(attempt-1)`, capped, with ±20 % jitter so
/// that jobs failing together do not retry together.
#[derive(Clone, Copy, Debug)]
pub struct RetryPolicy {
    pub base: Duration,
    pub max: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self { base: Duration::from_secs(10), max: Duration::from_secs(3600) }
    }
}

impl RetryPolicy {
    pub fn delay(&self, attempt: i32) -> Duration {
        let exponent = u32::try_from(attempt.saturating_sub(1).clamp(0, 20)).unwrap_or(0);
        let raw = self.base.saturating_mul(2u32.saturating_pow(exponent)).min(self.max);
        let jitter = 0.8 + 0.4 * f64::from(uuid::Uuid::new_v4().as_bytes()[0]) / 255.0;
        raw.mul_f64(jitter)
    }
}

#[derive(Clone, Debug)]
pub struct WorkerConfig {
    pub queues: Vec<String>,
    /// Jobs run at once by this worker.
    pub concurrency: usize,
    /// A running job is re-queued this long after its worker's last heartbeat.
    pub lease: Duration,
    /// How often to look for due jobs when nothing wakes the worker.
    pub poll_interval: Duration,
    pub retry: RetryPolicy,
    /// How long shutdown waits for running jobs before abandoning them to lease expiry.
    pub drain_timeout: Duration,
}

impl Default for WorkerConfig {
    fn default() -> Self {
        Self {
            queues: vec!["default".into()],
            concurrency: 4,
            lease: Duration::from_secs(60),
            poll_interval: Duration::from_secs(1),
            retry: RetryPolicy::default(),
            drain_timeout: Duration::from_secs(30),
        }
    }
}

/// Wakes workers in this process when work was enqueued; on PostgreSQL other processes are
/// woken by `NOTIFY rapport_wake`, which enqueueing sends.
#[derive(Clone, Default)]
pub struct Waker(Arc<Notify>);

impl Waker {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn wake(&self) {
        self.0.notify_waiters();
    }

    pub(crate) async fn wait(&self, timeout: Duration) {
        // A missed wake-up costs at most one poll interval.
        let _ = tokio::time::timeout(timeout, self.0.notified()).await;
    }
}

pub struct Worker {
    db: Db,
    registry: Registry,
    subscribers: Subscribers,
    scheduler: Scheduler,
    config: WorkerConfig,
    waker: Waker,
    id: String,
}

impl Worker {
    pub fn new(db: Db, registry: Registry, config: WorkerConfig) -> Self {
        Self {
            db,
            registry,
            subscribers: Subscribers::default(),
            scheduler: Scheduler::default(),
            config,
            waker: Waker::new(),
            id: format!("{}-{}", hostname(), uuid::Uuid::new_v4().simple()),
        }
    }

    pub fn with_subscribers(mut self, subscribers: Subscribers) -> Self {
        self.subscribers = subscribers;
        self
    }

    pub fn with_scheduler(mut self, scheduler: Scheduler) -> Self {
        self.scheduler = scheduler;
        self
    }

    pub fn with_waker(mut self, waker: Waker) -> Self {
        self.waker = waker;
        self
    }

    pub fn id(&self) -> &str {
        &self.id
    }

    /// Runs until `shutdown` fires, then stops claiming and waits up to the drain timeout for
    /// running jobs. A job still running after that is abandoned: its lease expires and it runs
    /// again elsewhere.
    pub async fn run(self, shutdown: CancellationToken) {
        let worker = Arc::new(self);
        let mut tasks = JoinSet::new();
        let jobs_cancel = CancellationToken::new();
        if worker.db.backend() == Backend::Postgres {
            tasks.spawn(listen_postgres(worker.db.clone(), worker.waker.clone(), shutdown.clone()));
        }
        for _ in 0..worker.config.concurrency.max(1) {
            tasks.spawn(Arc::clone(&worker).run_slot(shutdown.clone(), jobs_cancel.clone()));
        }
        tasks.spawn(Arc::clone(&worker).run_reaper(shutdown.clone()));
        tasks.spawn(worker.scheduler.clone().run(worker.db.clone(), worker.waker.clone(), shutdown.clone()));
        tasks.spawn(worker.subscribers.clone().run(
            worker.db.clone(),
            worker.id.clone(),
            worker.waker.clone(),
            shutdown.clone(),
        ));

        shutdown.cancelled().await;
        let drained =
            tokio::time::timeout(worker.config.drain_timeout, async { while tasks.join_next().await.is_some() {} })
                .await;
        if drained.is_err() {
            tracing::warn!(worker = %worker.id, "jobs still running after the drain timeout; they will run again elsewhere");
            jobs_cancel.cancel();
            tasks.abort_all();
        }
    }

    async fn run_slot(self: Arc<Self>, shutdown: CancellationToken, jobs_cancel: CancellationToken) {
        while !shutdown.is_cancelled() {
            match self.run_one(&jobs_cancel).await {
                Ok(true) => continue,
                Ok(false) => {}
                Err(err) => tracing::error!(error = %err, "claiming a job failed"),
            }
            tokio::select! {
                () = shutdown.cancelled() => break,
                () = self.waker.wait(self.config.poll_interval) => {}
            }
        }
    }

    /// Claims and runs one due job; false when none was due.
    pub async fn run_one(&self, jobs_cancel: &CancellationToken) -> Result<bool, rapport_db::DbError> {
        let lease = chrono_duration(self.config.lease);
        let Some(claimed) = store::claim(&self.db, self.config.queues.clone(), self.id.clone(), lease).await? else {
            return Ok(false);
        };
        let span = tracing::info_span!("job", id = %claimed.id, kind = %claimed.kind, attempt = claimed.attempts);
        self.execute(claimed, jobs_cancel).instrument(span).await?;
        Ok(true)
    }

    async fn execute(
        &self,
        claimed: store::Claimed,
        jobs_cancel: &CancellationToken,
    ) -> Result<(), rapport_db::DbError> {
        let cancelled = jobs_cancel.child_token();
        let ctx = JobContext {
            db: self.db.clone(),
            id: claimed.id,
            kind: claimed.kind.clone(),
            payload: claimed.payload.0,
            workspace_id: claimed.workspace_id,
            attempt: claimed.attempts,
            cancelled: cancelled.clone(),
        };
        // Both tasks end with this future: a worker that is dropped mid-job (its task aborted)
        // must stop renewing the lease and stop the handler, or the job never runs elsewhere.
        let heartbeat = AbortOnDrop(tokio::spawn(heartbeat(
            self.db.clone(),
            claimed.id,
            self.id.clone(),
            self.config.lease,
            cancelled.clone(),
        )));
        let started = std::time::Instant::now();
        let result = match self.registry.handlers.get(&claimed.kind) {
            Some(handler) => {
                let mut run = AbortOnDrop(tokio::spawn(handler(ctx)));
                match (&mut run.0).await {
                    Ok(result) => result,
                    Err(join) => Err(anyhow::anyhow!("the job panicked: {join}")),
                }
            }
            None => Err(anyhow::anyhow!("no handler is registered for job kind {}", claimed.kind)),
        };
        drop(heartbeat);
        metrics::histogram!("rapport_job_duration_seconds", "kind" => claimed.kind.clone())
            .record(started.elapsed().as_secs_f64());
        let outcome = match result {
            Ok(()) => Finish::Done,
            Err(err) if claimed.attempts >= claimed.max_attempts => {
                tracing::error!(error = format!("{err:#}"), "job failed for the last time; moved to dead letters");
                Finish::Dead { error: format!("{err:#}") }
            }
            Err(err) => {
                let delay = self.config.retry.delay(claimed.attempts);
                tracing::warn!(
                    error = format!("{err:#}"),
                    retry_in_ms = delay.as_millis() as u64,
                    "job failed; will retry"
                );
                Finish::Retry { at: Utc::now() + chrono_duration(delay), error: format!("{err:#}") }
            }
        };
        let status = match outcome {
            Finish::Done => "done",
            Finish::Retry { .. } => "retry",
            Finish::Dead { .. } => "dead",
        };
        metrics::counter!("rapport_jobs_finished_total", "kind" => claimed.kind.clone(), "outcome" => status)
            .increment(1);
        if !store::finish(&self.db, claimed.id, self.id.clone(), outcome).await? {
            tracing::warn!("the job's lease was lost before it finished; its outcome is not recorded");
        }
        Ok(())
    }

    async fn run_reaper(self: Arc<Self>, shutdown: CancellationToken) {
        let every = (self.config.lease / 4).max(Duration::from_millis(100));
        loop {
            tokio::select! {
                () = shutdown.cancelled() => break,
                () = tokio::time::sleep(every) => {}
            }
            match store::reap_expired(&self.db).await {
                Ok(0) => {}
                Ok(reaped) => {
                    tracing::warn!(reaped, "re-queued jobs whose worker stopped");
                    self.waker.wake();
                }
                Err(err) => tracing::error!(error = %err, "reaping expired leases failed"),
            }
        }
    }
}

/// A spawned task that is aborted when this handle is dropped.
struct AbortOnDrop<T>(tokio::task::JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

async fn heartbeat(db: Db, id: JobId, worker: String, lease: Duration, cancelled: CancellationToken) {
    let every = (lease / 3).max(Duration::from_millis(50));
    loop {
        tokio::time::sleep(every).await;
        match store::heartbeat(&db, id, worker.clone(), chrono_duration(lease)).await {
            Ok(true) => {}
            Ok(false) => {
                tracing::warn!(job = %id, "lost the job's lease; cancelling it");
                cancelled.cancel();
                return;
            }
            Err(err) => tracing::error!(job = %id, error = %err, "heartbeat failed"),
        }
    }
}

/// Forwards PostgreSQL `NOTIFY rapport_wake` to this process's workers, reconnecting on failure.
async fn listen_postgres(db: Db, waker: Waker, shutdown: CancellationToken) {
    while !shutdown.is_cancelled() {
        let listener = db.listen("rapport_wake").await;
        let mut listener = match listener {
            Ok(listener) => listener,
            Err(err) => {
                tracing::warn!(error = %err, "cannot LISTEN for job notifications; polling only");
                tokio::select! {
                    () = shutdown.cancelled() => return,
                    () = tokio::time::sleep(Duration::from_secs(5)) => continue,
                }
            }
        };
        loop {
            tokio::select! {
                () = shutdown.cancelled() => return,
                notification = listener.recv() => match notification {
                    Ok(_) => waker.wake(),
                    Err(err) => {
                        tracing::warn!(error = %err, "job notification listener failed; reconnecting");
                        break;
                    }
                }
            }
        }
    }
}

pub(crate) fn chrono_duration(duration: Duration) -> chrono::Duration {
    chrono::Duration::from_std(duration).unwrap_or(chrono::Duration::MAX)
}

fn hostname() -> String {
    std::env::var("HOSTNAME")
        .ok()
        .or_else(|| std::fs::read_to_string("/etc/hostname").ok().map(|h| h.trim().to_string()))
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "rapport".into())
}
