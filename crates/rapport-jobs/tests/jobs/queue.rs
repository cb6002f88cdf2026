//! A job exists if and only if the write that enqueued it committed, runs once when nothing
//! fails, and a dedupe key admits one job at a time.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use rapport_db::{Db, DbError};
use rapport_jobs::{JobStatus, NewJob, Registry, Worker, enqueue, list_jobs};
use rapport_test_db::TestDb;
use serde_json::json;
use tokio_util::sync::CancellationToken;

use crate::support::{enqueue_job, find_job, quick_worker_config};

/// A worker whose handler for `kind` counts its runs.
fn counting_worker(db: &Db, kind: &str, runs: &Arc<AtomicUsize>) -> Worker {
    let runs = Arc::clone(runs);
    let registry = Registry::new().handle(kind, move |_ctx| {
        runs.fetch_add(1, Ordering::SeqCst);
        async { Ok(()) }
    });
    Worker::new(db.clone(), registry, quick_worker_config())
}

#[tokio::test]
async fn a_job_enqueued_in_a_rolled_back_write_never_exists() {
    let test_db = TestDb::new().await;
    let db = test_db.db();
    let runs = Arc::new(AtomicUsize::new(0));

    let write = db
        .write(|tx| {
            Box::pin(async move {
                enqueue(tx, &NewJob::new("send_welcome", json!({}))).await?;
                Err::<(), _>(DbError::NotFound)
            })
        })
        .await;

    assert!(write.is_err());
    assert!(list_jobs(db, JobStatus::Queued, 10).await.expect("jobs can be listed").is_empty());
    let ran =
        counting_worker(db, "send_welcome", &runs).run_one(&CancellationToken::new()).await.expect("claiming works");
    assert!(!ran);
    assert_eq!(runs.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn a_committed_job_runs_exactly_once() {
    let test_db = TestDb::new().await;
    let db = test_db.db();
    let runs = Arc::new(AtomicUsize::new(0));
    let id = enqueue_job(db, NewJob::new("send_welcome", json!({"to": "ada@example.com"}))).await.expect("a new job");
    let worker = counting_worker(db, "send_welcome", &runs);

    let first = worker.run_one(&CancellationToken::new()).await.expect("claiming works");
    let second = worker.run_one(&CancellationToken::new()).await.expect("claiming works");

    assert!(first);
    assert!(!second, "nothing is left to run");
    assert_eq!(runs.load(Ordering::SeqCst), 1);
    let job = find_job(db, id).await.expect("the job is kept");
    assert_eq!((job.status.as_str(), job.attempts), ("done", 1));
}

#[tokio::test]
async fn a_dedupe_key_admits_one_job_until_that_job_has_run() {
    let test_db = TestDb::new().await;
    let db = test_db.db();
    let runs = Arc::new(AtomicUsize::new(0));
    let job = NewJob::new("reindex", json!({})).dedupe("reindex:contacts");

    let first = enqueue_job(db, job.clone()).await;
    let duplicate = enqueue_job(db, job.clone()).await;
    counting_worker(db, "reindex", &runs).run_one(&CancellationToken::new()).await.expect("claiming works");
    let after_it_ran = enqueue_job(db, job).await;

    assert!(first.is_some());
    assert_eq!(duplicate, None);
    assert_eq!(runs.load(Ordering::SeqCst), 1);
    assert!(after_it_ran.is_some_and(|id| Some(id) != first), "a finished job frees its key");
}
