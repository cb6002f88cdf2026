//! Durable single-row writes per second at increasing concurrency: what group commit buys on
//! SQLite (WAL, synchronous=FULL) and what PostgreSQL does with the same code path.
//!
//! `cargo bench -p rapport-db --bench group_commit` runs SQLite in a temporary directory; with
//! `RAPPORT_BENCH_DATABASE_URL=postgres://…` it runs on that (empty, disposable) database
//! instead. Each level runs for `RAPPORT_BENCH_SECONDS` (default 3) after a short warm-up and
//! prints one JSON line per level.

#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use rapport_db::{Backend, Db, DbError, DbOptions, sql};

const LEVELS: [usize; 5] = [1, 4, 16, 64, 256];

#[tokio::main]
async fn main() {
    let seconds: u64 = std::env::var("RAPPORT_BENCH_SECONDS").ok().and_then(|s| s.parse().ok()).unwrap_or(3);
    let dir = tempfile::tempdir().unwrap();
    let url = std::env::var("RAPPORT_BENCH_DATABASE_URL")
        .unwrap_or_else(|_| format!("sqlite://{}", dir.path().join("bench.db").display()));
    let mut options = DbOptions::new(url);
    options.max_connections = 64;
    let db = Db::connect(&options).await.unwrap();
    prepare(&db).await;
    for level in LEVELS {
        run_level(&db, level, Duration::from_millis(500)).await;
        let (count, latencies, elapsed) = run_level(&db, level, Duration::from_secs(seconds)).await;
        let report = serde_json::json!({
            "scenario": "durable-single-row-write",
            "backend": format!("{:?}", db.backend()).to_lowercase(),
            "concurrency": level,
            "writes": count,
            "writes_per_second": (count as f64 / elapsed.as_secs_f64()).round(),
            "p50_ms": percentile(&latencies, 0.50),
            "p99_ms": percentile(&latencies, 0.99),
        });
        println!("{report}");
    }
    db.close().await;
}

async fn prepare(db: &Db) {
    db.write(|tx| {
        Box::pin(async move {
            let ddl = match tx.backend() {
                Backend::Sqlite => "CREATE TABLE IF NOT EXISTS bench_writes (id INTEGER PRIMARY KEY, writer INTEGER NOT NULL, payload TEXT NOT NULL)",
                Backend::Postgres => "CREATE TABLE IF NOT EXISTS bench_writes (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, writer bigint NOT NULL, payload text NOT NULL)",
            };
            sql!(tx.exec(), c => sqlx::query(ddl).execute(c).await.map(|r| r.rows_affected()))?;
            Ok::<_, DbError>(())
        })
    })
    .await
    .unwrap();
}

async fn run_level(db: &Db, writers: usize, duration: Duration) -> (usize, Vec<f64>, Duration) {
    let stop = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for writer in 0..writers {
        let (db, stop) = (db.clone(), Arc::clone(&stop));
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            while !stop.load(Ordering::Relaxed) {
                let began = Instant::now();
                db.write(move |tx| {
                    Box::pin(async move {
                        sql!(tx.exec(), c => sqlx::query("INSERT INTO bench_writes (writer, payload) VALUES ($1, $2)")
                            .bind(writer as i64).bind("a realistic row of about sixty bytes of text for each insert")
                            .execute(c).await.map(|r| r.rows_affected()))?;
                        Ok::<_, DbError>(())
                    })
                })
                .await
                .unwrap();
                latencies.push(began.elapsed().as_secs_f64() * 1000.0);
            }
            latencies
        }));
    }
    tokio::time::sleep(duration).await;
    stop.store(true, Ordering::Relaxed);
    let mut all = Vec::new();
    for task in tasks {
        all.extend(task.await.unwrap());
    }
    let elapsed = started.elapsed();
    all.sort_by(f64::total_cmp);
    (all.len(), all, elapsed)
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    (sorted[index] * 100.0).round() / 100.0
}
