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

/// The payload of a task's reminder job.
#[derive(serde::Deserialize)]
struct Reminder {
    workspace_id: rapport_core::WorkspaceId,
    task_id: i64,
    remind_at: rapport_core::Timestamp,
}

pub fn worker(db: Db, config: &Config, waker: Waker) -> Worker {
    let public_url = config.public_url();
    let registry = crate::mail::register(maintenance::register(Registry::new()), &config.mail);
    let registry = crate::identity::verify::register(registry, config.public_url())
        .handle(crate::person::PURGE_JOB, |ctx: JobContext| async move {
            let purged = crate::person::purge_trash(&ctx.db).await?;
            tracing::info!(purged, "purged people kept in the trash past 30 days");
            Ok(())
        })
        .handle(crate::company::PURGE_JOB, |ctx: JobContext| async move {
            let purged = crate::company::purge_trash(&ctx.db).await?;
            tracing::info!(purged, "purged companies kept in the trash past 30 days");
            Ok(())
        })
        .handle(crate::activity::REMIND_JOB, move |ctx: JobContext| {
            let public_url = public_url.clone();
            async move {
                let planned: Reminder = serde_json::from_value(ctx.payload)?;
                let (workspace, task, at) = (planned.workspace_id, planned.task_id, planned.remind_at);
                let sent = crate::activity::send_reminder(&ctx.db, workspace, task, at, &public_url).await?;
                tracing::info!(task, sent, "task reminder");
                Ok(())
            }
        });
    let data_dir = config.data_dir.clone();
    let registry = registry.handle(crate::attachment::SWEEP_JOB, move |ctx: JobContext| {
        let data_dir = data_dir.clone();
        async move {
            let removed = crate::attachment::sweep(&ctx.db, &data_dir).await?;
            tracing::info!(removed, "swept attachment files no row names");
            Ok(())
        }
    });
    let mut schedules = maintenance::schedules();
    for job in [crate::person::PURGE_JOB, crate::company::PURGE_JOB, crate::attachment::SWEEP_JOB] {
        schedules.push(Schedule::new(job, Duration::from_secs(3600), move |_| {
            NewJob::new(job, serde_json::Value::Null).queue("maintenance")
        }));
    }
    let registry = crate::audit::schedule(registry, &mut schedules, &config.audit);
    let registry = crate::export::register(registry, &mut schedules, config.data_dir.clone());
    let registry = crate::bulk::register(registry, config.jobs.bulk_batch_size);
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
        .with_subscribers(crate::attachment::subscribe(
            crate::activity::subscribe(crate::audit::subscribe(Subscribers::new())),
            config.data_dir.clone(),
        ))
        .with_waker(waker)
}
