//! Group commit on SQLite and plain transactions on PostgreSQL keep the same promise: a write
//! that was acknowledged survives a restart, and a write that failed or panicked leaves no
//! trace and does not disturb the writes around it.

use std::collections::BTreeSet;

use rapport_db::{Backend, Db, DbError, sql};
use rapport_test_db::TestDb;
use tokio::task::JoinHandle;

use crate::support::{HeldWriter, insert_setting, insert_setting_in, setting_keys, skip_unless};

const WRITERS: usize = 200;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_acknowledged_concurrent_write_survives_a_restart() {
    let mut test_db = TestDb::new().await;
    let writes: Vec<_> = (0..WRITERS)
        .map(|i| {
            let db = test_db.db().clone();
            tokio::spawn(async move { insert_setting(&db, format!("key-{i}")).await.map(|()| format!("key-{i}")) })
        })
        .collect();
    let mut acknowledged = BTreeSet::new();
    for write in writes {
        acknowledged.insert(write.await.expect("no writer panics").expect("every write commits"));
    }

    test_db.reopen().await;

    assert_eq!(acknowledged.len(), WRITERS);
    assert_eq!(setting_keys(test_db.db()).await, acknowledged);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_writes_on_sqlite_share_commits() {
    if !skip_unless(Backend::Sqlite, "concurrent_writes_on_sqlite_share_commits") {
        return;
    }
    let test_db = TestDb::new().await;
    // Each write reads how many rows are committed, through a reader, which sees no
    // uncommitted row. Writes of one group see the same number and each commit changes it, so
    // the distinct numbers seen are the commits made.
    let writes: Vec<_> = (0..WRITERS)
        .map(|i| {
            let db = test_db.db().clone();
            tokio::spawn(async move {
                let reader = db.clone();
                db.write(move |tx| {
                    Box::pin(async move {
                        insert_setting_in(tx, &format!("key-{i}")).await?;
                        let committed: i64 = sql!(reader.exec(), c =>
                            sqlx::query_scalar("SELECT count(*) FROM instance_settings").fetch_one(c).await)?;
                        Ok::<_, DbError>(committed)
                    })
                })
                .await
            })
        })
        .collect();
    let mut commits_seen = BTreeSet::new();
    for write in writes {
        commits_seen.insert(write.await.expect("no writer panics").expect("every write commits"));
    }

    assert!(commits_seen.len() < WRITERS, "{WRITERS} concurrent writes took {} commits", commits_seen.len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_write_leaves_the_rest_of_its_group_committed() {
    let mut test_db = TestDb::new().await;
    let db = test_db.db().clone();
    let held = HeldWriter::hold(&db).await;

    let before = spawn_insert(&db, "before");
    let failing = tokio::spawn({
        let db = db.clone();
        async move {
            db.write(|tx| {
                Box::pin(async move {
                    insert_setting_in(tx, "failed").await?;
                    Err::<(), _>(DbError::NotFound)
                })
            })
            .await
        }
    });
    let after = spawn_insert(&db, "after");
    held.release_after(&db, 3).await;

    assert!(before.await.expect("no panic").is_ok());
    assert!(matches!(failing.await.expect("no panic"), Err(DbError::NotFound)));
    assert!(after.await.expect("no panic").is_ok());
    test_db.reopen().await;
    assert_eq!(setting_keys(test_db.db()).await, keys(&["after", "before"]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panicking_write_is_rolled_back_and_later_writes_still_commit() {
    let mut test_db = TestDb::new().await;
    let db = test_db.db().clone();
    let held = HeldWriter::hold(&db).await;

    let before = spawn_insert(&db, "before");
    let panicking = tokio::spawn({
        let db = db.clone();
        async move {
            db.write(|tx| {
                Box::pin(async move {
                    insert_setting_in(tx, "panicked").await?;
                    a_bug_in_the_middle_of_a_write()
                })
            })
            .await
        }
    });
    let after = spawn_insert(&db, "after");
    held.release_after(&db, 3).await;

    assert!(before.await.expect("no panic").is_ok());
    assert!(after.await.expect("no panic").is_ok());
    // SQLite answers the caller with an error; on PostgreSQL the panic reaches the caller.
    match panicking.await {
        Ok(result) => assert!(matches!(result, Err(DbError::WriteAborted)), "the panicked write was not acknowledged"),
        Err(join) => assert!(join.is_panic()),
    }
    // Enough writes to go through every pooled connection the panicking write could have left.
    for i in 0..20 {
        insert_setting(&db, format!("later-{i}")).await.expect("the writer keeps serving");
    }

    test_db.reopen().await;
    let mut expected = keys(&["after", "before"]);
    expected.extend((0..20).map(|i| format!("later-{i}")));
    assert_eq!(setting_keys(test_db.db()).await, expected);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_abandoned_by_its_caller_on_postgres_is_rolled_back() {
    if !skip_unless(Backend::Postgres, "a_write_abandoned_by_its_caller_on_postgres_is_rolled_back") {
        return;
    }
    let mut test_db = TestDb::new().await;
    let db = test_db.db().clone();
    let (inserted, has_inserted) = tokio::sync::oneshot::channel();
    // A request that times out drops its write half-way; on PostgreSQL the write runs in the
    // caller's task, so it stops there.
    let abandoned = tokio::spawn({
        let db = db.clone();
        async move {
            db.write(move |tx| {
                Box::pin(async move {
                    insert_setting_in(tx, "abandoned").await?;
                    let _ = inserted.send(());
                    std::future::pending::<()>().await;
                    Ok::<(), DbError>(())
                })
            })
            .await
        }
    });
    has_inserted.await.expect("the abandoned write inserts its row");
    abandoned.abort();
    assert!(abandoned.await.is_err_and(|join| join.is_cancelled()));

    for i in 0..20 {
        insert_setting(&db, format!("later-{i}")).await.expect("later writes commit");
    }

    test_db.reopen().await;
    let keys = setting_keys(test_db.db()).await;
    assert!(!keys.contains("abandoned"), "an abandoned write was committed by a later one");
    assert_eq!(keys.len(), 20);
}

fn spawn_insert(db: &Db, key: &'static str) -> JoinHandle<Result<(), DbError>> {
    let db = db.clone();
    tokio::spawn(async move { insert_setting(&db, key).await })
}

fn a_bug_in_the_middle_of_a_write() -> Result<(), DbError> {
    panic!("a bug in the middle of a write")
}

fn keys(names: &[&str]) -> BTreeSet<String> {
    names.iter().map(|name| (*name).to_string()).collect()
}
