//! `ingest`: sustained Segment-format collection through `POST /v1/batch` on the real server
//! over loopback, 100 events per request (realistic e-commerce `Product Viewed` calls with page
//! context, about 600 bytes each), at 16 kept-alive connections. Every request is answered only
//! after its events are committed, so the figure is durable events per second. At the end the
//! stored events are counted: every acknowledged event must be there.
//!
//! Resolution runs in the server's worker meanwhile, as in production. A second run reports how
//! fast it went: every event sent, over the time from the first request until the backlog was
//! empty (the load plus the catch-up after it).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use anyhow::Context as _;
use base64::Engine;
use http_body_util::Full;
use hyper::body::Bytes;
use hyper::header::{self, HeaderValue};
use hyper::{Method, Request};
use rapport_core::{Email, WorkspaceId};
use rapport_db::{Db, DbOptions, sql};
use serde_json::json;

use super::load::{HttpRequests, drive};
use super::report::{Measurement, Report, Run};
use super::server::Server;
use super::{Context, Scenario};

pub const SCENARIO: Scenario = Scenario {
    name: "ingest",
    summary: "POST /v1/batch of 100 Segment events per request at 16 connections, durable acknowledgement",
    run: |cx| Box::pin(run(cx)),
};

const CONNECTIONS: usize = 16;
const EVENTS_PER_REQUEST: usize = 100;
const CATEGORIES: [&str; 6] = ["running_shoes", "trail", "apparel", "accessories", "socks", "watches"];

async fn run(cx: &Context) -> anyhow::Result<Report> {
    let (workspace, write_key) = prepare(cx).await?;
    let server = Server::start(&cx.target).await?;
    let sent = Arc::new(AtomicU64::new(0));
    let started = std::time::Instant::now();
    let measured = measure(cx, &server, &write_key, &sent).await;
    let resolved = match &measured {
        Ok(_) => Some(catch_up(cx, workspace).await?),
        Err(_) => None,
    };
    let resolving = started.elapsed().as_secs_f64();
    let peak_rss = server.peak_rss();
    server.stop().await?;
    let sample = measured?;
    let stored = stored_events(cx, workspace).await?;
    let acknowledged = sent.load(Ordering::Relaxed);
    anyhow::ensure!(stored == acknowledged, "{acknowledged} events were acknowledged but {stored} are stored");
    let events = sample.operations * EVENTS_PER_REQUEST as u64;
    let measurement = Measurement::new(
        format!("POST /v1/batch, {EVENTS_PER_REQUEST} events a request (latency per request)"),
        "rapport serve",
        "events",
        events,
        sample.seconds,
    )
    .with_concurrency(CONNECTIONS)
    .with_latency(sample.latency)
    .with_peak_rss(peak_rss, "rapport serve");
    let (backlog, drained) = resolved.unwrap_or_default();
    println!("resolution: {backlog} events unresolved when the load stopped, resolved {drained:.1} s later");
    let resolution = Measurement::new(
        format!("resolution in the worker, load plus catch-up ({backlog} left at the end, {drained:.1} s to clear)"),
        "rapport serve",
        "events",
        acknowledged,
        resolving,
    );
    Report::new(cx, SCENARIO.name, vec![Run::alone(measurement), Run::alone(resolution)], 0)
}

