//! Storage for Rapport: one code path over SQLite and PostgreSQL, chosen at run time from the
//! database URL.
//!
//! Reads go through [`Db::exec`]; every write goes through [`Db::write`], which hands the caller a
//! [`Tx`] inside a transaction. On SQLite all writes of the process funnel into one writer
//! connection that commits them in groups (see [`sqlite`]); on PostgreSQL each write takes a pooled
//! connection and its own transaction. Store code is written once with the [`sql!`] macro, which
//! expands the same body for each backend; only where SQL truly differs does a store match on
//! [`Backend`].
//!
//! Nothing outside `store` files and infrastructure crates should use this crate's connection
//! types directly.

mod backup;
mod error;
mod migrate;
pub mod sqlite;

use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;
use rapport_core::Secret;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{PgPool, Postgres, SqlitePool, Transaction};

pub use backup::{BackupError, backup_sqlite};
pub use error::DbError;
pub use migrate::MigrationStatus;
pub use sqlx;

/// Which database engine a [`Db`] talks to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Tunables that have sensible defaults; the URL is the only required setting.
#[derive(Clone, Debug)]
pub struct DbOptions {
    pub url: Secret<String>,
    /// Connections in the SQLite reader pool or the PostgreSQL pool.
    pub max_connections: u32,
    /// How long a SQLite statement waits for a lock held by another process.
    pub busy_timeout: Duration,
    /// How long a caller waits for a pooled connection before the request fails.
    pub acquire_timeout: Duration,
}

impl DbOptions {
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: Secret::new(url.into()),
            max_connections: 16,
            busy_timeout: Duration::from_secs(10),
            acquire_timeout: Duration::from_secs(10),
        }
    }
}

/// A handle to the database, cheap to clone and shared by every request and job.
#[derive(Clone)]
pub struct Db {
    inner: Arc<Inner>,
}

enum Inner {
    Sqlite(sqlite::SqliteDb),
    Postgres(PgPool),
}

/// A borrowed executor for one backend; the [`sql!`] macro expands one body per variant.
pub enum Exec<S, P> {
    Sqlite(S),
    Postgres(P),
}

/// Runs `$body` with `$conn` bound to the backend's executor, once per backend.
///
/// ```ignore
/// let n: i64 = sql!(db.exec(), c => sqlx::query_scalar("SELECT count(*) FROM jobs").fetch_one(c).await)?;
/// // `execute` results differ per backend: map them to `rows_affected()`.
/// let changed = sql!(tx.exec(), c => sqlx::query("DELETE FROM jobs").execute(c).await.map(|r| r.rows_affected()))?;
/// ```
#[macro_export]
macro_rules! sql {
    ($exec:expr, $conn:ident => $body:expr) => {
        match $exec {
            $crate::Exec::Sqlite($conn) => $body,
            $crate::Exec::Postgres($conn) => $body,
        }
    };
}

impl Db {
    /// Opens the database named by `options.url`, refusing any scheme other than `sqlite://` and
    /// `postgres://` (or `postgresql://`) so that a typo never silently creates an empty database.
    /// Migrations are applied before the handle is returned.
    pub async fn connect(options: &DbOptions) -> Result<Self, DbError> {
        let url = options.url.expose();
        let inner = if url.starts_with("sqlite://") || url.starts_with("sqlite:") {
            Inner::Sqlite(sqlite::SqliteDb::open(url, options).await?)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Inner::Postgres(connect_postgres(url, options).await?)
        } else {
            return Err(DbError::UnsupportedUrl);
        };
        let db = Self { inner: Arc::new(inner) };
        db.migrate().await?;
        Ok(db)
    }

    pub fn backend(&self) -> Backend {
        match &*self.inner {
            Inner::Sqlite(_) => Backend::Sqlite,
            Inner::Postgres(_) => Backend::Postgres,
        }
    }

    /// An executor for reads. On SQLite it is the reader pool, which refuses writes.
    pub fn exec(&self) -> Exec<&SqlitePool, &PgPool> {
        match &*self.inner {
            Inner::Sqlite(db) => Exec::Sqlite(db.readers()),
            Inner::Postgres(pool) => Exec::Postgres(pool),
        }
    }

    /// Runs `work` inside a write transaction and returns its result once the transaction is
    /// durable. If `work` fails, its changes are rolled back and nothing else is affected.
    ///
    /// `work` must only talk to the database: on SQLite it runs on the single writer, and any
    /// other wait inside it would hold up every writer of the process.
    ///
    /// A caller that stops waiting (a cancelled request) does not cancel a write already queued
    /// on SQLite: it still commits. On PostgreSQL the transaction is rolled back when the caller
    /// goes away. Either way the outcome is all or nothing.
    pub async fn write<T, E, F>(&self, work: F) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<DbError> + Send + 'static,
        F: for<'t> FnOnce(&'t mut Tx) -> BoxFuture<'t, Result<T, E>> + Send + 'static,
    {
        match &*self.inner {
            Inner::Sqlite(db) => db.write(work).await,
            Inner::Postgres(pool) => write_postgres(pool, work).await,
        }
    }

    /// Reader, writer and pool figures for `/metrics`.
    pub fn pool_stats(&self) -> PoolStats {
        match &*self.inner {
            Inner::Sqlite(db) => db.pool_stats(),
            Inner::Postgres(pool) => PoolStats {
                size: pool.size(),
                idle: u32::try_from(pool.num_idle()).unwrap_or(u32::MAX),
                pending_writes: 0,
            },
        }
    }

    /// Closes every connection, waiting for queued writes to finish first.
    pub async fn close(&self) {
        match &*self.inner {
            Inner::Sqlite(db) => db.close().await,
            Inner::Postgres(pool) => pool.close().await,
        }
    }

    /// Whether a trivial query answers: the database is reachable.
    pub async fn ping(&self) -> Result<(), DbError> {
        sql!(self.exec(), c => sqlx::query("SELECT 1").execute(c).await.map(|r| r.rows_affected()))?;
        Ok(())
    }

    pub(crate) fn postgres_pool(&self) -> Option<&PgPool> {
        match &*self.inner {
            Inner::Postgres(pool) => Some(pool),
            Inner::Sqlite(_) => None,
        }
    }
}

