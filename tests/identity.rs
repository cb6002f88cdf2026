//! Signing in and recognising callers: API tokens on `/api/v1/me`, browser sessions with CSRF,
//! and per-account throttling of password guesses.

#![allow(clippy::unwrap_used)]

mod util;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use rapport::identity::{self, Scope};
use util::TestApp;

async fn token(app: &TestApp, scopes: Vec<Scope>) -> (rapport::workspace::Created, String) {
    let created = app.with_workspace("Acme", "owner@example.com").await;
    let token =
        identity::create_token(app.db(), created.workspace_id, created.owner_id, "ci", scopes, None).await.unwrap();
    (created, token.secret.expose().clone())
}

async fn me(app: &TestApp, authorization: &str) -> util::TestResponse {
    app.request(Request::get("/api/v1/me").header("authorization", authorization).body(Body::empty()).unwrap()).await
}

#[tokio::test]
async fn me_returns_the_caller_of_a_valid_token() {
    let app = TestApp::new().await;
    let (created, secret) = token(&app, vec![Scope::All]).await;
    let response = me(&app, &format!("Bearer {secret}")).await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.text());
    let body = response.json();
    assert_eq!(body["user"]["email"], "owner@example.com");
    assert_eq!(body["workspace"]["id"], created.workspace_id.get());
    assert_eq!(body["role"], "owner");
    assert_eq!(body["token"]["scopes"], serde_json::json!(["all"]));
}

#[tokio::test]
async fn a_missing_wrong_or_forged_token_is_401_in_the_error_shape() {
    let app = TestApp::new().await;
    let (created, secret) = token(&app, vec![Scope::All]).await;
    let missing = app.get("/api/v1/me").await;
    assert_eq!(missing.status, StatusCode::UNAUTHORIZED);
    assert_eq!(missing.error_code(), "unauthorized");
    let mut wrong = secret.clone();
    wrong.replace_range(wrong.len() - 4.., "0000");
    assert_eq!(me(&app, &format!("Bearer {wrong}")).await.status, StatusCode::UNAUTHORIZED);
    let other_workspace = secret.replacen(&format!("_{}_", created.workspace_id), "_999_", 1);
    assert_eq!(me(&app, &format!("Bearer {other_workspace}")).await.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_read_scope_does_not_allow_writing() {
    let app = TestApp::new().await;
    let (_, secret) = token(&app, vec![Scope::parse("people:read").unwrap()]).await;
    let principal = identity::token_principal(app.db(), &secret).await.unwrap();
    assert!(principal.may("people", false));
    assert!(!principal.may("people", true));
    assert!(!principal.may("companies", false));
}

#[tokio::test]
async fn signing_in_sets_a_session_cookie_and_signing_out_needs_the_csrf_token() {
    let app = TestApp::new().await;
    app.with_workspace("Acme", "owner@example.com").await;
    let login = app.post_form("/login", &[("email", "owner@example.com"), ("password", "correct horse battery")]).await;
    assert_eq!(login.status, StatusCode::SEE_OTHER, "{}", login.text());
    let set_cookie = login.header("set-cookie").to_owned();
    assert!(set_cookie.contains("HttpOnly") && set_cookie.contains("SameSite=Lax"), "{set_cookie}");
    let cookie = set_cookie.split(';').next().unwrap().to_owned();

    let home = app.request(Request::get("/").header("cookie", &cookie).body(Body::empty()).unwrap()).await;
    let html = home.text();
    assert!(html.contains("Signed in as"), "{html}");
    let csrf = html.split("name=\"csrf_token\" value=\"").nth(1).unwrap().split('"').next().unwrap().to_owned();

    let forged = logout(&app, &cookie, "not-the-token").await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    let still = app.request(Request::get("/").header("cookie", &cookie).body(Body::empty()).unwrap()).await;
    assert!(still.text().contains("Signed in as"), "a forged logout changes nothing");

    assert_eq!(logout(&app, &cookie, &csrf).await.status, StatusCode::SEE_OTHER);
    let after = app.request(Request::get("/").header("cookie", &cookie).body(Body::empty()).unwrap()).await;
    assert!(!after.text().contains("Signed in as"), "the session is revoked on the server");
}

async fn logout(app: &TestApp, cookie: &str, csrf: &str) -> util::TestResponse {
    app.post_form_as(cookie, "/logout", &[("csrf_token", csrf)]).await
}

#[tokio::test]
async fn many_wrong_passwords_are_mostly_refused_without_being_evaluated() {
    let app = TestApp::new().await;
    app.with_workspace("Acme", "owner@example.com").await;
    let mut throttled = 0;
    for _ in 0..30 {
        match identity::check_password(app.db(), "owner@example.com", "wrong password").await {
            Err(identity::AuthError::Throttled(_)) => throttled += 1,
            Err(identity::AuthError::BadCredentials) => {}
            other => panic!("unexpected {:?}", other.map(|_| ())),
        }
    }
    assert!(throttled >= 25, "after five failures further attempts wait: {throttled} throttled");
    let right = identity::check_password(app.db(), "owner@example.com", "correct horse battery").await;
    assert!(matches!(right, Err(identity::AuthError::Throttled(_))), "even the right password waits out the throttle");
}
