//! SQLite with one writer and a pool of readers, committing writes in groups.
//!
//! SQLite allows one writer at a time, and with `synchronous=FULL` each commit costs an fsync
//! (about 3 ms here). Rather than weaken durability, concurrent writes are batched: a single
//! task owns the writer connection, takes every write waiting in its queue, runs each inside its
//! own savepoint of one `BEGIN IMMEDIATE` transaction, commits once, and only then acknowledges
//! each caller. A write that fails rolls back to its savepoint and leaves the rest of the group
//! untouched. Batching is not timed: the group is whatever queued up during the previous commit,
//! so an idle system commits a lone write at once.
//!
//! Readers run with `query_only` so that no statement can write outside the writer; in WAL mode
//! they never wait for it.

use std::panic::AssertUnwindSafe;
use std::str::FromStr;

use futures::FutureExt;
use futures::future::BoxFuture;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{ConnectOptions, Connection, SqliteConnection, SqlitePool};
use std::sync::Arc;

use tokio::sync::{Notify, mpsc, oneshot};

use crate::{DbError, DbOptions, PoolStats, Tx, TxConn};

/// How many writes may wait for the writer before callers are slowed down (back-pressure).
const QUEUE_DEPTH: usize = 8192;
/// The most writes one transaction takes, so that a flood still gets acknowledged in slices.
const MAX_GROUP: usize = 512;

type Deliver = Box<dyn FnOnce(Result<(), DbError>) + Send>;
type WriteOp = Box<dyn for<'t> FnOnce(&'t mut Tx) -> BoxFuture<'t, (bool, Deliver)> + Send>;

pub(crate) struct SqliteDb {
    readers: SqlitePool,
    queue: mpsc::Sender<WriteOp>,
    writer: tokio::sync::Mutex<Option<tokio::task::JoinHandle<()>>>,
    shutdown: Arc<Notify>,
}

/// The connection settings every SQLite connection of Rapport uses.
pub fn connect_options(url: &str, options: &DbOptions) -> Result<SqliteConnectOptions, DbError> {
    let parsed = SqliteConnectOptions::from_str(url).map_err(|_| DbError::UnsupportedUrl)?;
    Ok(parsed
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Full)
        .foreign_keys(true)
        .busy_timeout(options.busy_timeout)
        .pragma("secure_delete", "ON")
        .log_statements(tracing::log::LevelFilter::Trace))
}

impl SqliteDb {
    pub(crate) async fn open(url: &str, options: &DbOptions) -> Result<Self, DbError> {
        let connect = connect_options(url, options)?;
        if let Some(parent) = connect.get_filename().parent()
            && !parent.as_os_str().is_empty()
        {
            std::fs::create_dir_all(parent)
                .map_err(|e| DbError::Unavailable(format!("cannot create {}: {e}", parent.display())))?;
        }
        let mut writer = connect.connect().await?;
        crate::migrate::run_sqlite(&mut writer).await?;
        self_check(&mut writer, false).await?;

        let readers = SqlitePoolOptions::new()
            .max_connections(options.max_connections)
            .acquire_timeout(options.acquire_timeout)
            .after_connect(|conn, _| {
                Box::pin(async move {
                    sqlx::query("PRAGMA query_only = ON").execute(&mut *conn).await?;
                    Ok(())
                })
            })
            .connect_with(connect)
            .await?;
        self_check(&mut *readers.acquire().await?, true).await?;

        let (queue, receiver) = mpsc::channel(QUEUE_DEPTH);
        let shutdown = Arc::new(Notify::new());
        let writer = tokio::spawn(run_writer(writer, receiver, Arc::clone(&shutdown)));
        Ok(Self { readers, queue, writer: tokio::sync::Mutex::new(Some(writer)), shutdown })
    }

    pub(crate) fn readers(&self) -> &SqlitePool {
        &self.readers
    }

    pub(crate) async fn write<T, E, F>(&self, work: F) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<DbError> + Send + 'static,
        F: for<'t> FnOnce(&'t mut Tx) -> BoxFuture<'t, Result<T, E>> + Send + 'static,
    {
        let (reply, response) = oneshot::channel::<Result<T, E>>();
        let op: WriteOp = Box::new(move |tx: &mut Tx| {
            async move {
                let outcome = work(tx).await;
                let succeeded = outcome.is_ok();
                let deliver: Deliver = Box::new(move |commit: Result<(), DbError>| {
                    let result = match (outcome, commit) {
                        (Ok(value), Ok(())) => Ok(value),
                        (Ok(_), Err(err)) => Err(E::from(err)),
                        (Err(err), _) => Err(err),
                    };
                    // The caller may have gone away (request cancelled); the write still happened.
                    let _ = reply.send(result);
                });
                (succeeded, deliver)
            }
            .boxed()
        });
        self.queue.send(op).await.map_err(|_| E::from(DbError::WriterGone))?;
        response.await.map_err(|_| E::from(DbError::WriteAborted))?
    }

    pub(crate) fn pool_stats(&self) -> PoolStats {
        PoolStats {
            size: self.readers.size(),
            idle: u32::try_from(self.readers.num_idle()).unwrap_or(u32::MAX),
            pending_writes: QUEUE_DEPTH - self.queue.capacity(),
        }
    }

    pub(crate) async fn close(&self) {
        self.shutdown.notify_one();
        let handle = self.writer.lock().await.take();
        if let Some(handle) = handle
            && let Err(err) = handle.await
        {
            tracing::error!(error = %err, "the SQLite writer ended abnormally");
        }
        self.readers.close().await;
    }
}