#[derive(Clone, Copy, Debug, Default)]
pub struct PoolStats {
    pub size: u32,
    pub idle: u32,
    /// Writes waiting for the SQLite writer; always 0 on PostgreSQL.
    pub pending_writes: usize,
}

/// A write transaction in progress. Store functions take `&mut Tx` and use [`Tx::exec`] with
/// the [`sql!`] macro.
pub struct Tx {
    conn: TxConn,
}

enum TxConn {
    Sqlite(sqlx::SqliteConnection),
    Postgres(Transaction<'static, Postgres>),
}

impl Tx {
    pub fn backend(&self) -> Backend {
        match self.conn {
            TxConn::Sqlite(_) => Backend::Sqlite,
            TxConn::Postgres(_) => Backend::Postgres,
        }
    }

    pub fn exec(&mut self) -> Exec<&mut sqlx::SqliteConnection, &mut sqlx::PgConnection> {
        match &mut self.conn {
            TxConn::Sqlite(conn) => Exec::Sqlite(conn),
            TxConn::Postgres(tx) => Exec::Postgres(&mut **tx),
        }
    }

    /// Opens a savepoint: a step of the transaction that can be undone alone with
    /// [`Tx::roll_back_to`], so one step a constraint refuses does not cost the others. On
    /// PostgreSQL a failed statement otherwise aborts the whole transaction.
    pub async fn savepoint(&mut self, name: &'static str) -> Result<(), DbError> {
        self.run(&format!("SAVEPOINT {name}")).await
    }

    /// Keeps what was done since the savepoint `name`.
    pub async fn release(&mut self, name: &'static str) -> Result<(), DbError> {
        self.run(&format!("RELEASE SAVEPOINT {name}")).await
    }

    /// Undoes what was done since the savepoint `name`, and closes it.
    pub async fn roll_back_to(&mut self, name: &'static str) -> Result<(), DbError> {
        self.run(&format!("ROLLBACK TO SAVEPOINT {name}")).await?;
        self.release(name).await
    }

    async fn run(&mut self, statement: &str) -> Result<(), DbError> {
        sql!(self.exec(), c => sqlx::query(sqlx::AssertSqlSafe(statement.to_owned())).execute(c).await.map(drop))?;
        Ok(())
    }
}

async fn connect_postgres(url: &str, options: &DbOptions) -> Result<PgPool, DbError> {
    let connect: PgConnectOptions = url.parse().map_err(|_| DbError::UnsupportedUrl)?;
    PgPoolOptions::new()
        .max_connections(options.max_connections)
        .acquire_timeout(options.acquire_timeout)
        .connect_with(connect.application_name("rapport"))
        .await
        .map_err(DbError::from)
}

async fn write_postgres<T, E, F>(pool: &PgPool, work: F) -> Result<T, E>
where
    E: From<DbError>,
    F: for<'t> FnOnce(&'t mut Tx) -> BoxFuture<'t, Result<T, E>>,
{
    // A sqlx transaction, not a bare `BEGIN`: when `work` panics or the caller drops this future
    // half-way, dropping it rolls back before the connection goes back to the pool. A bare
    // `BEGIN` left the transaction open there, and the next write committed it.
    let transaction = pool.begin().await.map_err(DbError::from)?;
    let mut tx = Tx { conn: TxConn::Postgres(transaction) };
    let result = work(&mut tx).await;
    let TxConn::Postgres(transaction) = tx.conn else {
        unreachable!("a PostgreSQL write always holds a PostgreSQL transaction")
    };
    match result {
        Ok(value) => {
            transaction.commit().await.map_err(DbError::from)?;
            Ok(value)
        }
        Err(err) => {
            if let Err(rollback) = transaction.rollback().await {
                tracing::warn!(error = %rollback, "rollback failed");
            }
            Err(err)
        }
    }
}

impl Db {
    /// A PostgreSQL `LISTEN` on `channel`, for waking workers; SQLite has no such thing and
    /// answers [`DbError::Unavailable`].
    pub async fn listen(&self, channel: &str) -> Result<sqlx::postgres::PgListener, DbError> {
        let pool = self.postgres_pool().ok_or_else(|| DbError::Unavailable("LISTEN needs PostgreSQL".into()))?;
        let mut listener = sqlx::postgres::PgListener::connect_with(pool).await?;
        listener.listen(channel).await?;
        Ok(listener)
    }
}
