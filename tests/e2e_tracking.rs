//! The tracking script in a real browser: a customer's website on another origin includes
//! `/rapport.js`, identifies the visitor and tracks an event, and the calls arrive in Rapport.
//! With consent required, nothing leaves the page until the visitor agrees. An owner creates a
//! source on the sources page, a sender uses the key the page shows once, and revoking the
//! source shuts it out. Skipped when Chromium is not installed (see `browser::tools`).

mod browser;
mod util;

use std::time::Duration;

use axum::response::Html;
use browser::{Browser, Server};
use fantoccini::Locator;
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

async fn api(server: &Server, token: &str, path: &str) -> Value {
    let response = reqwest::Client::new()
        .get(format!("{}{path}", server.url))
        .bearer_auth(token)
        .send()
        .await
        .expect("it answers");
    response.json().await.expect("JSON")
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

    // Back on the website, the visitor puts shoes in the cart.
    browser.goto(&shop).await.expect("the website loads again");
    browser
        .execute(
            "rapport.track('Product Added', {sku: 'TR-1', name: 'Trail Runner', price: 84, quantity: 2, currency: 'EUR'}); rapport.flush();",
            vec![],
        )
        .await
        .expect("the page runs the call");

    // Resolution gives the visitor's calls, the page view from before the identify included,
    // to the person it created, and their page shows them in words, with their cart.
    rapport_test_db::eventually("the identify made a person", Duration::from_secs(20), || async {
        api(&server, &token, "/api/v1/people").await["data"][0]["id"].is_i64()
    })
    .await;
    let person = &api(&server, &token, "/api/v1/people").await["data"][0];
    assert_eq!(person["email"], "ada@example.com", "{person}");
    let person = person["id"].as_i64().expect("an id");
    browser.goto(&format!("{}/login", server.url)).await.expect("the sign-in page loads");
    browser.fill("#email", "owner@shop.example").await;
    browser.fill("#password", "correct horse battery").await;
    browser.click_and_wait_for_next_page("form button[type=submit]").await;
    let page = format!("{}/people/{person}", server.url);
    let wanted = ["Viewed TR-1", "Viewed the page Home", "Started checkout", "Identified", "Trail Runner × 2"];
    rapport_test_db::eventually("the person's page shows what they did", Duration::from_secs(20), || async {
        browser.goto(&page).await.expect("the person's page loads");
        let behaviour = text_of(&browser, "#behaviour").await;
        wanted.iter().all(|w| behaviour.contains(w))
    })
    .await;
    browser.check_at_both_widths("tracking-person-behaviour").await;
    browser.click_and_wait_for_next_page("#behaviour a[href^='/carts/']").await;
    let cart = text_of(&browser, "main").await;
    assert!(cart.contains("Trail Runner") && cart.contains("168.00 EUR") && cart.contains("ada@example.com"), "{cart}");
    browser.check_at_both_widths("tracking-cart").await;
    browser.goto(&format!("{}/carts", server.url)).await.expect("the carts page loads");
    assert!(text_of(&browser, "#carts").await.contains("2 items, 168.00 EUR"));
    browser.check_at_both_widths("tracking-carts").await;

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

async fn text_of(browser: &Browser, selector: &str) -> String {
    let element = browser.find(Locator::Css(selector)).await.unwrap_or_else(|err| panic!("no {selector}: {err}"));
    element.text().await.expect("its text").trim().to_owned()
}

async fn track_with(server: &Server, write_key: &str, message_id: &str) -> reqwest::StatusCode {
    let call = serde_json::json!({"userId": "user-7", "event": "Signed Up", "messageId": message_id});
    let response = reqwest::Client::new()
        .post(format!("{}/v1/track", server.url))
        .basic_auth(write_key, Some(""))
        .json(&call)
        .send()
        .await
        .expect("the collection endpoint answers");
    response.status()
}

#[tokio::test]
async fn an_owner_creates_a_source_whose_key_sends_events_until_it_is_revoked() {
    let Some(mut browser) = Browser::launch().await else {
        return;
    };
    let server = Server::start().await;
    browser.set_up_and_sign_in(&server).await;
    browser.goto(&format!("{}/settings", server.url)).await.expect("the settings page loads");
    browser.click_and_wait_for_next_page("a[href='/settings/sources']").await;
    browser.fill("#name", "Website").await;
    browser.click_and_wait_for_next_page("form[action='/settings/sources'] button[type=submit]").await;
    browser.assert_document_status("creating a source", 201).await;
    let write_key = text_of(&browser, "[data-write-key]").await;
    assert!(write_key.starts_with("rpk_"), "the page shows the write key: {write_key}");
    let snippet = text_of(&browser, "[data-snippet=browser]").await;
    assert!(
        snippet.contains(&format!("{}/rapport.js", server.url)),
        "the snippet loads the script from here: {snippet}"
    );
    assert!(snippet.contains(&format!("data-write-key=\"{write_key}\"")), "the snippet carries the key: {snippet}");
    browser.check_at_both_widths("tracking-source-created").await;

    assert_eq!(track_with(&server, &write_key, "first").await, reqwest::StatusCode::OK);
    browser.goto(&format!("{}/settings/sources", server.url)).await.expect("the sources page loads");
    let listed = text_of(&browser, "ul.rows").await;
    assert!(listed.contains("Website") && !listed.contains(&write_key), "the list names the source, not its key");
    browser.click_and_wait_for_next_page("ul.rows a").await;
    assert_eq!(text_of(&browser, "[data-event-count]").await, "1");
    browser.check_at_both_widths("tracking-source").await;

    // The revoke button asks first; declining keeps the source.
    let revoke = "form[action$='/revoke'] button[type=submit]";
    browser
        .execute("window.asked = []; window.confirm = (m) => { window.asked.push(m); return false; };", vec![])
        .await
        .expect("the page runs a script");
    browser.find(Locator::Css(revoke)).await.expect("a revoke button").click().await.expect("it takes a click");
    let asked = browser.execute("return window.asked;", vec![]).await.expect("the page runs a script");
    assert!(asked[0].as_str().is_some_and(|m| m.starts_with("Revoke Website?")), "{asked}");
    assert_eq!(track_with(&server, &write_key, "second").await, reqwest::StatusCode::OK);
    browser.execute("window.confirm = () => true;", vec![]).await.expect("the page runs a script");
    browser.click_and_wait_for_next_page(revoke).await;
    assert!(text_of(&browser, "main").await.contains("Source revoked"));
    assert_eq!(track_with(&server, &write_key, "third").await, reqwest::StatusCode::UNAUTHORIZED);
    browser.close().await;
}
