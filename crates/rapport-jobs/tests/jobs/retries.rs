//! A failing job is retried with backoff until it succeeds or runs out of attempts; a job out
//! of attempts waits in the dead letters until an admin retries it.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use rapport_jobs::{JobStatus, NewJob, Registry, Worker, list_jobs, retry_dead_job};
use rapport_test_db::TestDb;
use serde_json::json;
use tokio_util::sync::CancellationToken;

use crate::support::{enqueue_job, eventually, find_job, job_status, quick_worker_config};

#[tokio::test]
async fn a_job_that_fails_twice_then_succeeds_is_done_after_three_attempts() {
    let test_db = TestDb::new().await;
    let db = test_db.db();
    let runs = Arc::new(AtomicUsize::new(0));
    let registry = Registry::new().handle("sync_calendar", {
        let runs = Arc::clone(&runs);
        move |_ctx| {
            let run = runs.fetch_add(1, Ordering::SeqCst) + 1;
            async move {
                anyhow::ensure!(run >= 3, "the calendar server timed out (run {run})");
                Ok(())
            }
        }
    });
    let worker = Worker::new(db.clone(), registry, quick_worker_config());
    let id = enqueue_job(db, NewJob::new("sync_calendar", json!({}))).await.expect("a new job");

    let cancel = CancellationToken::new();
    eventually("the job is done", || async {
        worker.run_one(&cancel).await.expect("claiming works");
        job_status(db, id).await.as_deref() == Some("done")
    })
    .await;

    let job = find_job(db, id).await.expect("the job is kept");
    assert_eq!(job.attempts, 3);
    assert_eq!(runs.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn a_job_that_always_fails_is_dead_after_its_last_attempt_and_can_be_retried() {
    let test_db = TestDb::new().await;
    let db = test_db.db();
    let runs = Arc::new(AtomicUsize::new(0));
    let registry = Registry::new().handle("push_webhook", {
        let runs = Arc::clone(&runs);
        move |_ctx| {
            runs.fetch_add(1, Ordering::SeqCst);
            async { anyhow::bail!("the endpoint answered 410 Gone") }
        }
    });
    let worker = Worker::new(db.clone(), registry, quick_worker_config());
    let id = enqueue_job(db, NewJob::new("push_webhook", json!({})).max_attempts(3)).await.expect("a new job");

    let cancel = CancellationToken::new();
    eventually("the job is dead", || async {
        worker.run_one(&cancel).await.expect("claiming works");
        job_status(db, id).await.as_deref() == Some("dead")
    })
    .await;

    assert_eq!(runs.load(Ordering::SeqCst), 3);
    let dead = list_jobs(db, JobStatus::Dead, 10).await.expect("dead jobs can be listed");
    let job = dead.iter().find(|job| job.id == id).expect("the job is among the dead letters");
    assert_eq!(job.attempts, 3);
    assert!(job.last_error.as_deref().is_some_and(|e| e.contains("410 Gone")), "{:?}", job.last_error);

    assert!(retry_dead_job(db, id).await.expect("the retry is recorded"));
    assert!(!retry_dead_job(db, id).await.expect("a second retry is harmless"), "only a dead job is retried");
    let requeued = find_job(db, id).await.expect("the job is kept");
    assert_eq!((requeued.status.as_str(), requeued.attempts), ("queued", 0));
    assert!(worker.run_one(&cancel).await.expect("claiming works"));
    assert_eq!(runs.load(Ordering::SeqCst), 4);
}