/// Waits until the worker has resolved every event: answers the backlog when the load stopped
/// and the seconds it took to clear.
async fn catch_up(cx: &Context, workspace: WorkspaceId) -> anyhow::Result<(u64, f64)> {
    let db = Db::connect(&DbOptions::new(cx.target.database_url())).await?;
    let unresolved = async || -> anyhow::Result<u64> {
        let count: i64 = sql!(db.exec(), c => sqlx::query_scalar(
            "SELECT count(*) FROM events WHERE workspace_id = $1 AND resolved_at IS NULL"
        ).bind(workspace).fetch_one(c).await)?;
        Ok(u64::try_from(count).unwrap_or_default())
    };
    let started = std::time::Instant::now();
    let backlog = unresolved().await?;
    while unresolved().await? > 0 {
        anyhow::ensure!(
            started.elapsed() < std::time::Duration::from_secs(1800),
            "resolution did not catch up in 30 minutes"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    let drained = started.elapsed().as_secs_f64();
    db.close().await;
    Ok((backlog, drained))
}

/// A workspace with one source, written before the server starts.
async fn prepare(cx: &Context) -> anyhow::Result<(WorkspaceId, String)> {
    let db = Db::connect(&DbOptions::new(cx.target.database_url())).await?;
    let owner = crate::workspace::NewWorkspace {
        name: crate::workspace::WorkspaceName::parse("Benchmark").map_err(|e| anyhow::anyhow!("{e}"))?,
        owner_email: Email::parse("bench@example.com").map_err(|e| anyhow::anyhow!("{e}"))?,
        owner_password: crate::identity::Password::parse("a benchmark passphrase")?,
    };
    let created = crate::workspace::create_with_owner(&db, owner, "system:bench").await?;
    let source = crate::tracking::create_source(
        &db,
        (created.workspace_id, &rapport_core::Actor::System("bench".into())),
        "bench",
    )
    .await?;
    db.close().await;
    Ok((created.workspace_id, source.write_key.expose().clone()))
}

async fn stored_events(cx: &Context, workspace: WorkspaceId) -> anyhow::Result<u64> {
    let db = Db::connect(&DbOptions::new(cx.target.database_url())).await?;
    let count: i64 = sql!(db.exec(), c => sqlx::query_scalar("SELECT count(*) FROM events WHERE workspace_id = $1")
        .bind(workspace).fetch_one(c).await)?;
    db.close().await;
    Ok(u64::try_from(count).unwrap_or_default())
}

async fn measure(
    cx: &Context,
    server: &Server,
    write_key: &str,
    sent: &Arc<AtomicU64>,
) -> anyhow::Result<super::load::Sample> {
    let host = HeaderValue::from_str(&server.address.to_string())?;
    let auth = HeaderValue::from_str(&format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{write_key}:"))
    ))?;
    let mut connections = Vec::with_capacity(CONNECTIONS);
    for connection in 0..CONNECTIONS {
        let (host, auth, sent) = (host.clone(), auth.clone(), Arc::clone(sent));
        let mut request_number = 0u64;
        let next = move || {
            request_number += 1;
            let body = batch(connection, request_number);
            // Counted as sent when built; the load generator aborts the run on any failure,
            // so at the end every built request was also acknowledged.
            sent.fetch_add(EVENTS_PER_REQUEST as u64, Ordering::Relaxed);
            let mut request = Request::new(Full::new(Bytes::from(body)));
            *request.method_mut() = Method::POST;
            *request.uri_mut() = hyper::Uri::from_static("/v1/batch");
            let headers = request.headers_mut();
            headers.insert(header::HOST, host.clone());
            headers.insert(header::AUTHORIZATION, auth.clone());
            headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
            request
        };
        connections.push(HttpRequests::connect(server.address, next).await.context("connecting to the server")?);
    }
    drive(cx.scale.period(), connections).await
}

/// One request's body: distinct message ids, a handful of visitors per connection, products
/// across categories.
fn batch(connection: usize, request: u64) -> Vec<u8> {
    let now = chrono::Utc::now().to_rfc3339();
    let calls: Vec<serde_json::Value> = (0..EVENTS_PER_REQUEST)
        .map(|i| {
            let product = (request as usize * 31 + i * 7) % 5_000;
            let category = CATEGORIES[product % CATEGORIES.len()];
            json!({
                "type": "track",
                "event": "Product Viewed",
                "messageId": format!("bench-{connection}-{request}-{i}"),
                "anonymousId": format!("anon-{connection}-{}", (request as usize + i) % 50),
                "userId": if i % 3 == 0 { json!(format!("user-{connection}-{}", i % 17)) } else { json!(null) },
                "timestamp": now,
                "properties": {
                    "product_id": format!("p-{product}"),
                    "sku": format!("SKU-{product:05}"),
                    "category": category,
                    "name": format!("Trail Runner {product}"),
                    "brand": "Rapport Outdoor",
                    "price": 49.0 + (product % 150) as f64,
                    "currency": "USD",
                    "url": format!("https://shop.example.com/products/p-{product}")
                },
                "context": {
                    "page": {"path": format!("/products/p-{product}"), "referrer": "https://www.example.org/", "title": "Trail Runner"},
                    "userAgent": "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36",
                    "ip": "203.0.113.7",
                    "locale": "en-US",
                    "library": {"name": "analytics.js", "version": "5.2.0"}
                }
            })
        })
        .collect();
    json!({ "batch": calls, "sentAt": now }).to_string().into_bytes()
}
