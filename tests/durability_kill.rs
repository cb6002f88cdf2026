//! Durability under SIGKILL: the real `rapport` binary serves eight clients as fast as it
//! answers, and is killed with SIGKILL at random moments (a seeded generator; the seed is
//! printed, and `RAPPORT_KILL_SEED` replays one) and restarted each time. A client whose
//! request got no answer sends it again, unchanged, to the next server. Afterwards the database
//! must be intact: `PRAGMA integrity_check` on SQLite, `pg_amcheck` on PostgreSQL (when
//! installed; `RAPPORT_REQUIRE_PG_AMCHECK=1` makes its absence a failure).
//!
//! - People: each create carries a unique `external_id` and `Idempotency-Key`. Every create
//!   acknowledged must be present exactly once, and no retry refused as a duplicate.
//! - Tracking: batches of events through `/v1/batch`, each event with its own `messageId`, while
//!   resolution runs in the background and is killed with the server. Every acknowledged event
//!   must be stored exactly once, and once resolution has caught up every event belongs to its
//!   person and each person's event count equals their events: no batch was resolved twice.

#![allow(clippy::unwrap_used)]

mod util;

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use rapport_db::{Db, DbOptions, sql};
use tokio::sync::{Mutex, watch};
use util::Binary;

const KILLS: usize = 50;
const INGEST_KILLS: usize = 30;
const CLIENTS: usize = 8;
const EVENTS_PER_BATCH: usize = 25;

/// SplitMix64: small, seedable, and the same on every machine.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A value in `low..high`.
    fn between(&mut self, low: u64, high: u64) -> u64 {
        low + self.next() % (high - low)
    }
}

/// What the clients saw.
#[derive(Default)]
struct Tally {
    /// External ids whose create was answered 201 (or replayed as such).
    acknowledged: BTreeSet<String>,
    /// Requests that got no answer (connection refused or cut) and were sent again.
    retries: u64,
    /// Answers that were neither success nor a retryable failure, with their bodies.
    refused: Vec<String>,
}

