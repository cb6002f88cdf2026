//! The transactional outbox. A change records its domain events with [`record_event`] in its
//! own transaction; subscribers (timeline, segments, webhooks, automations …) receive them in
//! order, in batches, at least once, each at its own pace. A subscriber's position only moves
//! after its handler succeeded, so a crash replays the last batch: handlers must be idempotent.

use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;
use rapport_core::{Timestamp, WorkspaceId};
use rapport_db::{Db, DbError, Tx};
use serde_json::Value;
use sqlx::types::Json;
use tokio_util::sync::CancellationToken;

use crate::worker::{Waker, chrono_duration};

/// An event to record, describing a change that happened to one entity.
#[derive(Clone, Debug)]
pub struct NewDomainEvent {
    pub workspace_id: WorkspaceId,
    /// `entity.verb` in the past tense, e.g. `workspace.created`.
    pub kind: String,
    pub entity_type: String,
    pub entity_id: i64,
    pub payload: Value,
    /// Who caused it: `user:ID`, `token:ID`, `job:KIND` or `system`.
    pub actor: String,
    pub request_id: Option<String>,
}

/// A recorded event, as subscribers receive it.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct DomainEvent {
    pub id: i64,
    pub workspace_id: WorkspaceId,
    pub kind: String,
    pub entity_type: String,
    pub entity_id: i64,
    pub payload: Json<Value>,
    pub actor: String,
    pub request_id: Option<String>,
    pub occurred_at: Timestamp,
    pub xact_id: i64,
}

/// Records `event` in the caller's transaction.
pub async fn record_event(tx: &mut Tx, event: &NewDomainEvent) -> Result<(), DbError> {
    crate::store::insert_event(tx, event).await
}

/// Records many domain events in the caller's transaction with multi-row inserts, in order.
pub async fn record_events(tx: &mut Tx, events: &[NewDomainEvent]) -> Result<(), DbError> {
    crate::store::insert_events(tx, events).await
}

pub type SubscriberFn = Arc<dyn Fn(Db, Vec<DomainEvent>) -> BoxFuture<'static, anyhow::Result<()>> + Send + Sync>;

/// The registered subscribers, by stable name (the name keys the stored position).
#[derive(Clone)]
pub struct Subscribers {
    handlers: Vec<(String, SubscriberFn)>,
    batch: i64,
    lease: Duration,
    poll: Duration,
}

impl Default for Subscribers {
    fn default() -> Self {
        Self::new()
    }
}

impl Subscribers {
    pub fn new() -> Self {
        Self { handlers: Vec::new(), batch: 500, lease: Duration::from_secs(30), poll: Duration::from_secs(1) }
    }

    pub fn subscribe<F, Fut>(mut self, name: impl Into<String>, handler: F) -> Self
    where
        F: Fn(Db, Vec<DomainEvent>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = anyhow::Result<()>> + Send + 'static,
    {
        self.handlers.push((name.into(), Arc::new(move |db, events| Box::pin(handler(db, events)))));
        self
    }

    pub fn poll_interval(mut self, poll: Duration) -> Self {
        self.poll = poll;
        self
    }

    /// Delivers every pending batch to every subscriber whose lease this worker can take.
    /// Returns how many events were delivered.
    pub async fn deliver_pending(&self, db: &Db, worker: &str) -> usize {
        let mut delivered = 0;
        for (name, handler) in &self.handlers {
            match self.deliver_to(db, worker, name, handler).await {
                Ok(count) => delivered += count,
                Err(err) => tracing::error!(subscriber = %name, error = %err, "delivering domain events failed"),
            }
        }
        delivered
    }

    async fn deliver_to(&self, db: &Db, worker: &str, name: &str, handler: &SubscriberFn) -> Result<usize, DbError> {
        let lease = chrono_duration(self.lease);
        let Some(mut position) = crate::store::lease_subscriber(db, name.into(), worker.into(), lease).await? else {
            return Ok(0);
        };
        let mut delivered = 0;
        loop {
            let events = crate::store::events_after(db, position, self.batch).await?;
            let Some(last) = events.last() else { break };
            let next = (last.xact_id, last.id);
            let count = events.len();
            match handler(db.clone(), events).await {
                Ok(()) => {
                    if !crate::store::advance_subscriber(db, name.into(), worker.into(), next, None).await? {
                        return Ok(delivered);
                    }
                    position = next;
                    delivered += count;
                }
                Err(err) => {
                    tracing::warn!(subscriber = %name, error = format!("{err:#}"), "subscriber failed; the batch will be delivered again");
                    crate::store::advance_subscriber(
                        db,
                        name.into(),
                        worker.into(),
                        position,
                        Some(format!("{err:#}")),
                    )
                    .await?;
                    break;
                }
            }
        }
        crate::store::release_subscriber(db, name.into(), worker.into()).await?;
        Ok(delivered)
    }

    pub(crate) async fn run(self, db: Db, worker: String, waker: Waker, shutdown: CancellationToken) {
        if self.handlers.is_empty() {
            return;
        }
        loop {
            self.deliver_pending(&db, &worker).await;
            tokio::select! {
                () = shutdown.cancelled() => return,
                () = waker.wait(self.poll) => {}
            }
        }
    }
}

/// A subscriber's progress, for admins.
#[derive(Clone, Debug, serde::Serialize)]
pub struct SubscriberStatus {
    pub subscriber: String,
    pub last_event_id: i64,
    pub last_error: Option<String>,
    pub updated_at: Timestamp,
}

pub async fn subscriber_status(db: &Db) -> Result<Vec<SubscriberStatus>, DbError> {
    let rows = crate::store::subscriber_positions(db).await?;
    Ok(rows
        .into_iter()
        .map(|row| SubscriberStatus {
            subscriber: row.subscriber,
            last_event_id: row.event_id,
            last_error: row.last_error,
            updated_at: row.updated_at,
        })
        .collect())
}
