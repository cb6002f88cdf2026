//! The SQLite settings durability and integrity rest on hold on every connection, and the
//! readers cannot write behind the writer's back.

use rapport_db::{Backend, Exec, sql};
use rapport_test_db::TestDb;
use sqlx::SqliteConnection;

use crate::support::{setting_keys, skip_unless};

/// The settings as `(journal_mode, synchronous, foreign_keys, secure_delete, busy_timeout,
/// query_only)`.
type Settings = (String, i64, i64, i64, i64, i64);

async fn settings(conn: &mut SqliteConnection) -> Settings {
    sqlx::query_as(
        "SELECT (SELECT journal_mode FROM pragma_journal_mode),
                (SELECT synchronous FROM pragma_synchronous),
                (SELECT foreign_keys FROM pragma_foreign_keys),
                (SELECT secure_delete FROM pragma_secure_delete),
                (SELECT timeout FROM pragma_busy_timeout),
                (SELECT query_only FROM pragma_query_only)",
    )
    .fetch_one(conn)
    .await
    .expect("the settings can be read")
}

fn assert_durable(settings: &Settings) {
    let (journal_mode, synchronous, foreign_keys, secure_delete, busy_timeout, _) = settings;
    assert_eq!(journal_mode, "wal");
    assert_eq!(*synchronous, 2, "synchronous is FULL");
    assert_eq!(*foreign_keys, 1);
    assert_eq!(*secure_delete, 1);
    assert!(*busy_timeout > 0, "busy_timeout is set");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_reader_connection_has_the_durability_settings_and_is_read_only() {
    if !skip_unless(Backend::Sqlite, "every_reader_connection_has_the_durability_settings_and_is_read_only") {
        return;
    }
    let test_db = TestDb::new().await;
    let Exec::Sqlite(readers) = test_db.db().exec() else { unreachable!("the test database is SQLite") };
    // Held at once, so that each is a distinct connection of the pool.
    let mut connections = Vec::new();
    for _ in 0..4 {
        connections.push(readers.acquire().await.expect("a reader connection"));
    }

    for conn in &mut connections {
        let settings = settings(conn).await;
        assert_durable(&settings);
        assert_eq!(settings.5, 1, "query_only is on");
    }
}

#[tokio::test]
async fn the_writer_connection_has_the_durability_settings_and_may_write() {
    if !skip_unless(Backend::Sqlite, "the_writer_connection_has_the_durability_settings_and_may_write") {
        return;
    }
    let test_db = TestDb::new().await;

    let settings = test_db
        .db()
        .write(|tx| {
            Box::pin(async move {
                let rapport_db::Exec::Sqlite(conn) = tx.exec() else { unreachable!("the test database is SQLite") };
                Ok::<_, rapport_db::DbError>(settings(conn).await)
            })
        })
        .await
        .expect("the write commits");

    assert_durable(&settings);
    assert_eq!(settings.5, 0, "query_only is off");
}

#[tokio::test]
async fn a_write_through_the_reader_pool_is_refused() {
    if !skip_unless(Backend::Sqlite, "a_write_through_the_reader_pool_is_refused") {
        return;
    }
    let test_db = TestDb::new().await;

    let written = sql!(test_db.db().exec(), c => sqlx::query("INSERT INTO instance_settings (key, value) VALUES ('sneaky', 'v')")
        .execute(c).await.map(|r| r.rows_affected()));

    assert!(written.is_err(), "the reader wrote {written:?} rows");
    assert!(setting_keys(test_db.db()).await.is_empty());
}