/// Owns the writer connection until shutdown, when it stops taking new writes, commits those
/// already queued and closes the connection.
async fn run_writer(conn: SqliteConnection, mut receiver: mpsc::Receiver<WriteOp>, shutdown: Arc<Notify>) {
    let mut tx = Tx { conn: TxConn::Sqlite(conn) };
    let mut group: Vec<WriteOp> = Vec::with_capacity(MAX_GROUP);
    let mut closing = false;
    loop {
        tokio::select! {
            biased;
            () = shutdown.notified(), if !closing => {
                closing = true;
                receiver.close();
            }
            received = receiver.recv_many(&mut group, MAX_GROUP) => {
                if received == 0 {
                    break;
                }
                commit_group(&mut tx, group.drain(..)).await;
            }
        }
    }
    if let TxConn::Sqlite(conn) = tx.conn
        && let Err(err) = conn.close().await
    {
        tracing::warn!(error = %err, "closing the SQLite writer failed");
    }
}

async fn commit_group(tx: &mut Tx, ops: impl Iterator<Item = WriteOp>) {
    let TxConn::Sqlite(conn) = &mut tx.conn else { unreachable!("the SQLite writer holds a SQLite connection") };
    if let Err(err) = sqlx::query("BEGIN IMMEDIATE").execute(&mut *conn).await {
        // Dropping the writes unrun answers each caller with `DbError::WriteAborted`.
        tracing::error!(error = %DbError::from(err), "could not begin a write transaction");
        drop(ops.collect::<Vec<_>>());
        return;
    }
    let mut deliveries = Vec::new();
    for op in ops {
        if let Err(err) = savepoint(tx, "SAVEPOINT write_op").await {
            tracing::error!(error = %err, "could not open a savepoint; the write is aborted");
            drop(op);
            continue;
        }
        let ran = AssertUnwindSafe(op(tx)).catch_unwind().await;
        let (succeeded, deliver) = match ran {
            Ok(outcome) => outcome,
            Err(_) => {
                continue_after_panic(tx).await;
                continue;
            }
        };
        let closing = if succeeded {
            savepoint(tx, "RELEASE write_op").await
        } else {
            match savepoint(tx, "ROLLBACK TO write_op").await {
                Ok(()) => savepoint(tx, "RELEASE write_op").await,
                Err(err) => Err(err),
            }
        };
        if let Err(err) = closing {
            tracing::error!(error = %err, "closing a savepoint failed");
        }
        deliveries.push(deliver);
    }
    let commit = savepoint(tx, "COMMIT").await;
    if commit.is_err() {
        // Leave the connection usable for the next group whatever state the failure left.
        let _ = savepoint(tx, "ROLLBACK").await;
    }
    for deliver in deliveries {
        deliver(match &commit {
            Ok(()) => Ok(()),
            Err(err) => Err(DbError::Unavailable(format!("commit failed: {err}"))),
        });
    }
}

/// A panicking write dropped its reply channel (its caller sees `WriteAborted`); undo its part.
async fn continue_after_panic(tx: &mut Tx) {
    tracing::error!("a write panicked; its changes are rolled back");
    if let Err(err) = savepoint(tx, "ROLLBACK TO write_op").await {
        tracing::error!(error = %err, "rolling back a panicked write failed");
    }
    if let Err(err) = savepoint(tx, "RELEASE write_op").await {
        tracing::error!(error = %err, "releasing a panicked write's savepoint failed");
    }
}

async fn savepoint(tx: &mut Tx, statement: &'static str) -> Result<(), DbError> {
    let TxConn::Sqlite(conn) = &mut tx.conn else { unreachable!("the SQLite writer holds a SQLite connection") };
    sqlx::query(statement).execute(&mut *conn).await?;
    Ok(())
}

/// Asserts the settings durability and integrity depend on; a connection that lacks them is a
/// deployment error, caught at start-up rather than discovered after a power cut.
async fn self_check(conn: &mut SqliteConnection, reader: bool) -> Result<(), DbError> {
    let expect = [("journal_mode", "wal"), ("synchronous", "2"), ("foreign_keys", "1"), ("secure_delete", "1")];
    for (pragma, wanted) in expect {
        let value: String =
            sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT CAST({pragma} AS TEXT) FROM pragma_{pragma}")))
                .fetch_one(&mut *conn)
                .await?;
        if !value.eq_ignore_ascii_case(wanted) {
            return Err(DbError::SelfCheck(format!("PRAGMA {pragma} is {value}, expected {wanted}")));
        }
    }
    let busy: i64 = sqlx::query_scalar("SELECT timeout FROM pragma_busy_timeout").fetch_one(&mut *conn).await?;
    if busy <= 0 {
        return Err(DbError::SelfCheck("PRAGMA busy_timeout is 0".into()));
    }
    let query_only: i64 = sqlx::query_scalar("SELECT query_only FROM pragma_query_only").fetch_one(&mut *conn).await?;
    if (query_only == 1) != reader {
        return Err(DbError::SelfCheck(format!(
            "PRAGMA query_only is {query_only} on a {} connection",
            if reader { "reader" } else { "writer" }
        )));
    }
    Ok(())
}
