//! A user's sessions and API tokens: listing and revoking sessions, a password change signing
//! out everything else, an administrator signing a member out, and tokens whose secret is
//! shown once and that never do more than their user may.

#![allow(clippy::unwrap_used)]

mod util;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use rapport::identity::{self, Scope};
use util::account::{self, PASSWORD};
use util::{TestApp, TestResponse};

const OWNER: &str = "owner@example.com";

async fn signed_in(app: &TestApp, cookie: &str) -> bool {
    account::get(app, "/", cookie).await.text().contains("Signed in as")
}

async fn bearer(
    app: &TestApp,
    method: Method,
    path: &str,
    token: &str,
    body: Option<serde_json::Value>,
) -> TestResponse {
    let request = Request::builder()
        .method(method)
        .uri(path)
        .header("authorization", format!("Bearer {token}"))
        .header("content-type", "application/json")
        .body(body.map_or_else(Body::empty, |json| Body::from(json.to_string())))
        .unwrap();
    app.request(request).await
}

#[tokio::test]
async fn signing_out_other_sessions_makes_their_cookies_worthless() {
    let app = TestApp::new().await;
    app.with_workspace("Acme", OWNER).await;
    let laptop = account::session(&app, OWNER).await;
    let phone = account::session(&app, OWNER).await;
    let page = account::get(&app, "/account/sessions", &laptop).await.text();
    assert_eq!(page.matches("<li class=\"row\">").count(), 2, "{page}");
    assert_eq!(page.matches("This session").count(), 1);

    let revoked =
        account::post(&app, "/account/sessions/revoke-others", &laptop, &[("csrf_token", &account::csrf(&page))]).await;
    assert_eq!(revoked.status, StatusCode::SEE_OTHER, "{}", revoked.text());
    assert!(!signed_in(&app, &phone).await, "the other cookie no longer signs in");
    assert!(signed_in(&app, &laptop).await, "the current session stays");
    assert_eq!(account::event_count(&app, "security.sessions_revoked").await, 1);
}

#[tokio::test]
async fn one_session_can_be_signed_out_from_the_list() {
    let app = TestApp::new().await;
    app.with_workspace("Acme", OWNER).await;
    let laptop = account::session(&app, OWNER).await;
    let phone = account::session(&app, OWNER).await;
    let page = account::get(&app, "/account/sessions", &laptop).await.text();
    let handle = page.split("name=\"session\" value=\"").nth(1).unwrap().split('"').next().unwrap().to_owned();
    let revoked = account::post(
        &app,
        "/account/sessions/revoke",
        &laptop,
        &[("csrf_token", &account::csrf(&page)), ("session", &handle)],
    )
    .await;
    assert_eq!(revoked.status, StatusCode::SEE_OTHER);
    assert!(!signed_in(&app, &phone).await);
    assert!(signed_in(&app, &laptop).await);
}

