//! The one-time setup of a fresh installation through its web page.

#![allow(clippy::unwrap_used)]

mod util;

use axum::http::StatusCode;
use util::TestApp;

async fn app_with_token() -> (TestApp, String) {
    let app = TestApp::new().await;
    let token = rapport::workspace::start_setup(app.db()).await.unwrap().expect("a fresh installation needs setup");
    let token = token.0.expose().clone();
    (app, token)
}

fn valid_form(token: &str) -> Vec<(&str, &str)> {
    vec![
        ("token", token),
        ("workspace_name", "Acme"),
        ("owner_email", "Ada@Example.com"),
        ("password", "correct horse battery"),
        ("password_confirm", "correct horse battery"),
    ]
}

#[tokio::test]
async fn the_setup_page_needs_the_printed_token() {
    let (app, token) = app_with_token().await;
    assert_eq!(app.get("/setup").await.status, StatusCode::FORBIDDEN);
    assert_eq!(app.get("/setup?token=0000").await.status, StatusCode::FORBIDDEN);
    let page = app.get(&format!("/setup?token={token}")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.text().contains("name=\"workspace_name\""));
}

#[tokio::test]
async fn invalid_fields_are_shown_inline_and_nothing_is_created() {
    let (app, token) = app_with_token().await;
    let response = app
        .post_form(
            "/setup",
            &[
                ("token", &token),
                ("workspace_name", " "),
                ("owner_email", "not-an-email"),
                ("password", "short"),
                ("password_confirm", "other"),
            ],
        )
        .await;
    assert_eq!(response.status, StatusCode::UNPROCESSABLE_ENTITY);
    let html = response.text();
    for message in [
        "The name must not be empty",
        "This address must contain exactly one @",
        "at least 8 characters",
        "The two passwords differ",
    ] {
        assert!(html.contains(message), "missing {message:?}");
    }
    assert!(html.contains("value=\"not-an-email\""), "the typed value is kept");
    assert_eq!(app.count("workspaces").await, 0);
    assert_eq!(app.count("users").await, 0);
}

#[tokio::test]
async fn a_valid_submission_creates_the_workspace_its_owner_and_an_event_and_spends_the_token() {
    let (app, token) = app_with_token().await;
    let response = app.post_form("/setup", &valid_form(&token)).await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.text());
    assert!(response.text().contains("Your workspace is ready"));
    assert_eq!(app.count("workspaces").await, 1);
    assert_eq!(app.count("memberships").await, 1);
    let email: String =
        rapport_db::sql!(app.db().exec(), c => sqlx::query_scalar("SELECT email FROM users").fetch_one(c).await)
            .unwrap();
    assert_eq!(email, "Ada@example.com", "the domain is normalised, the local part kept");
    let kind: String =
        rapport_db::sql!(app.db().exec(), c => sqlx::query_scalar("SELECT kind FROM domain_events").fetch_one(c).await)
            .unwrap();
    assert_eq!(kind, "workspace.created");

    let again = app.post_form("/setup", &valid_form(&token)).await;
    assert!(again.text().contains("already set up"));
    assert_eq!(app.count("workspaces").await, 1);
}

#[tokio::test]
async fn a_cross_site_submission_is_refused_and_changes_nothing() {
    let (app, token) = app_with_token().await;
    let response = app.post_form_from("/setup", &valid_form(&token), "cross-site").await;
    assert_eq!(response.status, StatusCode::FORBIDDEN);
    assert_eq!(app.count("workspaces").await, 0);
}

#[tokio::test]
async fn once_a_workspace_exists_no_new_setup_token_is_issued() {
    let app = TestApp::new().await;
    app.with_workspace("Acme", "owner@example.com").await;
    assert!(rapport::workspace::start_setup(app.db()).await.unwrap().is_none());
}

#[tokio::test]
async fn ticking_load_sample_data_fills_the_new_workspace_with_people_and_their_events() {
    let (app, token) = app_with_token().await;
    let page = app.get(&format!("/setup?token={token}")).await.text();
    assert!(page.contains("name=\"sample_data\""), "the form offers sample data");
    let mut form = valid_form(&token);
    form.push(("sample_data", "on"));
    let started = std::time::Instant::now();
    let response = app.post_form("/setup", &form).await;
    let took = started.elapsed();
    assert_eq!(response.status, StatusCode::OK, "{}", response.text());
    assert!(response.text().contains("2000 made-up customers"), "the page says what was loaded");
    eprintln!("setup with sample data answered in {:.2} s", took.as_secs_f64());
    assert_eq!(app.count("people").await, rapport::r#gen::SAMPLE_PEOPLE as i64);
    assert_eq!(app.count("events").await, rapport::r#gen::SAMPLE_EVENTS as i64);
    let person_rows: i64 = rapport_db::sql!(app.db().exec(), c => sqlx::query_scalar(
        "SELECT (SELECT count(*) FROM audit_rows WHERE entity = 'person') + \
                (SELECT count(*) FROM domain_events WHERE entity_type = 'person' AND kind NOT LIKE 'order.%')"
    ).fetch_one(c).await)
    .unwrap();
    assert_eq!(person_rows, 0, "a bulk load writes no audit rows and no domain events of its own");
    let workspace =
        rapport_db::sql!(app.db().exec(), c => sqlx::query_scalar("SELECT max(id) FROM workspaces").fetch_one(c).await)
            .unwrap();
    rapport::tracking::resolve_pending(app.db(), rapport_core::WorkspaceId::new(workspace)).await.unwrap();
    let placed: i64 = rapport_db::sql!(app.db().exec(), c => sqlx::query_scalar(
        "SELECT count(*) FROM domain_events WHERE entity_type = 'person' AND kind = 'order.placed'"
    ).fetch_one(c).await)
    .unwrap();
    assert_eq!(
        placed,
        app.count("orders").await,
        "resolved in the background, each order is on its customer's timeline"
    );
    assert!(placed > 0, "the sample shop has orders");
}

#[tokio::test]
async fn without_the_checkbox_the_new_workspace_is_empty() {
    let (app, token) = app_with_token().await;
    let response = app.post_form("/setup", &valid_form(&token)).await;
    assert_eq!(response.status, StatusCode::OK);
    assert!(!response.text().contains("made-up customers"));
    assert_eq!(app.count("people").await, 0);
}
