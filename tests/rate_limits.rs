//! Per-address limits on sign-in and password reset: 429 with `Retry-After` before any password
//! is evaluated, lifted when the window passes, and `X-Forwarded-For` believed only from a
//! trusted proxy. Argon2 evaluations are counted process-wide, so this file holds the only test
//! that evaluates passwords.

#![allow(clippy::unwrap_used)]

mod util;

use std::net::SocketAddr;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Request, StatusCode};
use util::{TestApp, TestResponse};

const OWNER: &str = "owner@example.com";

async fn post_from(app: &TestApp, path: &str, peer: &str, forwarded_for: Option<&str>, body: &str) -> TestResponse {
    let mut request = Request::post(path)
        .header("content-type", "application/x-www-form-urlencoded")
        .header("host", "localhost")
        .header("sec-fetch-site", "same-origin");
    if let Some(forwarded) = forwarded_for {
        request = request.header("x-forwarded-for", forwarded);
    }
    let mut request = request.body(Body::from(body.to_owned())).unwrap();
    request.extensions_mut().insert(ConnectInfo(peer.parse::<SocketAddr>().unwrap()));
    app.request(request).await
}

async fn wrong_password(app: &TestApp, peer: &str) -> TestResponse {
    post_from(app, "/login", peer, None, "email=owner%40example.com&password=wrong+password+here").await
}

async fn forgot(app: &TestApp, peer: &str, forwarded_for: Option<&str>) -> TestResponse {
    post_from(app, "/password/forgot", peer, forwarded_for, "email=nobody%40example.com").await
}

#[tokio::test]
async fn a_thousand_wrong_passwords_from_one_address_evaluate_at_most_ten_and_the_limit_lifts() {
    let app = TestApp::new().await;
    app.with_workspace("Acme", OWNER).await;
    let before = rapport::identity::password_evaluations();
    let mut limited = None;
    for _ in 0..1000 {
        let response = wrong_password(&app, "198.51.100.7:4000").await;
        if response.status == StatusCode::TOO_MANY_REQUESTS && limited.is_none() {
            limited = Some(response);
        }
    }
    let evaluated = rapport::identity::password_evaluations() - before;
    assert!(evaluated <= 10, "{evaluated} passwords evaluated");
    let limited = limited.expect("the address is limited");
    assert!(limited.header("retry-after").parse::<i64>().unwrap() > 0, "429 says when to retry");

    assert_eq!(
        wrong_password(&app, "203.0.113.9:4000").await.status,
        StatusCode::TOO_MANY_REQUESTS,
        "the account itself is throttled too, whatever the address"
    );
    let past = chrono::Utc::now() - chrono::Duration::hours(1);
    app.set_time("UPDATE ip_limits SET window_started_at = $1", past).await;
    app.set_time("UPDATE users SET locked_until = $1", past).await;
    let right = post_from(
        &app,
        "/login",
        "198.51.100.7:4000",
        None,
        "email=owner%40example.com&password=correct+horse+battery",
    )
    .await;
    assert_eq!(right.status, StatusCode::SEE_OTHER, "once the window has passed the address may sign in");
}

#[tokio::test]
async fn password_reset_requests_are_limited_per_address_with_retry_after() {
    let app = TestApp::new().await;
    let statuses: Vec<StatusCode> = {
        let mut statuses = Vec::new();
        for _ in 0..6 {
            statuses.push(forgot(&app, "198.51.100.7:4000", None).await.status);
        }
        statuses
    };
    assert!(statuses[..5].iter().all(|s| *s == StatusCode::OK), "{statuses:?}");
    let limited = forgot(&app, "198.51.100.7:4000", None).await;
    assert_eq!(limited.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(limited.header("retry-after").parse::<i64>().unwrap() > 0);
    assert_eq!(forgot(&app, "198.51.100.8:4000", None).await.status, StatusCode::OK, "other addresses are unaffected");
}

#[tokio::test]
async fn x_forwarded_for_is_ignored_unless_the_peer_is_a_trusted_proxy() {
    let app = TestApp::new().await;
    for n in 0..10 {
        let spoofed = format!("192.0.2.{n}");
        forgot(&app, "198.51.100.7:4000", Some(&spoofed)).await;
    }
    assert_eq!(
        forgot(&app, "198.51.100.7:4000", Some("192.0.2.200")).await.status,
        StatusCode::TOO_MANY_REQUESTS,
        "a client cannot escape its limit by naming another address"
    );

    let proxied = TestApp::configured(|config| config.http.trusted_proxies = vec!["10.0.0.1".parse().unwrap()]).await;
    for _ in 0..5 {
        forgot(&proxied, "10.0.0.1:4000", Some("192.0.2.1")).await;
    }
    assert_eq!(forgot(&proxied, "10.0.0.1:4000", Some("192.0.2.1")).await.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(
        forgot(&proxied, "10.0.0.1:4000", Some("192.0.2.2")).await.status,
        StatusCode::OK,
        "behind a trusted proxy each forwarded client has its own limit"
    );
    assert_eq!(
        forgot(&proxied, "10.0.0.1:4000", Some("192.0.2.1, 192.0.2.3")).await.status,
        StatusCode::OK,
        "the proxy's own entry counts, not what the client wrote before it"
    );
}
