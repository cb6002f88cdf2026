//! Email verification through a real SMTP server on loopback: the owner created at setup is
//! sent a link that verifies once and expires; an unverified user asks for a new one from the
//! account page, within a per-address limit; `/api/v1/me` tells which.

#![allow(clippy::unwrap_used)]

mod util;

use axum::http::StatusCode;
use util::TestApp;
use util::account::{csrf, session};
use util::smtp::{SmtpSink, app_with_mail, link, next_message_to, path_of};

const OWNER: &str = "ada@example.com";
const VERIFY: &str = "http://rapport.test/account/verify-email?token=";

async fn set_up_through_the_page(app: &TestApp) {
    let token = rapport::workspace::start_setup(app.db()).await.unwrap().unwrap();
    let token = token.0.expose().clone();
    let form = [
        ("token", token.as_str()),
        ("workspace_name", "Acme"),
        ("owner_email", OWNER),
        ("password", util::account::PASSWORD),
        ("password_confirm", util::account::PASSWORD),
    ];
    assert_eq!(app.post_form("/setup", &form).await.status, StatusCode::OK);
}

async fn verified(app: &TestApp, cookie: &str) -> bool {
    let me = app.get_as(cookie, "/api/v1/me").await.json();
    me["user"]["email_verified"].as_bool().unwrap()
}

#[tokio::test]
async fn the_owner_created_at_setup_is_sent_a_link_that_verifies_once() {
    let Some(sink) = SmtpSink::start_or_skip() else { return };
    let app = app_with_mail(&sink).await;
    set_up_through_the_page(&app).await;
    let message = next_message_to(&app, &sink, OWNER, 0).await;
    assert!(message.contains("Subject: Confirm your email address for Rapport"), "{message}");
    let link = link(&message, VERIFY);

    let owner = session(&app, OWNER).await;
    assert!(!verified(&app, &owner).await);
    let opened = app.get(path_of(&link)).await;
    assert_eq!(opened.status, StatusCode::OK);
    assert!(opened.text().contains("is verified"));
    assert!(verified(&app, &owner).await);
    assert_eq!(app.get(path_of(&link)).await.status, StatusCode::GONE, "the link works once");
}

#[tokio::test]
async fn an_unverified_user_asks_for_a_new_link_from_the_account_page() {
    let Some(sink) = SmtpSink::start_or_skip() else { return };
    let app = app_with_mail(&sink).await;
    app.with_workspace("Acme", OWNER).await;
    let owner = session(&app, OWNER).await;
    let page = app.get_as(&owner, "/account/sessions").await.text();
    assert!(page.contains("unverified"), "{page}");
    let token = csrf(&page);

    let resent = app.post_form_as(&owner, "/account/verify-email/resend", &[("csrf_token", &token)]).await;
    assert_eq!(resent.status, StatusCode::OK, "{}", resent.text());
    let link = link(&next_message_to(&app, &sink, OWNER, 0).await, VERIFY);
    assert_eq!(app.get(path_of(&link)).await.status, StatusCode::OK);
    assert!(!app.get_as(&owner, "/account/sessions").await.text().contains("data-unverified"));
    let again = app.post_form_as(&owner, "/account/verify-email/resend", &[("csrf_token", &token)]).await;
    assert!(again.text().contains("already verified"));
    app.run_pending_jobs().await;
    assert_eq!(sink.messages_to(OWNER).len(), 1, "a verified address gets no more links");
}

#[tokio::test]
async fn an_expired_link_is_refused_and_verifies_nothing() {
    let Some(sink) = SmtpSink::start_or_skip() else { return };
    let app = app_with_mail(&sink).await;
    set_up_through_the_page(&app).await;
    let link = link(&next_message_to(&app, &sink, OWNER, 0).await, VERIFY);
    let past = chrono::Utc::now() - chrono::Duration::minutes(1);
    app.set_time("UPDATE email_verifications SET expires_at = $1", past).await;
    assert_eq!(app.get(path_of(&link)).await.status, StatusCode::GONE);
    let owner = session(&app, OWNER).await;
    assert!(!verified(&app, &owner).await);
}

#[tokio::test]
async fn asking_for_links_is_limited_per_address() {
    let app = TestApp::new().await;
    app.with_workspace("Acme", OWNER).await;
    let owner = session(&app, OWNER).await;
    let token = csrf(&app.get_as(&owner, "/account/sessions").await.text());
    let mut statuses = Vec::new();
    for _ in 0..6 {
        statuses.push(app.post_form_as(&owner, "/account/verify-email/resend", &[("csrf_token", &token)]).await.status);
    }
    assert!(statuses[..5].iter().all(|s| *s == StatusCode::OK), "{statuses:?}");
    assert_eq!(statuses[5], StatusCode::TOO_MANY_REQUESTS);
}
