//! The platform's own recurring housekeeping: finished jobs and spent schedule slots are kept
//! for a week (for inspection) and then deleted, so the jobs table stays small.

use std::time::Duration;

use chrono::Utc;

use crate::queue::NewJob;
use crate::scheduler::Schedule;
use crate::worker::{JobContext, Registry};

pub const PRUNE_JOBS: &str = "jobs.prune";
const KEEP_FINISHED: chrono::Duration = chrono::Duration::days(7);

/// Runs the prune job every hour.
pub fn schedules() -> Vec<Schedule> {
    vec![Schedule::new(PRUNE_JOBS, Duration::from_secs(3600), |_| {
        NewJob::new(PRUNE_JOBS, serde_json::Value::Null).queue("maintenance")
    })]
}

pub fn register(registry: Registry) -> Registry {
    registry.handle(PRUNE_JOBS, prune)
}

async fn prune(ctx: JobContext) -> anyhow::Result<()> {
    let pruned = crate::store::prune(&ctx.db, Utc::now() - KEEP_FINISHED).await?;
    tracing::info!(pruned, "pruned finished jobs and schedule slots");
    Ok(())
}
