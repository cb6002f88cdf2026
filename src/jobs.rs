//! Assembles the application's background work: every module's job handlers, recurring
//! schedules and domain-event subscribers, in one place, so `serve` and `worker` run the same set.

use std::time::Duration;

use rapport_db::Db;
use rapport_jobs::{
    JobContext, NewJob, Registry, Schedule, Scheduler, Subscribers, Waker, Worker, WorkerConfig, maintenance,
};

use crate::config::Config;

/// Queues this application's workers take jobs from.
pub const QUEUES: [&str; 2] = ["default", "maintenance"];

pub fn worker(db: Db, config: &Config, waker: Waker) -> Worker {
    let registry = crate::mail::register(maintenance::register(Registry::new()), &config.mail);
    let registry = crate::identity::verify::register(registry, config.public_url()).handle(
        crate::person::PURGE_JOB,
        |ctx: JobContext| async move {
            let purged = crate::person::purge_trash(&ctx.db).await?;
            tracing::info!(purged, "purged people kept in the trash past 30 days");
            Ok(())
        },
    );
    let mut schedules = maintenance::schedules();
    schedules.push(Schedule::new(crate::person::PURGE_JOB, Duration::from_secs(3600), |_| {
        NewJob::new(crate::person::PURGE_JOB, serde_json::Value::Null).queue("maintenance")
    }));
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
