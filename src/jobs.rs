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

/// Fills the search index with the records stored before search existed, a slice per run,
/// each run queueing the next, so that no run outlives its lease.
pub const SEARCH_BACKFILL_JOB: &str = "search.backfill";

/// Where a search backfill stands: people first, then companies, after the id `after`.
#[derive(Default, serde::Serialize, serde::Deserialize)]
struct Backfill {
    companies: bool,
    after: Option<i64>,
}

/// Records per transaction, and transactions per run, of a search backfill.
const BACKFILL_BATCH: i64 = 500;
const BACKFILL_BATCHES: usize = 40;

/// Queues the search backfill when the index is empty: after an upgrade from a version without
/// search, the records already stored become findable without anyone being asked to act.
pub async fn prepare(db: &Db) -> Result<(), rapport_db::DbError> {
    if crate::search::indexed(db).await? > 0 {
        return Ok(());
    }
    let job =
        NewJob::new(SEARCH_BACKFILL_JOB, serde_json::Value::Null).queue("maintenance").dedupe(SEARCH_BACKFILL_JOB);
    db.write(|tx| Box::pin(async move { rapport_jobs::enqueue(tx, &job).await.map(|_| ()) })).await
}

async fn backfill_search(db: &Db, mut step: Backfill) -> anyhow::Result<Option<Backfill>> {
    for _ in 0..BACKFILL_BATCHES {
        let last = if step.companies {
            crate::company::reindex_search(db, step.after.map(rapport_core::CompanyId::new), BACKFILL_BATCH)
                .await?
                .map(rapport_core::CompanyId::get)
        } else {
            crate::person::reindex_search(db, step.after.map(rapport_core::PersonId::new), BACKFILL_BATCH)
                .await?
                .map(rapport_core::PersonId::get)
        };
        step = match (last, step.companies) {
            (Some(last), companies) => Backfill { companies, after: Some(last) },
            (None, false) => Backfill { companies: true, after: None },
            (None, true) => return Ok(None),
        };
    }
    Ok(Some(step))
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
    let registry = registry.handle(SEARCH_BACKFILL_JOB, |ctx: JobContext| async move {
        let step: Option<Backfill> = serde_json::from_value(ctx.payload)?;
        if let Some(next) = backfill_search(&ctx.db, step.unwrap_or_default()).await? {
            tracing::info!(companies = next.companies, after = next.after, "search backfill continues");
            let job = NewJob::new(SEARCH_BACKFILL_JOB, serde_json::to_value(&next)?).queue("maintenance");
            ctx.db.write(|tx| Box::pin(async move { rapport_jobs::enqueue(tx, &job).await.map(|_| ()) })).await?;
        } else {
            tracing::info!("search backfill done");
        }
        Ok(())
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
    let registry = registry.handle(crate::cart::SWEEP_JOB, |ctx: JobContext| async move {
        let abandoned = crate::cart::sweep(&ctx.db, chrono::Utc::now()).await?;
        if abandoned > 0 {
            tracing::info!(abandoned, "marked abandoned carts");
        }
        Ok(())
    });
    let registry = registry.handle(crate::tracking::RETENTION_JOB, |ctx: JobContext| async move {
        let expired = crate::tracking::expire(&ctx.db, chrono::Utc::now()).await?;
        tracing::info!(expired, "deleted events past their workspace's retention");
        Ok(())
    });
    let mut schedules = maintenance::schedules();
    // Abandonment is looked for every minute, so a cart is marked at most a minute after it is due.
    schedules.push(Schedule::new(crate::cart::SWEEP_JOB, Duration::from_secs(60), |_| {
        NewJob::new(crate::cart::SWEEP_JOB, serde_json::Value::Null).queue("maintenance")
    }));
    for job in [
        crate::person::PURGE_JOB,
        crate::company::PURGE_JOB,
        crate::attachment::SWEEP_JOB,
        crate::tracking::RETENTION_JOB,
    ] {
        schedules.push(Schedule::new(job, Duration::from_secs(3600), move |_| {
            NewJob::new(job, serde_json::Value::Null).queue("maintenance")
        }));
    }
    let registry = crate::audit::schedule(registry, &mut schedules, &config.audit);
    let registry = crate::export::register(registry, &mut schedules, config.data_dir.clone());
    let registry = crate::bulk::register(registry, config.jobs.bulk_batch_size);
    let registry = crate::import::register(registry, config.data_dir.clone(), config.imports.batch_rows);
    let registry = crate::merge::register(registry);
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
        .with_subscribers(crate::tracking::subscribe(crate::attachment::subscribe(
            crate::activity::subscribe(crate::audit::subscribe(Subscribers::new())),
            config.data_dir.clone(),
        )))
        .with_waker(waker)
}
