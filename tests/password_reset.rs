//! Password reset through a real SMTP server on loopback: the emailed link works exactly once,
//! expires, refuses common passwords, and signs the user out everywhere.

#![allow(clippy::unwrap_used)]

mod util;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use rapport::config::MailTls;
use util::TestApp;
use util::smtp::{SmtpSink, free_port, link};

const OWNER: &str = "owner@example.com";

async fn app_with_mail(sink: &SmtpSink) -> TestApp {
    app_with_mail_on(sink.port).await
}

async fn app_with_mail_on(port: u16) -> TestApp {
    let app = TestApp::configured(|config| {
        config.public_url = Some("http://rapport.test".into());
        config.mail.smtp_host = "127.0.0.1".into();
        config.mail.smtp_port = port;
        config.mail.tls = MailTls::None;
    })
    .await;
    app.with_workspace("Acme", OWNER).await;
    app
}

async fn sign_in(app: &TestApp, password: &str) -> Option<String> {
    let login = app.post_form("/login", &[("email", OWNER), ("password", password)]).await;
    (login.status == StatusCode::SEE_OTHER).then(|| login.header("set-cookie").split(';').next().unwrap().to_owned())
}

async fn signed_in(app: &TestApp, cookie: &str) -> bool {
    let home = app.request(Request::get("/").header("cookie", cookie).body(Body::empty()).unwrap()).await;
    home.text().contains("Signed in as")
}

/// Asks for a link and returns it as it arrived by email.
async fn emailed_link(app: &TestApp, sink: &SmtpSink) -> String {
    let before = sink.messages_to(OWNER).len();
    let asked = app.post_form("/password/forgot", &[("email", OWNER)]).await;
    assert_eq!(asked.status, StatusCode::OK, "{}", asked.text());
    app.run_pending_jobs().await;
    let messages = sink.messages_to(OWNER);
    assert_eq!(messages.len(), before + 1, "one reset email arrives");
    link(messages.last().unwrap(), "http://rapport.test/password/reset?token=")
}

fn path_of(link: &str) -> &str {
    link.strip_prefix("http://rapport.test").unwrap()
}

fn token_of(link: &str) -> &str {
    link.split("token=").nth(1).unwrap()
}

#[tokio::test]
async fn a_reset_link_arrives_by_email_works_once_and_signs_out_every_session() {
    let Some(sink) = SmtpSink::start_or_skip() else { return };
    let app = app_with_mail(&sink).await;
    let first = sign_in(&app, "correct horse battery").await.unwrap();
    let second = sign_in(&app, "correct horse battery").await.unwrap();

    let link = emailed_link(&app, &sink).await;
    let message = sink.messages_to(OWNER).pop().unwrap();
    assert!(message.contains("Subject: Reset your Rapport password"), "{message}");
    assert!(message.contains("text/plain") && message.contains("text/html"), "both bodies are sent");

    let form = app.get(path_of(&link)).await;
    assert_eq!(form.status, StatusCode::OK);
    assert!(form.text().contains("New password"));
    let reset =
        app.post_form("/password/reset", &[("token", token_of(&link)), ("password", "a brand new passphrase")]).await;
    assert_eq!(reset.status, StatusCode::OK, "{}", reset.text());

    assert!(!signed_in(&app, &first).await && !signed_in(&app, &second).await, "every session is revoked");
    assert!(sign_in(&app, "correct horse battery").await.is_none(), "the old password no longer works");
    assert!(sign_in(&app, "a brand new passphrase").await.is_some(), "the new one does");

    let again =
        app.post_form("/password/reset", &[("token", token_of(&link)), ("password", "yet another passphrase")]).await;
    assert_eq!(again.status, StatusCode::GONE, "the link is spent");
    assert_eq!(app.get(path_of(&link)).await.status, StatusCode::GONE);
    assert!(sign_in(&app, "yet another passphrase").await.is_none());
}

#[tokio::test]
async fn asking_for_a_link_answers_the_same_for_an_unknown_address_and_sends_nothing() {
    let Some(sink) = SmtpSink::start_or_skip() else { return };
    let app = app_with_mail(&sink).await;
    let known = app.post_form("/password/forgot", &[("email", OWNER)]).await;
    let unknown = app.post_form("/password/forgot", &[("email", "nobody@example.com")]).await;
    assert_eq!(known.status, unknown.status);
    assert_eq!(known.text(), unknown.text());
    app.run_pending_jobs().await;
    assert_eq!(sink.messages().len(), 1, "only the real account gets mail");
}

#[tokio::test]
async fn an_expired_reset_link_is_refused() {
    let Some(sink) = SmtpSink::start_or_skip() else { return };
    let app = app_with_mail(&sink).await;
    let link = emailed_link(&app, &sink).await;
    let past = chrono::Utc::now() - chrono::Duration::minutes(1);
    app.set_time("UPDATE password_resets SET expires_at = $1", past).await;
    assert_eq!(app.get(path_of(&link)).await.status, StatusCode::GONE);
    let reset =
        app.post_form("/password/reset", &[("token", token_of(&link)), ("password", "a brand new passphrase")]).await;
    assert_eq!(reset.status, StatusCode::GONE);
    assert!(sign_in(&app, "correct horse battery").await.is_some(), "the password is unchanged");
}

#[tokio::test]
async fn a_common_password_is_refused_and_the_link_stays_usable() {
    let Some(sink) = SmtpSink::start_or_skip() else { return };
    let app = app_with_mail(&sink).await;
    let link = emailed_link(&app, &sink).await;
    let refused = app.post_form("/password/reset", &[("token", token_of(&link)), ("password", "Password123")]).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.text().contains("one of the most common passwords"), "{}", refused.text());
    let reset =
        app.post_form("/password/reset", &[("token", token_of(&link)), ("password", "a brand new passphrase")]).await;
    assert_eq!(reset.status, StatusCode::OK);
}

#[tokio::test]
async fn the_login_page_links_to_the_forgotten_password_page() {
    let app = TestApp::new().await;
    assert!(app.get("/login").await.text().contains("href=\"/password/forgot\""));
    assert_eq!(app.get("/password/forgot").await.status, StatusCode::OK);
}

#[tokio::test]
async fn a_reset_email_is_retried_until_the_smtp_server_is_back() {
    let port = free_port();
    let app = app_with_mail_on(port).await;
    let asked = app.post_form("/password/forgot", &[("email", OWNER)]).await;
    assert_eq!(asked.status, StatusCode::OK);
    app.run_pending_jobs().await;
    let queued = rapport_jobs::list_jobs(app.db(), rapport_jobs::JobStatus::Queued, 10).await.unwrap();
    assert_eq!(queued.len(), 1, "the failed delivery waits for a retry");
    assert!(queued[0].last_error.is_some());

    let Some(sink) = SmtpSink::start_on_or_skip(port) else { return };
    app.set_time("UPDATE jobs SET run_at = $1", chrono::Utc::now() - chrono::Duration::seconds(1)).await;
    app.run_pending_jobs().await;
    let messages = sink.messages_to(OWNER);
    assert_eq!(messages.len(), 1, "the retry delivers the message");
    link(&messages[0], "http://rapport.test/password/reset?token=");
}
