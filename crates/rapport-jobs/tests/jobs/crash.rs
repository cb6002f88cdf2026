//! A worker that dies mid-job loses nothing: its lease stops being renewed, expires, and another
//! worker runs the job again.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use rapport_jobs::{NewJob, Registry, Worker, WorkerConfig};
use rapport_test_db::TestDb;
use serde_json::json;
use tokio_util::sync::CancellationToken;

use crate::support::{enqueue_job, eventually, find_job, job_status, quick_worker_config};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_whose_worker_died_mid_run_runs_again_once_its_lease_expires() {
    let test_db = TestDb::new().await;
    let db = test_db.db();
    let config = WorkerConfig { lease: Duration::from_secs(1), ..quick_worker_config() };
    let id = enqueue_job(db, NewJob::new("import_contacts", json!({}))).await.expect("a new job");

    let started = Arc::new(AtomicUsize::new(0));
    // Cancelled when the first run's future is dropped: that run has stopped.
    let first_run_stopped = CancellationToken::new();
    let hanging = Registry::new().handle("import_contacts", {
        let (started, stopped) = (Arc::clone(&started), first_run_stopped.clone());
        move |_ctx| {
            started.fetch_add(1, Ordering::SeqCst);
            let stopped_on_drop = stopped.clone().drop_guard();
            async move {
                let _stopped_on_drop = stopped_on_drop;
                tokio::time::sleep(Duration::from_secs(3600)).await;
                Ok(())
            }
        }
    });
    let first = tokio::spawn(Worker::new(db.clone(), hanging, config.clone()).run(CancellationToken::new()));
    eventually("the first worker started the job", || async { started.load(Ordering::SeqCst) == 1 }).await;

    // A crash: nothing runs after this point, nothing releases the lease.
    first.abort();
    assert!(first.await.is_err_and(|join| join.is_cancelled()));
    eventually("the abandoned run has stopped", || async { first_run_stopped.is_cancelled() }).await;

    let completed = Arc::new(AtomicUsize::new(0));
    let finishing = Registry::new().handle("import_contacts", {
        let completed = Arc::clone(&completed);
        move |_ctx| {
            completed.fetch_add(1, Ordering::SeqCst);
            async { Ok(()) }
        }
    });
    let shutdown = CancellationToken::new();
    let second = tokio::spawn(Worker::new(db.clone(), finishing, config).run(shutdown.clone()));
    eventually("the second worker finished the job", || async { job_status(db, id).await.as_deref() == Some("done") })
        .await;
    shutdown.cancel();
    second.await.expect("the second worker shuts down cleanly");

    let job = find_job(db, id).await.expect("the job is kept");
    assert_eq!(job.attempts, 2);
    assert_eq!(started.load(Ordering::SeqCst), 1);
    assert_eq!(completed.load(Ordering::SeqCst), 1);
}
