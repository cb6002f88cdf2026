//! Two application instances on one database, as behind a load balancer: writes through both
//! succeed without conflicts, and their workers share the jobs (one run per job, one scheduled
//! job per slot). On PostgreSQL this is the scale-out deployment; on SQLite it is two processes
//! sharing a file, which WAL and busy_timeout make safe.

#![allow(clippy::unwrap_used)]

mod util;

use std::time::Duration;

use axum::http::StatusCode;
use tokio_util::sync::CancellationToken;
use util::TestApp;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_through_two_instances_all_land_and_scheduled_jobs_run_once() {
    let first = TestApp::new().await;
    let second = first.sibling().await;

    let mut writes = Vec::new();
    for i in 0..40 {
        let app = if i % 2 == 0 { first.state.clone() } else { second.state.clone() };
        writes.push(tokio::spawn(async move {
            let new = rapport::workspace::NewWorkspace {
                name: rapport::workspace::WorkspaceName::parse(&format!("Workspace {i}")).unwrap(),
                owner_email: rapport_core::Email::parse(&format!("owner{i}@example.com")).unwrap(),
                owner_password: rapport::identity::Password::parse("correct horse battery").unwrap(),
            };
            rapport::workspace::create_with_owner(&app.db, new, "system:test").await
        }));
    }
    for write in writes {
        write.await.unwrap().expect("every write through either instance succeeds");
    }
    assert_eq!(first.count("workspaces").await, 40);
    assert_eq!(second.count("memberships").await, 40);
    assert_eq!(first.get("/readyz").await.status, StatusCode::OK);
    assert_eq!(second.get("/readyz").await.status, StatusCode::OK);

    let shutdown = CancellationToken::new();
    let workers: Vec<_> = [&first, &second]
        .into_iter()
        .map(|app| {
            let worker = rapport::jobs::worker(app.db().clone(), &app.state.config, app.state.waker.clone());
            tokio::spawn(worker.run(shutdown.clone()))
        })
        .collect();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let done: i64 = rapport_db::sql!(first.db().exec(), c => sqlx::query_scalar(
            "SELECT count(*) FROM jobs WHERE kind = 'jobs.prune' AND status = 'done'"
        ).fetch_one(c).await)
        .unwrap();
        if done >= 1 || tokio::time::Instant::now() > deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Let both schedulers tick several more times within the same hourly slot.
    tokio::time::sleep(Duration::from_millis(600)).await;
    shutdown.cancel();
    for worker in workers {
        worker.await.unwrap();
    }
    let prune_jobs: i64 = rapport_db::sql!(first.db().exec(), c => sqlx::query_scalar(
        "SELECT count(*) FROM jobs WHERE kind = 'jobs.prune'"
    ).fetch_one(c).await)
    .unwrap();
    assert_eq!(prune_jobs, 1, "one scheduled job for the slot, however many instances");
    let done: i64 = rapport_db::sql!(first.db().exec(), c => sqlx::query_scalar(
        "SELECT count(*) FROM jobs WHERE kind = 'jobs.prune' AND status = 'done' AND attempts = 1"
    ).fetch_one(c).await)
    .unwrap();
    assert_eq!(done, 1, "it ran once, on one instance");
    second.db().close().await;
}
