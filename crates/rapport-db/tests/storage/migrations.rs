//! Both engines carry the same schema history, and a database is fully migrated once connected.

use std::collections::BTreeSet;
use std::path::Path;

use rapport_test_db::TestDb;

fn migration_names(engine: &str) -> BTreeSet<String> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../migrations").join(engine);
    std::fs::read_dir(&dir)
        .unwrap_or_else(|err| panic!("{} can be listed: {err}", dir.display()))
        .map(|entry| entry.expect("a directory entry can be read").file_name().to_string_lossy().into_owned())
        .collect()
}

#[test]
fn sqlite_and_postgres_migrations_have_identical_file_names() {
    let sqlite = migration_names("sqlite");
    let postgres = migration_names("postgres");

    assert!(!sqlite.is_empty(), "there are migrations to compare");
    assert_eq!(sqlite, postgres, "a migration exists for one engine only");
}

#[tokio::test]
async fn a_connected_database_has_every_embedded_migration_applied() {
    let test_db = TestDb::new().await;

    let status = test_db.db().migration_status().await.expect("the status can be read");

    assert!(status.is_current(), "{status:?}");
    assert_eq!(status.applied, migration_names("sqlite").len());
}

#[tokio::test]
async fn reconnecting_to_a_migrated_database_applies_nothing_twice() {
    let mut test_db = TestDb::new().await;
    let first = test_db.db().migration_status().await.expect("the status can be read");

    test_db.reopen().await;

    assert_eq!(test_db.db().migration_status().await.expect("the status can be read"), first);
}
