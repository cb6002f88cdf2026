//! The tracking script in a real browser: a customer's website on another origin includes
//! `/rapport.js`, identifies the visitor and tracks an event, and the calls arrive in Rapport.
//! With consent required, nothing leaves the page until the visitor agrees. Skipped when
//! Chromium is not installed (see `browser::tools`).

mod browser;
mod util;

use std::time::Duration;

use axum::response::Html;
use browser::{Browser, Server};
use serde_json::Value;

/// A website on its own origin, loading the script from Rapport as a customer's site would.
async fn website(rapport: &str, write_key: &str, require_consent: bool) -> String {
    let page = format!(
        r#"<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Trail shop</title><link rel="icon" href="data:,">
<script>window.sends = 0;
const realFetch = window.fetch, realBeacon = navigator.sendBeacon.bind(navigator);
window.fetch = function () {{ window.sends++; return realFetch.apply(this, arguments); }};
navigator.sendBeacon = function () {{ window.sends++; return realBeacon.apply(null, arguments); }};
window.rapport = window.rapport || [];
["identify", "track", "page", "group", "alias", "reset", "consent", "flush"].forEach(function (m) {{
  window.rapport[m] = window.rapport[m] || function () {{ window.rapport.push([m].concat([].slice.call(arguments))); }};
}});
rapport.page("Home");</script>
<script async src="{rapport}/rapport.js" data-write-key="{write_key}" data-require-consent="{require_consent}"></script>
</head><body><h1>Trail shop</h1></body></html>"#
    );
    let app = axum::Router::new().route("/", axum::routing::get(move || async move { Html(page) }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("a port for the website");
    let address = listener.local_addr().expect("its address");
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{address}/")
}

async fn events(server: &Server, token: &str) -> Vec<Value> {
    let response = reqwest::Client::new()
        .get(format!("{}/api/v1/events?limit=100", server.url))
        .bearer_auth(token)
        .send()
        .await
        .expect("the events API answers");
    let body: Value = response.json().await.expect("JSON");
    body["events"].as_array().cloned().unwrap_or_default()
}

#[tokio::test]
async fn a_website_on_another_origin_sends_identify_track_and_page_through_the_script() {
    let Some(mut browser) = Browser::launch().await else {
        return;
    };
    let server = Server::start().await;
    let workspace = server
        .run(
            &["admin", "create-workspace", "--name", "Shop", "--owner-email", "owner@shop.example", "--password-stdin"],
            Some("correct horse battery\n"),
        )
        .await;
    let write_key = server.run(&["admin", "create-source", "--workspace", &workspace, "--name", "website"], None).await;
    let token = server
        .run(
            &["admin", "create-token", "--workspace", &workspace, "--email", "owner@shop.example", "--name", "e2e"],
            None,
        )
        .await;

    let shop = website(&server.url, &write_key, false).await;
    browser.goto(&shop).await.expect("the website loads");
    browser
        .execute(
            "rapport.identify('user-42', {email: 'ada@example.com'}); rapport.track('Product Viewed', {sku: 'TR-1'}); rapport.flush();",
            vec![],
        )
        .await
        .expect("the page runs the calls");
    rapport_test_db::eventually("the three calls are stored", Duration::from_secs(20), || async {
        events(&server, &token).await.len() >= 3
    })
    .await;
    let stored = events(&server, &token).await;
    let kinds: Vec<&str> = stored.iter().rev().map(|e| e["type"].as_str().unwrap_or_default()).collect();
    assert_eq!(kinds, ["page", "identify", "track"], "{stored:?}");
    let track = &stored[0];
    assert_eq!((track["name"].as_str(), track["user_id"].as_str()), (Some("Product Viewed"), Some("user-42")));
    assert_eq!(track["properties"]["sku"], "TR-1");
    let anonymous = stored[2]["anonymous_id"].as_str().expect("the page view has an anonymous id");
    assert!(stored.iter().all(|e| e["anonymous_id"] == anonymous), "one visitor, one anonymous id");
    browser.assert_no_console_errors("the website with the script").await;

    // Leaving the page sends what is still queued, with a beacon.
    browser.execute("rapport.track('Checkout Started');", vec![]).await.expect("the page runs the call");
    browser.goto("about:blank").await.expect("the browser leaves the website");
    rapport_test_db::eventually("the call queued when the page closed is stored", Duration::from_secs(20), || async {
        events(&server, &token).await.iter().any(|e| e["name"] == "Checkout Started")
    })
    .await;

    // With consent required, nothing is sent before the visitor agrees.
    let before = events(&server, &token).await.len();
    let careful_shop = website(&server.url, &write_key, true).await;
    browser.goto(&careful_shop).await.expect("the website loads");
    let before_consent = browser
        .execute(
            "rapport.track('Newsletter Viewed'); rapport.flush(); return [window.sends, localStorage.length];",
            vec![],
        )
        .await
        .expect("the page runs the call");
    assert_eq!(before_consent, serde_json::json!([0, 0]), "nothing is sent and no identifier stored before consent");
    assert_eq!(events(&server, &token).await.len(), before);
    browser.execute("rapport.consent(true);", vec![]).await.expect("the page runs the call");
    rapport_test_db::eventually("the calls wait for consent, then go", Duration::from_secs(20), || async {
        events(&server, &token).await.iter().any(|e| e["name"] == "Newsletter Viewed")
    })
    .await;
    browser.close().await;
}
