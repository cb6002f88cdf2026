//! Identity details that only show from outside: an owner created on the command line is sent
//! the verification email as a setup owner is, emailed links point at the address the server
//! really listens on when it was started on port 0 without a public URL, and TOTP secrets are
//! stored sealed, never as the base32 secret an authenticator app is given (a secret stored in
//! clear before is sealed when next read, and still works).

#![allow(clippy::unwrap_used)]

mod util;

use std::time::Duration;

use axum::http::StatusCode;
use util::account::{self, PASSWORD};
use util::smtp::SmtpSink;
use util::{Binary, TestApp};

const OWNER: &str = "owner@example.com";

#[tokio::test]
async fn an_owner_created_on_the_command_line_gets_a_verification_link_on_the_bound_port() {
    let Some(sink) = SmtpSink::start_or_skip() else { return };
    let (mut binary, _guard) = Binary::on_test_database().await;
    for (key, value) in [
        ("RAPPORT_MAIL__SMTP_HOST", "127.0.0.1".to_owned()),
        ("RAPPORT_MAIL__SMTP_PORT", sink.port.to_string()),
        ("RAPPORT_MAIL__TLS", "none".to_owned()),
    ] {
        binary.env.push((key.into(), value));
    }
    let args = ["admin", "create-workspace", "--name", "Acme", "--owner-email", "ops@example.com", "--password-stdin"];
    let created = binary.run(&args, Some("correct horse battery\n")).await;
    assert!(created.status.success(), "{}", String::from_utf8_lossy(&created.stderr));

    let server = binary.serve().await;
    assert!(!server.url.ends_with(":0"), "the server names its bound port: {}", server.url);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    let message = loop {
        if let Some(message) = sink.messages_to("ops@example.com").pop() {
            break message;
        }
        assert!(tokio::time::Instant::now() < deadline, "no verification email arrived");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let link = util::smtp::link(&message, "http");
    assert!(
        link.starts_with(&format!("{}/account/verify-email?token=", server.url)),
        "the link uses the bound address {}: {link}",
        server.url
    );
    let opened = reqwest::get(&link).await.unwrap();
    assert!(opened.status().is_success(), "the link opens: {}", opened.status());
    server.stop().await;
}

/// The TOTP code for `secret` now.
fn code(secret: &str) -> String {
    let totp = totp_rs::Builder::new().with_secret(totp_rs::Secret::try_from_base32(secret).unwrap()).build().unwrap();
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    totp.generate(now).to_string()
}

async fn stored_secret(app: &TestApp) -> String {
    rapport_db::sql!(app.db().exec(), c => sqlx::query_scalar("SELECT secret FROM two_factor").fetch_one(c).await)
        .unwrap()
}

#[tokio::test]
async fn a_totp_secret_is_stored_sealed_and_not_as_its_base32() {
    let app = TestApp::new().await;
    app.with_workspace("Acme", OWNER).await;
    let cookie = account::session(&app, OWNER).await;
    let html = account::get(&app, "/account/two-factor", &cookie).await.text();
    let secret = account::text_of(&html, "data-totp-secret");
    assert!(secret.len() >= 16, "the page shows the secret: {secret}");
    let stored = stored_secret(&app).await;
    assert!(!stored.contains(&secret) && stored.starts_with("v1."), "stored as {stored}");
    let again = account::get(&app, "/account/two-factor", &cookie).await.text();
    assert_eq!(account::text_of(&again, "data-totp-secret"), secret, "a reload shows the same secret");

    let enabled = account::post(
        &app,
        "/account/two-factor/enable",
        &cookie,
        &[("csrf_token", &account::csrf(&html)), ("code", &code(&secret))],
    )
    .await;
    assert_eq!(enabled.status, StatusCode::OK, "the sealed secret checks codes: {}", enabled.text());
    assert!(!stored_secret(&app).await.contains(&secret));
}

#[tokio::test]
async fn a_secret_stored_in_clear_is_sealed_when_next_read_and_keeps_working() {
    let app = TestApp::new().await;
    let created = app.with_workspace("Acme", OWNER).await;
    let secret = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP";
    let user = created.owner_id;
    app.db()
        .write(move |tx| {
            Box::pin(async move {
                let inserted = rapport_db::sql!(tx.exec(), c => sqlx::query(
                    "INSERT INTO two_factor (user_id, secret, enabled_at, created_at) VALUES ($1, $2, $3, $3)"
                ).bind(user).bind(secret).bind(chrono::Utc::now()).execute(c).await.map(|r| r.rows_affected()))?;
                Ok::<_, rapport_db::DbError>(inserted)
            })
        })
        .await
        .unwrap();
    let signed = account::sign_in(&app, OWNER, PASSWORD).await;
    let pending = account::cookie(&signed, "rapport_pending_login").unwrap();
    let done = account::post(&app, "/login/two-factor", &pending, &[("code", &code(secret))]).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "the old secret still signs in: {}", done.text());
    let stored = stored_secret(&app).await;
    assert!(stored.starts_with("v1.") && !stored.contains(secret), "sealed on read: {stored}");
}