#[tokio::test]
async fn changing_the_password_signs_out_every_other_session() {
    let app = TestApp::new().await;
    app.with_workspace("Acme", OWNER).await;
    let laptop = account::session(&app, OWNER).await;
    let phone = account::session(&app, OWNER).await;
    let csrf = account::csrf(&account::get(&app, "/account/password", &laptop).await.text());
    let wrong = account::post(
        &app,
        "/account/password",
        &laptop,
        &[("csrf_token", &csrf), ("current_password", "not it at all"), ("new_password", "a brand new phrase")],
    )
    .await;
    assert_eq!(wrong.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(signed_in(&app, &phone).await, "a refused change signs nobody out");

    let changed = account::post(
        &app,
        "/account/password",
        &laptop,
        &[("csrf_token", &csrf), ("current_password", PASSWORD), ("new_password", "a brand new phrase")],
    )
    .await;
    assert_eq!(changed.status, StatusCode::OK, "{}", changed.text());
    assert!(!signed_in(&app, &phone).await);
    assert!(signed_in(&app, &laptop).await);
    assert_eq!(account::sign_in(&app, OWNER, PASSWORD).await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(account::sign_in(&app, OWNER, "a brand new phrase").await.status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn an_admin_signs_a_member_out_everywhere_and_a_member_cannot() {
    let app = TestApp::new().await;
    let created = app.with_workspace("Acme", OWNER).await;
    let member = app.add_member(created.workspace_id, "member@example.com", "member").await;
    let member_cookie = account::session(&app, "member@example.com").await;
    let owner_token =
        identity::create_token(app.db(), created.workspace_id, created.owner_id, "admin", vec![Scope::All], None)
            .await
            .unwrap();
    let member_token =
        identity::create_token(app.db(), created.workspace_id, member, "mine", vec![Scope::All], None).await.unwrap();

    let path = format!("/api/v1/members/{}/sessions/revoke", created.owner_id);
    let refused = bearer(&app, Method::POST, &path, member_token.secret.expose(), None).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);

    let path = format!("/api/v1/members/{member}/sessions/revoke");
    let revoked = bearer(&app, Method::POST, &path, owner_token.secret.expose(), None).await;
    assert_eq!(revoked.status, StatusCode::OK, "{}", revoked.text());
    assert_eq!(revoked.json()["revoked"], 1);
    assert!(!signed_in(&app, &member_cookie).await);

    let stranger =
        bearer(&app, Method::POST, "/api/v1/members/999999/sessions/revoke", owner_token.secret.expose(), None).await;
    assert_eq!(stranger.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_token_page_shows_a_new_secret_once() {
    let app = TestApp::new().await;
    app.with_workspace("Acme", OWNER).await;
    let cookie = account::session(&app, OWNER).await;
    let csrf = account::csrf(&account::get(&app, "/account/tokens", &cookie).await.text());
    let created = account::post(
        &app,
        "/account/tokens",
        &cookie,
        &[
            ("csrf_token", &csrf),
            ("name", "Nightly export"),
            ("scopes", "people:read"),
            ("scopes", "events:write"),
            ("expires_in_days", "30"),
        ],
    )
    .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text());
    let secret = account::text_of(&created.text(), "data-token-secret");
    assert!(secret.starts_with("rpt_"), "{secret}");
    assert_eq!(account::security_log_count(&app, "token_created").await, 1);

    let me = bearer(&app, Method::GET, "/api/v1/me", &secret, None).await;
    assert_eq!(me.json()["token"]["scopes"], serde_json::json!(["people:read", "events:write"]));

    let later = account::get(&app, "/account/tokens", &cookie).await.text();
    assert!(later.contains("Nightly export") && later.contains("people:read, events:write"), "{later}");
    assert!(!later.contains(&secret), "the secret is never shown again");
    assert!(later.contains(&secret[..secret.len() - 56]), "its prefix is");
}

#[tokio::test]
async fn tokens_are_listed_created_and_revoked_through_the_api() {
    let app = TestApp::new().await;
    let created = app.with_workspace("Acme", OWNER).await;
    let own = identity::create_token(app.db(), created.workspace_id, created.owner_id, "ci", vec![Scope::All], None)
        .await
        .unwrap();
    let own = own.secret.expose().clone();
    let made = bearer(
        &app,
        Method::POST,
        "/api/v1/tokens",
        &own,
        Some(serde_json::json!({"name": "sync", "scopes": ["people:read"]})),
    )
    .await;
    assert_eq!(made.status, StatusCode::CREATED, "{}", made.text());
    let (id, secret) = (made.json()["id"].as_i64().unwrap(), made.json()["secret"].as_str().unwrap().to_owned());

    let list = bearer(&app, Method::GET, "/api/v1/tokens", &own, None).await.json();
    let names: Vec<&str> = list["tokens"].as_array().unwrap().iter().map(|t| t["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["sync", "ci"]);
    assert!(!list.to_string().contains(&secret), "listing never shows a secret");

    let bad = bearer(
        &app,
        Method::POST,
        "/api/v1/tokens",
        &own,
        Some(serde_json::json!({"name": "x", "scopes": ["people:admin"]})),
    )
    .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);

    let deleted = bearer(&app, Method::DELETE, &format!("/api/v1/tokens/{id}"), &own, None).await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    assert_eq!(bearer(&app, Method::GET, "/api/v1/me", &secret, None).await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(account::event_count(&app, "security.token_revoked").await, 1);

    let other = app.with_workspace("Other", "other@example.com").await;
    let foreign =
        identity::create_token(app.db(), other.workspace_id, other.owner_id, "theirs", vec![Scope::All], None)
            .await
            .unwrap();
    let path = format!("/api/v1/tokens/{}", foreign.id);
    assert_eq!(
        bearer(&app, Method::DELETE, &path, &own, None).await.status,
        StatusCode::NOT_FOUND,
        "only one's own tokens"
    );
}

#[tokio::test]
async fn a_viewers_token_cannot_write() {
    let app = TestApp::new().await;
    let created = app.with_workspace("Acme", OWNER).await;
    let viewer = app.add_member(created.workspace_id, "viewer@example.com", "viewer").await;
    let token =
        identity::create_token(app.db(), created.workspace_id, viewer, "all", vec![Scope::All], None).await.unwrap();
    let principal = identity::token_principal(app.db(), token.secret.expose()).await.unwrap();
    assert!(principal.may("people", false));
    assert!(!principal.may("people", true), "a scope never lifts the role's limits");

    let write = bearer(
        &app,
        Method::POST,
        "/api/v1/tokens",
        token.secret.expose(),
        Some(serde_json::json!({"name": "w", "scopes": ["people:write"]})),
    )
    .await;
    assert_eq!(write.status, StatusCode::UNPROCESSABLE_ENTITY, "a viewer cannot mint a writing token");
    let path = format!("/api/v1/members/{}/sessions/revoke", created.owner_id);
    assert_eq!(bearer(&app, Method::POST, &path, token.secret.expose(), None).await.status, StatusCode::FORBIDDEN);
}
