//! Workers of separate processes share one PostgreSQL queue without running a job twice.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rapport_core::JobId;
use rapport_db::{Backend, Db, DbError};
use rapport_jobs::{JobStatus, NewJob, Registry, Worker, enqueue, list_jobs};
use rapport_test_db::TestDb;
use serde_json::json;
use tokio_util::sync::CancellationToken;

use crate::support::{eventually, quick_worker_config, skip_unless};

const JOBS: usize = 200;

#[derive(Default)]
struct Ledger {
    running: HashSet<JobId>,
    runs: HashMap<JobId, usize>,
    overlaps: Vec<JobId>,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_workers_on_postgres_run_every_job_exactly_once() {
    if !skip_unless(Backend::Postgres, "two_workers_on_postgres_run_every_job_exactly_once") {
        return;
    }
    let test_db = TestDb::new().await;
    // Two handles with pools of their own, as two processes would have.
    let other = Db::connect(test_db.options()).await.expect("a second handle connects");
    test_db
        .db()
        .write(|tx| {
            Box::pin(async move {
                for n in 0..JOBS {
                    enqueue(tx, &NewJob::new("tally", json!({ "n": n }))).await?;
                }
                Ok::<_, DbError>(())
            })
        })
        .await
        .expect("the jobs are enqueued");

    let ledger = Arc::new(Mutex::new(Ledger::default()));
    let registry = Registry::new().handle("tally", {
        let ledger = Arc::clone(&ledger);
        move |ctx| {
            let ledger = Arc::clone(&ledger);
            async move {
                {
                    let mut ledger = ledger.lock().expect("not poisoned");
                    if !ledger.running.insert(ctx.id) {
                        ledger.overlaps.push(ctx.id);
                    }
                    *ledger.runs.entry(ctx.id).or_default() += 1;
                }
                tokio::time::sleep(Duration::from_millis(2)).await;
                ledger.lock().expect("not poisoned").running.remove(&ctx.id);
                Ok(())
            }
        }
    });
    let shutdown = CancellationToken::new();
    let workers: Vec<_> = [test_db.db().clone(), other.clone()]
        .into_iter()
        .map(|db| tokio::spawn(Worker::new(db, registry.clone(), quick_worker_config()).run(shutdown.clone())))
        .collect();

    eventually("every job is done", || async {
        list_jobs(test_db.db(), JobStatus::Done, 10_000).await.expect("jobs can be listed").len() == JOBS
    })
    .await;
    shutdown.cancel();
    for worker in workers {
        worker.await.expect("the worker shuts down cleanly");
    }
    other.close().await;

    let ledger = ledger.lock().expect("not poisoned");
    assert!(ledger.overlaps.is_empty(), "jobs ran twice at once: {:?}", ledger.overlaps);
    assert_eq!(ledger.runs.len(), JOBS);
    let repeated: Vec<_> = ledger.runs.iter().filter(|(_, runs)| **runs != 1).collect();
    assert!(repeated.is_empty(), "jobs ran more than once: {repeated:?}");
}
