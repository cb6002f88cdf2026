//! Online SQLite backups: consistent while writers go on, holding everything acknowledged
//! before they began, and never overwriting a file or pretending to back up PostgreSQL.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use rapport_db::{Backend, BackupError, DbOptions, backup_sqlite};
use rapport_test_db::TestDb;
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{ConnectOptions, Connection};

use crate::support::{eventually, insert_setting, setting_keys, skip_unless};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_taken_under_write_load_is_intact_and_holds_every_acknowledged_write() {
    if !skip_unless(Backend::Sqlite, "a_backup_taken_under_write_load_is_intact_and_holds_every_acknowledged_write") {
        return;
    }
    let test_db = TestDb::new().await;
    let acknowledged = Arc::new(Mutex::new(BTreeSet::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let writers: Vec<_> = (0..4)
        .map(|writer| {
            let (db, acknowledged, stop) = (test_db.db().clone(), Arc::clone(&acknowledged), Arc::clone(&stop));
            tokio::spawn(async move {
                let mut n = 0;
                while !stop.load(Ordering::Relaxed) {
                    let key = format!("row-{writer}-{n}");
                    insert_setting(&db, key.clone()).await.expect("the write commits");
                    acknowledged.lock().expect("not poisoned").insert(key);
                    n += 1;
                }
            })
        })
        .collect();
    eventually("writes are flowing", || async { acknowledged.lock().expect("not poisoned").len() >= 200 }).await;

    let before_backup = acknowledged.lock().expect("not poisoned").clone();
    let dir = tempfile::tempdir().expect("a temporary directory");
    let target = dir.path().join("backup.db");
    backup_sqlite(test_db.options(), &target).await.expect("the backup is taken");
    stop.store(true, Ordering::Relaxed);
    for writer in writers {
        writer.await.expect("no writer panics");
    }

    let mut backup = SqliteConnectOptions::new().filename(&target).connect().await.expect("the backup opens");
    let integrity: String =
        sqlx::query_scalar("PRAGMA integrity_check").fetch_one(&mut backup).await.expect("the check runs");
    let in_backup: BTreeSet<String> = sqlx::query_scalar("SELECT key FROM instance_settings")
        .fetch_all(&mut backup)
        .await
        .expect("the backup has the settings table")
        .into_iter()
        .collect();
    backup.close().await.expect("the backup closes");

    assert_eq!(integrity, "ok");
    let missing: Vec<_> = before_backup.difference(&in_backup).collect();
    assert!(missing.is_empty(), "acknowledged before the backup but missing from it: {missing:?}");
    assert!(in_backup.is_subset(&setting_keys(test_db.db()).await), "the backup holds rows that never committed");
}

#[tokio::test]
async fn a_backup_never_overwrites_an_existing_file() {
    if !skip_unless(Backend::Sqlite, "a_backup_never_overwrites_an_existing_file") {
        return;
    }
    let test_db = TestDb::new().await;
    let dir = tempfile::tempdir().expect("a temporary directory");
    let target = dir.path().join("precious.db");
    std::fs::write(&target, "yesterday's backup").expect("the file is written");

    let result = backup_sqlite(test_db.options(), &target).await;

    assert!(matches!(result, Err(BackupError::TargetExists(_))), "{result:?}");
    assert_eq!(std::fs::read_to_string(&target).expect("the file is still readable"), "yesterday's backup");
}

#[tokio::test]
async fn a_backup_of_postgres_is_refused_with_a_pointer_to_pg_dump() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let target = dir.path().join("backup.db");

    let result = backup_sqlite(&DbOptions::new("postgres://postgres@127.0.0.1:5432/postgres"), &target).await;

    assert!(matches!(result, Err(BackupError::Postgres)), "{result:?}");
    assert!(!target.exists());
}