/// Sends a request, built afresh by `send` for whichever server is up, until it is answered;
/// answers whether it succeeded. An answer that is neither success nor retryable goes into the
/// tally's refusals.
async fn until_answered<F, Fut>(tally: &Mutex<Tally>, what: &str, mut send: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = reqwest::Result<reqwest::Response>>,
{
    loop {
        let refused = match send().await {
            Ok(response) => {
                let status = response.status();
                match (status.as_u16(), response.text().await) {
                    (200 | 201, Ok(_)) => return true,
                    // The answer was cut off by the kill, or the server was shedding load: the
                    // request may or may not have taken effect, so it is sent again.
                    (_, Err(_)) | (408 | 429 | 500..=599, Ok(_)) => None,
                    (_, Ok(text)) => Some(format!("{status} for {what}: {text}")),
                }
            }
            Err(_) => None,
        };
        match refused {
            Some(refused) => {
                tally.lock().await.refused.push(refused);
                return false;
            }
            None => {
                tally.lock().await.retries += 1;
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    }
}

/// One client: creates `c{n}-{i}` people one after the other against whichever server is up,
/// retrying each with its key until it is answered. Stops after an answered create once
/// `stop` is set.
async fn client(
    n: usize,
    url: watch::Receiver<String>,
    token: String,
    tally: Arc<Mutex<Tally>>,
    stop: Arc<AtomicBool>,
) {
    let http = reqwest::Client::builder().timeout(Duration::from_secs(10)).build().unwrap();
    for i in 0.. {
        if stop.load(Ordering::SeqCst) {
            return;
        }
        let external_id = format!("c{n}-{i}");
        let body =
            serde_json::json!({"first_name": "Kill", "last_name": format!("Test {n} {i}"), "external_id": external_id});
        let send = || {
            http.post(format!("{}/api/v1/people", url.borrow().as_str()))
                .bearer_auth(&token)
                .header("idempotency-key", format!("kill-{external_id}"))
                .json(&body)
                .send()
        };
        if until_answered(&tally, &external_id, send).await {
            tally.lock().await.acknowledged.insert(external_id.clone());
        }
    }
}

/// One tracking client: sends batches of `EVENTS_PER_BATCH` events of its visitor `v{n}` (an
/// identify first) against whichever server is up, each batch again and again until answered.
async fn sender(
    n: usize,
    url: watch::Receiver<String>,
    write_key: String,
    tally: Arc<Mutex<Tally>>,
    stop: Arc<AtomicBool>,
) {
    let http = reqwest::Client::builder().timeout(Duration::from_secs(10)).build().unwrap();
    for i in 0.. {
        if stop.load(Ordering::SeqCst) {
            return;
        }
        let ids: Vec<String> = (0..EVENTS_PER_BATCH).map(|j| format!("v{n}-{i}-{j}")).collect();
        let calls: Vec<serde_json::Value> = ids
            .iter()
            .enumerate()
            .map(|(j, id)| match (i, j) {
                (0, 0) => serde_json::json!({"type": "identify", "messageId": id, "userId": format!("v{n}"),
                    "traits": {"email": format!("v{n}@durable.example")}}),
                _ => serde_json::json!({"type": "track", "messageId": id, "userId": format!("v{n}"),
                    "event": "Product Viewed", "properties": {"sku": format!("SKU-{j}"), "price": 12.5}}),
            })
            .collect();
        let body = serde_json::json!({ "batch": calls });
        let send = || {
            http.post(format!("{}/v1/batch", url.borrow().as_str())).basic_auth(&write_key, Some("")).json(&body).send()
        };
        if until_answered(&tally, &format!("batch v{n}-{i}"), send).await {
            tally.lock().await.acknowledged.extend(ids.iter().cloned());
        }
    }
}

fn pg_amcheck() -> Option<PathBuf> {
    let on_path = std::env::var_os("PATH")
        .into_iter()
        .flat_map(|paths| std::env::split_paths(&paths).collect::<Vec<_>>())
        .map(|dir| dir.join("pg_amcheck"));
    let installed = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .map(|version| version.path().join("bin").join("pg_amcheck"));
    on_path.chain(installed).find(|path| path.is_file())
}

/// The database is structurally intact.
async fn check_integrity(db: &Db, url: &str) {
    match db.backend() {
        rapport_db::Backend::Sqlite => {
            let rows: Vec<String> =
                sql!(db.exec(), c => sqlx::query_scalar("PRAGMA integrity_check").fetch_all(c).await).unwrap();
            println!("PRAGMA integrity_check: {rows:?}");
            assert_eq!(rows, ["ok"]);
        }
        rapport_db::Backend::Postgres => {
            let Some(program) = pg_amcheck() else {
                let required = std::env::var("RAPPORT_REQUIRE_PG_AMCHECK").is_ok_and(|v| v == "1");
                assert!(!required, "pg_amcheck is required (RAPPORT_REQUIRE_PG_AMCHECK=1) but was not found");
                println!("skipping pg_amcheck: not found on PATH or under /usr/lib/postgresql");
                return;
            };
            let output = std::process::Command::new(&program)
                .args(["--install-missing", "--heapallindexed", "--rootdescend"])
                .arg(format!("--maintenance-db={url}"))
                .arg(url)
                .output()
                .unwrap();
            let report =
                format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
            println!("{} exited {}: {report}", program.display(), output.status);
            assert!(output.status.success(), "pg_amcheck found corruption or failed: {report}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_acknowledged_create_survives_fifty_sigkills_and_the_database_stays_intact() {
    let seed = std::env::var("RAPPORT_KILL_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or_else(|| {
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as u64
    });
    println!("kill seed: {seed} (RAPPORT_KILL_SEED={seed} replays this run)");
    let mut rng = Rng(seed);

    let (mut binary, _guard) = Binary::on_test_database().await;
    binary.env.push(("RAPPORT_LOG__FILTER".into(), "warn".into()));
    let (_, token) = binary.workspace_with_token("Durable", "owner@durable.example").await;

    let mut server = binary.serve().await;
    let (url_tx, url_rx) = watch::channel(server.url.clone());
    let tally = Arc::new(Mutex::new(Tally::default()));
    let stop = Arc::new(AtomicBool::new(false));
    let clients: Vec<_> = (0..CLIENTS)
        .map(|n| tokio::spawn(client(n, url_rx.clone(), token.clone(), Arc::clone(&tally), Arc::clone(&stop))))
        .collect();

    let kills = AtomicU64::new(0);
    for _ in 0..KILLS {
        tokio::time::sleep(Duration::from_millis(rng.between(20, 700))).await;
        server.child.start_kill().unwrap();
        server.child.wait().await.unwrap();
        kills.fetch_add(1, Ordering::SeqCst);
        server = binary.serve().await;
        url_tx.send(server.url.clone()).unwrap();
    }
    // The last server stays up until every client's request in flight has been answered.
    stop.store(true, Ordering::SeqCst);
    for client in clients {
        tokio::time::timeout(Duration::from_secs(120), client).await.expect("the clients finish").unwrap();
    }
    server.stop().await;

    let url = database_url(&binary);
    let db = Db::connect(&DbOptions::new(url.clone())).await.unwrap();
    let stored: Vec<(String, i64)> = sql!(db.exec(), c => sqlx::query_as(
        "SELECT external_id, count(*) FROM people WHERE external_id IS NOT NULL GROUP BY external_id"
    ).fetch_all(c).await)
    .unwrap();
    let stored: BTreeMap<String, i64> = stored.into_iter().collect();
    let tally = tally.lock().await;
    let missing: Vec<_> = tally.acknowledged.iter().filter(|id| !stored.contains_key(*id)).collect();
    let unanswered: Vec<_> = stored.keys().filter(|id| !tally.acknowledged.contains(*id)).collect();
    let doubled: Vec<_> = stored.iter().filter(|(_, n)| **n > 1).collect();
    println!(
        "durability: {} kills, {} creates acknowledged, {} present, {} present but never acknowledged, {} retries, \
         {} missing, {} duplicated",
        kills.load(Ordering::SeqCst),
        tally.acknowledged.len(),
        stored.len(),
        unanswered.len(),
        tally.retries,
        missing.len(),
        doubled.len(),
    );
    assert!(
        tally.refused.is_empty(),
        "answers that should not happen: {:?}",
        &tally.refused[..tally.refused.len().min(5)]
    );
    assert!(missing.is_empty(), "acknowledged creates lost: {missing:?}");
    assert!(doubled.is_empty(), "created twice: {doubled:?}");
    // Every request was retried until answered, so nothing was committed that nobody heard of.
    assert!(unanswered.is_empty(), "committed without any answer: {unanswered:?}");
    assert!(tally.acknowledged.len() > KILLS, "the clients made progress between kills");
    check_integrity(&db, &url).await;
    db.close().await;
}

/// The database URL the binary runs on.
fn database_url(binary: &Binary) -> String {
    binary
        .env
        .iter()
        .find(|(key, _)| key == "RAPPORT_DATABASE_URL")
        .map_or_else(|| format!("sqlite://{}", binary.sqlite_file().display()), |(_, url)| url.clone())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_acknowledged_event_survives_sigkills_and_is_resolved_exactly_once() {
    let seed = std::env::var("RAPPORT_KILL_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or_else(|| {
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as u64
    });
    println!("kill seed: {seed} (RAPPORT_KILL_SEED={seed} replays this run)");
    let mut rng = Rng(seed);

    let (mut binary, _guard) = Binary::on_test_database().await;
    binary.env.push(("RAPPORT_LOG__FILTER".into(), "warn".into()));
    let (workspace, _) = binary.workspace_with_token("Tracked", "owner@tracked.example").await;
    let source = binary.run(&["admin", "create-source", "--workspace", &workspace, "--name", "site"], None).await;
    assert!(source.status.success(), "{}", String::from_utf8_lossy(&source.stderr));
    let write_key = String::from_utf8_lossy(&source.stdout).trim().to_owned();

    let mut server = binary.serve().await;
    let (url_tx, url_rx) = watch::channel(server.url.clone());
    let tally = Arc::new(Mutex::new(Tally::default()));
    let stop = Arc::new(AtomicBool::new(false));
    let senders: Vec<_> = (0..CLIENTS)
        .map(|n| tokio::spawn(sender(n, url_rx.clone(), write_key.clone(), Arc::clone(&tally), Arc::clone(&stop))))
        .collect();
    for _ in 0..INGEST_KILLS {
        tokio::time::sleep(Duration::from_millis(rng.between(20, 700))).await;
        server.child.start_kill().unwrap();
        server.child.wait().await.unwrap();
        server = binary.serve().await;
        url_tx.send(server.url.clone()).unwrap();
    }
    stop.store(true, Ordering::SeqCst);
    for sender in senders {
        tokio::time::timeout(Duration::from_secs(120), sender).await.expect("the senders finish").unwrap();
    }

    let url = database_url(&binary);
    let db = Db::connect(&DbOptions::new(url.clone())).await.unwrap();
    // The last server's worker resolves what the killed ones left.
    let pending = || async {
        sql!(db.exec(), c => sqlx::query_scalar::<_, i64>("SELECT count(*) FROM events WHERE resolved_at IS NULL")
            .fetch_one(c).await)
        .unwrap()
    };
    rapport_test_db::eventually("resolution catches up", Duration::from_secs(120), || async { pending().await == 0 })
        .await;
    server.stop().await;

    let stored: Vec<(String, i64)> = sql!(db.exec(), c => sqlx::query_as(
        "SELECT message_id, count(*) FROM events GROUP BY message_id"
    ).fetch_all(c).await)
    .unwrap();
    let stored: BTreeMap<String, i64> = stored.into_iter().collect();
    let tally = tally.lock().await;
    let missing: Vec<_> = tally.acknowledged.iter().filter(|id| !stored.contains_key(*id)).collect();
    let unanswered: Vec<_> = stored.keys().filter(|id| !tally.acknowledged.contains(*id)).collect();
    let doubled: Vec<_> = stored.iter().filter(|(_, n)| **n > 1).collect();
    let unattributed: i64 =
        sql!(db.exec(), c => sqlx::query_scalar("SELECT count(*) FROM events WHERE person_id IS NULL")
        .fetch_one(c).await)
        .unwrap();
    let miscounted: Vec<(i64, i64, i64)> = sql!(db.exec(), c => sqlx::query_as(
        "SELECT a.person_id, a.events, (SELECT count(*) FROM events e WHERE e.person_id = a.person_id)
         FROM person_activity a
         WHERE a.events <> (SELECT count(*) FROM events e WHERE e.person_id = a.person_id)"
    ).fetch_all(c).await)
    .unwrap();
    let people: i64 =
        sql!(db.exec(), c => sqlx::query_scalar("SELECT count(*) FROM people").fetch_one(c).await).unwrap();
    println!(
        "ingest durability: {INGEST_KILLS} kills, {} events acknowledged, {} stored, {} retries, {} missing, \
         {} duplicated, {} unattributed, {people} people, {} miscounted",
        tally.acknowledged.len(),
        stored.len(),
        tally.retries,
        missing.len(),
        doubled.len(),
        unattributed,
        miscounted.len(),
    );
    assert!(
        tally.refused.is_empty(),
        "answers that should not happen: {:?}",
        &tally.refused[..tally.refused.len().min(5)]
    );
    assert!(missing.is_empty(), "acknowledged events lost: {}", missing.len());
    assert!(doubled.is_empty(), "events stored twice: {doubled:?}");
    assert!(unanswered.is_empty(), "stored without any answer: {}", unanswered.len());
    assert!(tally.acknowledged.len() > INGEST_KILLS * EVENTS_PER_BATCH, "the senders made progress between kills");
    assert_eq!(people, CLIENTS as i64, "one person per visitor, however often their identify was resolved");
    assert_eq!(unattributed, 0, "every event belongs to its visitor's person");
    assert!(miscounted.is_empty(), "(person, counted, stored) of people counted wrong: {miscounted:?}");
    check_integrity(&db, &url).await;
    db.close().await;
}
