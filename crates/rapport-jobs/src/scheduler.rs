//! Recurring jobs. Time is cut into slots of each schedule's period; whichever instance first
//! claims a slot (a row keyed by schedule name and slot start, inserted in the same transaction
//! as the job) enqueues the job, so each slot gets exactly one job however many instances run.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use rapport_core::Timestamp;
use rapport_db::{Db, DbError};
use tokio_util::sync::CancellationToken;

use crate::queue::NewJob;
use crate::worker::Waker;

/// A job enqueued once per `every`, aligned to the Unix epoch (so an hourly job runs on the hour).
#[derive(Clone)]
pub struct Schedule {
    pub name: String,
    pub every: Duration,
    pub job: Arc<dyn Fn(Timestamp) -> NewJob + Send + Sync>,
}

impl Schedule {
    pub fn new(
        name: impl Into<String>,
        every: Duration,
        job: impl Fn(Timestamp) -> NewJob + Send + Sync + 'static,
    ) -> Self {
        Self { name: name.into(), every, job: Arc::new(job) }
    }

    /// The start of the slot that contains `now`.
    pub fn slot_of(&self, now: Timestamp) -> Timestamp {
        let period = i64::try_from(self.every.as_millis()).unwrap_or(i64::MAX).max(1);
        let millis = now.timestamp_millis();
        let start = millis - millis.rem_euclid(period);
        DateTime::from_timestamp_millis(start).unwrap_or(now)
    }
}

#[derive(Clone, Default)]
pub struct Scheduler {
    schedules: Vec<Schedule>,
}

impl Scheduler {
    pub fn new(schedules: Vec<Schedule>) -> Self {
        Self { schedules }
    }

    /// Enqueues the current slot's job of every schedule not yet enqueued by any instance.
    /// Returns how many jobs this call enqueued.
    pub async fn tick(&self, db: &Db, now: Timestamp) -> Result<usize, DbError> {
        let mut enqueued = 0;
        for schedule in &self.schedules {
            let slot = schedule.slot_of(now);
            let name = schedule.name.clone();
            let job = (schedule.job)(slot).dedupe(format!("schedule:{}:{}", schedule.name, slot.timestamp_millis()));
            let created = db
                .write(move |tx| {
                    Box::pin(async move {
                        if !crate::store::claim_slot(tx, &name, slot).await? {
                            return Ok::<_, DbError>(false);
                        }
                        let Some(id) = crate::store::insert_job(tx, &job).await? else {
                            return Ok(false);
                        };
                        crate::store::set_slot_job(tx, &name, slot, id).await?;
                        Ok(true)
                    })
                })
                .await?;
            enqueued += usize::from(created);
        }
        Ok(enqueued)
    }

    pub(crate) async fn run(self, db: Db, waker: Waker, shutdown: CancellationToken) {
        if self.schedules.is_empty() {
            return;
        }
        let shortest = self.schedules.iter().map(|s| s.every).min().unwrap_or(Duration::from_secs(60));
        let every = (shortest / 4).clamp(Duration::from_millis(100), Duration::from_secs(15));
        loop {
            match self.tick(&db, Utc::now()).await {
                Ok(0) => {}
                Ok(_) => waker.wake(),
                Err(err) => tracing::error!(error = %err, "the scheduler could not enqueue"),
            }
            tokio::select! {
                () = shutdown.cancelled() => return,
                () = tokio::time::sleep(every) => {}
            }
        }
    }
}
