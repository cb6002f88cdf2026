//! A fresh, migrated database for each test.
//!
//! By default a SQLite file in a temporary directory. When `RAPPORT_TEST_DATABASE_URL` names a
//! PostgreSQL server, a new database with a random name is created there for the test and
//! dropped (with any open connections) when the [`TestDb`] is dropped, even if the test panicked.

use std::path::PathBuf;

use rapport_db::{Db, DbOptions};
use sqlx::{Connection, PgConnection};

pub const TEST_DATABASE_URL: &str = "RAPPORT_TEST_DATABASE_URL";

pub struct TestDb {
    options: DbOptions,
    db: Db,
    cleanup: Cleanup,
}

enum Cleanup {
    Sqlite(tempfile::TempDir),
    Postgres { server: String, name: String },
}

impl TestDb {
    pub async fn new() -> Self {
        let options = Self::fresh_options().await;
        let db = Db::connect(&options.0).await.expect("the test database opens and migrates");
        Self { options: options.0, db, cleanup: options.1 }
    }

    /// Options for a fresh, empty database that is not opened yet (tests of start-up itself).
    pub async fn unopened() -> (DbOptions, impl Drop) {
        let (options, cleanup) = Self::fresh_options().await;
        (options, Guard(Some(cleanup)))
    }

    async fn fresh_options() -> (DbOptions, Cleanup) {
        match std::env::var(TEST_DATABASE_URL) {
            Ok(server) if !server.is_empty() => {
                let name = format!("rapport_test_{}", uuid::Uuid::new_v4().simple());
                let mut admin = PgConnection::connect(&server).await.expect("the PostgreSQL test server is reachable");
                sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
                    .execute(&mut admin)
                    .await
                    .expect("the test database is created");
                admin.close().await.ok();
                let url = with_database(&server, &name);
                (DbOptions::new(url), Cleanup::Postgres { server, name })
            }
            _ => {
                let dir = tempfile::tempdir().expect("a temporary directory");
                let url = format!("sqlite://{}", dir.path().join("rapport.db").display());
                (DbOptions::new(url), Cleanup::Sqlite(dir))
            }
        }
    }

    pub fn db(&self) -> &Db {
        &self.db
    }

    pub fn options(&self) -> &DbOptions {
        &self.options
    }

    /// The SQLite file, for tests that reopen or back it up; `None` on PostgreSQL.
    pub fn sqlite_path(&self) -> Option<PathBuf> {
        match &self.cleanup {
            Cleanup::Sqlite(dir) => Some(dir.path().join("rapport.db")),
            Cleanup::Postgres { .. } => None,
        }
    }

    /// Closes this handle and opens a new one on the same database, as a restart would.
    pub async fn reopen(&mut self) {
        self.db.close().await;
        self.db = Db::connect(&self.options).await.expect("the test database reopens");
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        drop_database(&self.cleanup);
    }
}

struct Guard(Option<Cleanup>);

impl Drop for Guard {
    fn drop(&mut self) {
        if let Some(cleanup) = &self.0 {
            drop_database(cleanup);
        }
    }
}

fn drop_database(cleanup: &Cleanup) {
    let Cleanup::Postgres { server, name } = cleanup else {
        return;
    };
    let (server, name) = (server.clone(), name.clone());
    // Drop runs inside the test's runtime, which cannot be blocked on; use a thread of our own.
    let dropped = std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
        runtime.block_on(async {
            let mut admin = PgConnection::connect(&server).await?;
            sqlx::query(sqlx::AssertSqlSafe(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")))
                .execute(&mut admin)
                .await?;
            admin.close().await?;
            Ok::<_, sqlx::Error>(())
        })?;
        Ok::<_, Box<dyn std::error::Error + Send + Sync>>(())
    })
    .join();
    if !matches!(dropped, Ok(Ok(()))) {
        eprintln!("warning: could not drop test database {}", cleanup_name(cleanup));
    }
}

fn cleanup_name(cleanup: &Cleanup) -> &str {
    match cleanup {
        Cleanup::Postgres { name, .. } => name,
        Cleanup::Sqlite(_) => "",
    }
}

/// Replaces the database name of a PostgreSQL URL, keeping credentials and parameters.
fn with_database(server: &str, name: &str) -> String {
    let (base, query) = server.split_once('?').map_or((server, None), |(b, q)| (b, Some(q)));
    let authority_end = base.find("://").map_or(0, |i| i + 3);
    let path_start = base[authority_end..].find('/').map_or(base.len(), |i| authority_end + i);
    let mut url = format!("{}/{name}", &base[..path_start]);
    if let Some(query) = query {
        url.push('?');
        url.push_str(query);
    }
    url
}

/// The engine the tests run against, chosen the way [`TestDb`] chooses it.
pub fn backend_under_test() -> rapport_db::Backend {
    match std::env::var(TEST_DATABASE_URL) {
        Ok(url) if !url.is_empty() => rapport_db::Backend::Postgres,
        _ => rapport_db::Backend::Sqlite,
    }
}

/// True when the tests run against `backend`; otherwise prints why `test` is skipped.
pub fn skip_unless(backend: rapport_db::Backend, test: &str) -> bool {
    if backend_under_test() == backend {
        return true;
    }
    println!("skipped {test}: it only applies to {backend:?} and the tests run against {:?}", backend_under_test());
    false
}

/// Polls `check` until it holds, failing the test after `within`. Tests wait for conditions,
/// never for a fixed time.
pub async fn eventually<F, Fut>(what: &str, within: std::time::Duration, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + within;
    while !check().await {
        assert!(tokio::time::Instant::now() < deadline, "timed out waiting until {what}");
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::with_database;

    #[test]
    fn the_database_name_is_replaced_and_parameters_kept() {
        assert_eq!(
            with_database("postgres://postgres@127.0.0.1:5432/postgres", "t1"),
            "postgres://postgres@127.0.0.1:5432/t1"
        );
        assert_eq!(with_database("postgres://u:p@h/db?sslmode=disable", "t2"), "postgres://u:p@h/t2?sslmode=disable");
        assert_eq!(with_database("postgres://h:5432", "t3"), "postgres://h:5432/t3");
    }
}
