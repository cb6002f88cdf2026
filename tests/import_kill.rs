//! An import survives SIGKILL: the real `rapport` binary imports a 100,000-row CSV in its
//! worker and is killed three times at random moments of the run (a seeded generator; the seed
//! is printed, and `RAPPORT_KILL_SEED` replays one), each time restarted. The restarted
//! worker takes the import's job again once its lease lapses and resumes at the first
//! uncommitted row: afterwards the workspace holds exactly 100,000 people, each row's person
//! once.

#![allow(clippy::unwrap_used)]

mod util;

use std::time::Duration;

use rapport_db::{Db, DbOptions, sql};
use serde_json::{Value, json};
use util::{BOUNDARY, Binary, multipart};

const ROWS: usize = 100_000;
const KILLS: usize = 3;

async fn import_status(http: &reqwest::Client, base: &str, token: &str, id: i64) -> Option<Value> {
    let answer = http.get(format!("{base}/api/v1/imports/{id}")).bearer_auth(token).send().await.ok()?;
    answer.json().await.ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_import_killed_three_times_finishes_with_every_row_once() {
    let seed = std::env::var("RAPPORT_KILL_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or_else(|| {
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as u64
    });
    println!("kill seed: {seed} (RAPPORT_KILL_SEED={seed} replays this run)");
    let mut state = seed;
    let mut next = move || {
        state = state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        state >> 33
    };

    let (mut binary, _guard) = Binary::on_test_database().await;
    binary.env.push(("RAPPORT_LOG__FILTER".into(), "warn".into()));
    // A killed worker's lease must lapse before another takes the job; keep the wait short.
    binary.env.push(("RAPPORT_JOBS__LEASE_SECS".into(), "3".into()));
    binary.env.push(("RAPPORT_IMPORTS__BATCH_ROWS".into(), "2000".into()));
    let (_, token) = binary.workspace_with_token("Imports", "owner@import.example").await;

    let mut file = String::from("First name,Last name,Email,Id\n");
    for n in 0..ROWS {
        file.push_str(&format!("Row{n},Person,row{n}@import.example,row-{n}\n"));
    }
    let mut server = binary.serve().await;
    let http = reqwest::Client::builder().timeout(Duration::from_secs(30)).build().unwrap();
    let body = multipart(&[("object", "people")], "rows.csv", "text/csv", file.as_bytes());
    let uploaded = http
        .post(format!("{}/api/v1/imports", server.url))
        .bearer_auth(&token)
        .header("content-type", format!("multipart/form-data; boundary={BOUNDARY}"))
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(uploaded.status(), 201);
    let id = uploaded.json::<Value>().await.unwrap()["id"].as_i64().unwrap();
    let mapping = json!([
        {"column": "First name", "field": "first_name"},
        {"column": "Last name", "field": "last_name"},
        {"column": "Email", "field": "email"},
        {"column": "Id", "field": "external_id"},
    ]);
    let started = http
        .post(format!("{}/api/v1/imports/{id}/start", server.url))
        .bearer_auth(&token)
        .json(&json!({"mapping": mapping, "match": "external_id"}))
        .send()
        .await
        .unwrap();
    assert_eq!(started.status(), 202);

    let mut killed_at = Vec::new();
    for _ in 0..KILLS {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(300);
        let floor = killed_at.last().copied().unwrap_or(0);
        let target = floor + 1 + i64::try_from(next() % 25_000).unwrap();
        loop {
            assert!(tokio::time::Instant::now() < deadline, "the import made no progress past row {floor}");
            let seen = import_status(&http, &server.url, &token, id).await;
            let done = seen.as_ref().and_then(|s| s["rows_done"].as_i64()).unwrap_or(0);
            assert_ne!(seen.as_ref().map(|s| s["status"].clone()), Some(json!("done")), "finished before the kill");
            if done >= target {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10 + next() % 40)).await;
        }
        server.child.start_kill().unwrap();
        server.child.wait().await.unwrap();
        let at = import_status(&http, &server.url, &token, id).await;
        assert!(at.is_none(), "the server is gone");
        killed_at.push(target);
        server = binary.serve().await;
    }
    println!("killed after rows {killed_at:?}");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(600);
    let finished = loop {
        assert!(tokio::time::Instant::now() < deadline, "the import did not finish after the last restart");
        if let Some(seen) = import_status(&http, &server.url, &token, id).await
            && seen["status"] != "running"
            && seen["status"] != "queued"
        {
            break seen;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    server.stop().await;
    assert_eq!(finished["status"], "done", "{finished}");
    assert_eq!(finished["rows_done"], ROWS, "{finished}");
    assert_eq!(finished["counts"]["created"], ROWS, "{finished}");

    let url = binary
        .env
        .iter()
        .find(|(key, _)| key == "RAPPORT_DATABASE_URL")
        .map_or_else(|| format!("sqlite://{}", binary.sqlite_file().display()), |(_, url)| url.clone());
    let db = Db::connect(&DbOptions::new(url)).await.unwrap();
    let (people, distinct): (i64, i64) = sql!(db.exec(), c => sqlx::query_as(
        "SELECT count(*), count(DISTINCT external_id) FROM people"
    ).fetch_one(c).await)
    .unwrap();
    let recorded: i64 = sql!(db.exec(), c => sqlx::query_scalar("SELECT count(*) FROM import_records")
        .fetch_one(c).await)
    .unwrap();
    db.close().await;
    assert_eq!((people, distinct, recorded), (ROWS as i64, ROWS as i64, ROWS as i64));
}
