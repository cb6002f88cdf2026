//! Assembles the application's background work: every module's job handlers, recurring
//! schedules and domain-event subscribers, in one place, so `serve` and `worker` run the same set.

use std::time::Duration;

use rapport_db::Db;
use rapport_jobs::{Registry, Scheduler, Subscribers, Waker, Worker, WorkerConfig, maintenance};

use crate::config::Config;

/// Queues this application's workers take jobs from.
pub const QUEUES: [&str; 2] = ["default", "maintenance"];

pub fn worker(db: Db, config: &Config, waker: Waker) -> Worker {
    let mut schedules = maintenance::schedules();
    let registry = crate::mail::register(maintenance::register(Registry::new()), &config.mail);
    let registry = crate::audit::schedule(registry, &mut schedules, &config.audit);
    let scheduler = Scheduler::new(schedules);
    let worker_config = WorkerConfig {
        queues: QUEUES.iter().map(|q| (*q).to_string()).collect(),
        concurrency: config.jobs.concurrency,
        lease: Duration::from_secs(config.jobs.lease_secs),
        drain_timeout: Duration::from_secs(config.http.shutdown_grace_secs),
        ..WorkerConfig::default()
    };
    Worker::new(db, registry, worker_config)
        .with_scheduler(scheduler)
        .with_subscribers(crate::audit::subscribe(Subscribers::new()))
        .with_waker(waker)
}
