//! `write-durable`: durable single-row inserts through `rapport_db::Db::write` at increasing
//! concurrency, in process, beside the raw database doing the same inserts one autocommit
//! transaction each (SQLite: one connection in WAL mode with `synchronous=FULL`, as a program
//! without group commit would; PostgreSQL: a pool as large as the concurrency, up to 64).
//! The ratio shows what group commit buys on SQLite and what the shared code path costs on
//! PostgreSQL. Every acknowledged write is durable on both sides.

use std::future::Future;
use std::str::FromStr;

use rapport_db::{Backend, Db, DbError, DbOptions, sql};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{ConnectOptions, PgPool, SqlitePool};

use super::load::{Operation, drive};
use super::report::{Measurement, Report, Run};
use super::system::peak_rss_bytes;
use super::{Context, Scale, Scenario};

pub const SCENARIO: Scenario = Scenario {
    name: "write-durable",
    summary: "durable single-row writes through Db::write at 1–256 writers, against raw autocommit inserts",
    run: |cx| Box::pin(run(cx)),
};

/// The level reported as the headline: enough writers to fill a group.
const HEADLINE: usize = 32;
const PAYLOAD: &str = "a realistic row of about sixty bytes of text for each insert";
const POSTGRES_POOL: u32 = 64;

async fn run(cx: &Context) -> anyhow::Result<Report> {
    let levels: &[usize] = if cx.scale == Scale::Tiny { &[1, HEADLINE] } else { &[1, 4, 16, HEADLINE, 64, 256] };
    let period = cx.scale.period();
    let mut options = DbOptions::new(cx.target.database_url());
    options.max_connections = POSTGRES_POOL;
    let db = Db::connect(&options).await?;
    create_table(&db).await?;
    let mut measured = Vec::new();
    for &writers in levels {
        let sample =
            drive(period, (0..writers).map(|w| RapportWrite { db: db.clone(), writer: w as i64 }).collect()).await?;
        let measurement =
            Measurement::new(label(writers), "rapport Db::write", "writes", sample.operations, sample.seconds)
                .with_concurrency(writers)
                .with_latency(sample.latency)
                .with_peak_rss(peak_rss_bytes(std::process::id()), "rapport bench (in process)");
        measured.push(measurement);
    }
    db.close().await;

    // The raw side runs once Rapport's pool is closed: PostgreSQL's default of 100 connections
    // cannot hold both pools at once.
    let raw = RawPool::open(cx, levels.iter().copied().max().unwrap_or(1)).await?;
    let system = match cx.target.backend() {
        Backend::Sqlite => "sqlite autocommit, 1 connection",
        Backend::Postgres => "postgresql autocommit, pool",
    };
    let mut runs = Vec::new();
    for (&writers, measurement) in levels.iter().zip(measured) {
        let sample =
            drive(period, (0..writers).map(|w| RawWrite { pool: raw.clone(), writer: w as i64 }).collect()).await?;
        let baseline = Measurement::new(label(writers), system, "writes", sample.operations, sample.seconds)
            .with_concurrency(writers)
            .with_latency(sample.latency);
        runs.push(Run::against(measurement, baseline));
    }
    raw.close().await;
    let headline = levels.iter().position(|&l| l == HEADLINE).unwrap_or(0);
    Report::new(cx, SCENARIO.name, runs, headline)
}

fn label(writers: usize) -> String {
    format!("{writers} writer{}", if writers == 1 { "" } else { "s" })
}

async fn create_table(db: &Db) -> anyhow::Result<()> {
    db.write(|tx| {
        Box::pin(async move {
            let ddl = match tx.backend() {
                Backend::Sqlite => {
                    "CREATE TABLE bench_writes (id INTEGER PRIMARY KEY, writer INTEGER NOT NULL, payload TEXT NOT NULL)"
                }
                Backend::Postgres => {
                    "CREATE TABLE bench_writes (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, writer bigint NOT NULL, payload text NOT NULL)"
                }
            };
            sql!(tx.exec(), c => sqlx::query(ddl).execute(c).await.map(|r| r.rows_affected()))?;
            Ok::<_, DbError>(())
        })
    })
    .await?;
    Ok(())
}

struct RapportWrite {
    db: Db,
    writer: i64,
}

impl Operation for RapportWrite {
    fn run(&mut self) -> impl Future<Output = anyhow::Result<()>> + Send {
        let (db, writer) = (self.db.clone(), self.writer);
        async move {
            db.write(move |tx| {
                Box::pin(async move {
                    sql!(tx.exec(), c => sqlx::query("INSERT INTO bench_writes (writer, payload) VALUES ($1, $2)")
                        .bind(writer).bind(PAYLOAD).execute(c).await.map(|r| r.rows_affected()))?;
                    Ok::<_, DbError>(())
                })
            })
            .await?;
            Ok(())
        }
    }
}

/// The raw database, with its own table so the two sides never share rows or indexes.
#[derive(Clone)]
enum RawPool {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

impl RawPool {
    async fn open(cx: &Context, max_writers: usize) -> anyhow::Result<Self> {
        match cx.target.backend() {
            Backend::Sqlite => {
                let path = cx.target.scratch().join("raw.db");
                let options = SqliteConnectOptions::from_str(&format!("sqlite://{}", path.display()))?
                    .create_if_missing(true)
                    .journal_mode(SqliteJournalMode::Wal)
                    .synchronous(SqliteSynchronous::Full)
                    .disable_statement_logging();
                let pool = SqlitePoolOptions::new().max_connections(1).connect_with(options).await?;
                sqlx::query(
                    "CREATE TABLE raw_writes (id INTEGER PRIMARY KEY, writer INTEGER NOT NULL, payload TEXT NOT NULL)",
                )
                .execute(&pool)
                .await?;
                Ok(Self::Sqlite(pool))
            }
            Backend::Postgres => {
                let size = u32::try_from(max_writers).unwrap_or(POSTGRES_POOL).min(POSTGRES_POOL);
                let options = PgConnectOptions::from_str(&cx.target.database_url())?.disable_statement_logging();
                let pool = PgPoolOptions::new().max_connections(size).connect_with(options).await?;
                sqlx::query("CREATE TABLE raw_writes (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, writer bigint NOT NULL, payload text NOT NULL)")
                    .execute(&pool)
                    .await?;
                Ok(Self::Postgres(pool))
            }
        }
    }

    async fn close(&self) {
        match self {
            Self::Sqlite(pool) => pool.close().await,
            Self::Postgres(pool) => pool.close().await,
        }
    }
}

struct RawWrite {
    pool: RawPool,
    writer: i64,
}

impl Operation for RawWrite {
    fn run(&mut self) -> impl Future<Output = anyhow::Result<()>> + Send {
        const INSERT: &str = "INSERT INTO raw_writes (writer, payload) VALUES ($1, $2)";
        let (pool, writer) = (self.pool.clone(), self.writer);
        async move {
            match pool {
                RawPool::Sqlite(pool) => {
                    sqlx::query(INSERT).bind(writer).bind(PAYLOAD).execute(&pool).await?;
                }
                RawPool::Postgres(pool) => {
                    sqlx::query(INSERT).bind(writer).bind(PAYLOAD).execute(&pool).await?;
                }
            }
            Ok(())
        }
    }
}
