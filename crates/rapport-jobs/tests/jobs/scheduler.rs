//! However many instances tick a schedule, each slot gets exactly one job.

use std::time::Duration;

use chrono::{TimeZone, Utc};
use rapport_db::Db;
use rapport_jobs::{JobStatus, NewJob, Schedule, Scheduler, list_jobs};
use rapport_test_db::TestDb;
use serde_json::json;

const TICKS_PER_INSTANCE: usize = 10;

async fn digest_jobs(db: &Db) -> usize {
    let queued = list_jobs(db, JobStatus::Queued, 1000).await.expect("jobs can be listed");
    queued.iter().filter(|job| job.kind == "send_digest").count()
}

/// Ticks `scheduler` at `now` from both handles at once, and returns how many jobs the ticks
/// reported enqueueing.
async fn tick_concurrently(scheduler: &Scheduler, handles: [&Db; 2], now: rapport_core::Timestamp) -> usize {
    let ticks: Vec<_> = (0..TICKS_PER_INSTANCE)
        .flat_map(|_| handles)
        .map(|db| {
            let (scheduler, db) = (scheduler.clone(), db.clone());
            tokio::spawn(async move { scheduler.tick(&db, now).await })
        })
        .collect();
    let mut enqueued = 0;
    for tick in ticks {
        enqueued += tick.await.expect("no tick panics").expect("every tick succeeds");
    }
    enqueued
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_ticking_the_same_slot_enqueue_one_job_and_the_next_slot_another() {
    let test_db = TestDb::new().await;
    // A second handle on the same database, as a second instance of Rapport would have.
    let other = Db::connect(test_db.options()).await.expect("a second handle connects");
    let hourly = Duration::from_secs(3600);
    let scheduler = Scheduler::new(vec![Schedule::new("hourly-digest", hourly, |slot| {
        NewJob::new("send_digest", json!({ "slot": slot }))
    })]);
    let in_first_slot = Utc.with_ymd_and_hms(2025, 3, 1, 9, 17, 0).single().expect("a valid time");
    let later_in_first_slot = in_first_slot + chrono::Duration::minutes(30);
    let in_next_slot = in_first_slot + chrono::Duration::hours(1);

    let first = tick_concurrently(&scheduler, [test_db.db(), &other], in_first_slot).await;
    let again = tick_concurrently(&scheduler, [test_db.db(), &other], later_in_first_slot).await;
    let jobs_after_first_slot = digest_jobs(test_db.db()).await;
    let next = tick_concurrently(&scheduler, [test_db.db(), &other], in_next_slot).await;
    other.close().await;

    assert_eq!((first, again, jobs_after_first_slot), (1, 0, 1));
    assert_eq!(next, 1);
    assert_eq!(digest_jobs(test_db.db()).await, 2);
}
