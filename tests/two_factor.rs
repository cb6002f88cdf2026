//! Two-factor authentication as a user meets it: enrolling with a code from their app, signing
//! in with a code or a recovery code, replays and guesses refused, and the workspace policy
//! that sends members to enrolment.

#![allow(clippy::unwrap_used)]

mod util;

use axum::http::StatusCode;
use util::TestApp;
use util::account::{self, PASSWORD};

const OWNER: &str = "owner@example.com";

/// The code an authenticator app shows `steps` steps from now.
fn code(secret: &str, steps: i64) -> String {
    let totp = totp_rs::Builder::new().with_secret(totp_rs::Secret::try_from_base32(secret).unwrap()).build().unwrap();
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    totp.generate(now.saturating_add_signed(steps * 30)).to_string()
}

/// Enrols the owner and returns the TOTP secret, the code spent and the recovery codes shown.
async fn enrol(app: &TestApp, cookie: &str) -> (String, String, Vec<String>) {
    let page = account::get(app, "/account/two-factor", cookie).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text());
    let html = page.text();
    assert!(html.contains("otpauth://totp/"), "the page shows the otpauth URI");
    assert!(html.contains("<svg"), "the page shows a QR code");
    let secret = account::text_of(&html, "data-totp-secret");
    let spent = code(&secret, 0);
    let enabled = account::post(
        app,
        "/account/two-factor/enable",
        cookie,
        &[("csrf_token", &account::csrf(&html)), ("code", &spent)],
    )
    .await;
    assert_eq!(enabled.status, StatusCode::OK, "{}", enabled.text());
    let html = enabled.text();
    let codes: Vec<String> =
        html.split("<li><code>").skip(1).map(|rest| rest.split('<').next().unwrap().to_owned()).collect();
    assert_eq!(codes.len(), 10, "ten recovery codes are shown once");
    (secret, spent, codes)
}

/// Signs in with the password; returns the pending-login cookie the code step needs.
async fn pending(app: &TestApp) -> String {
    let response = account::sign_in(app, OWNER, PASSWORD).await;
    assert_eq!(response.status, StatusCode::SEE_OTHER);
    assert_eq!(response.header("location"), "/login/two-factor");
    assert!(account::cookie(&response, "rapport_session").is_none(), "no session before the second factor");
    account::cookie(&response, "rapport_pending_login").unwrap()
}

async fn answer(app: &TestApp, pending: &str, code: &str) -> util::TestResponse {
    account::post(app, "/login/two-factor", pending, &[("code", code)]).await
}

#[tokio::test]
async fn a_code_completes_sign_in_once_and_its_replay_is_refused() {
    let app = TestApp::new().await;
    app.with_workspace("Acme", OWNER).await;
    let cookie = account::session(&app, OWNER).await;
    let (secret, spent, _) = enrol(&app, &cookie).await;
    assert_eq!(account::event_count(&app, "security.two_factor_enabled").await, 1);

    let replayed = answer(&app, &pending(&app).await, &spent).await;
    assert_eq!(replayed.status, StatusCode::UNAUTHORIZED, "the code spent on enrolment cannot sign in");

    let login = pending(&app).await;
    let next = code(&secret, 1);
    let signed_in = answer(&app, &login, &next).await;
    assert_eq!(signed_in.status, StatusCode::SEE_OTHER, "{}", signed_in.text());
    let session = account::cookie(&signed_in, "rapport_session").unwrap();
    assert!(account::get(&app, "/", &session).await.text().contains("Signed in as"));

    assert_eq!(answer(&app, &login, &next).await.status, StatusCode::SEE_OTHER, "a used pending login starts over");
    assert_eq!(answer(&app, &pending(&app).await, &next).await.status, StatusCode::UNAUTHORIZED, "replay refused");
}

#[tokio::test]
async fn a_recovery_code_signs_in_once() {
    let app = TestApp::new().await;
    app.with_workspace("Acme", OWNER).await;
    let cookie = account::session(&app, OWNER).await;
    let (_, _, codes) = enrol(&app, &cookie).await;

    let first = answer(&app, &pending(&app).await, &codes[3].to_uppercase()).await;
    assert_eq!(first.status, StatusCode::SEE_OTHER, "{}", first.text());
    assert!(account::cookie(&first, "rapport_session").is_some());
    assert_eq!(account::event_count(&app, "security.recovery_code_used").await, 1);

    let again = answer(&app, &pending(&app).await, &codes[3]).await;
    assert_eq!(again.status, StatusCode::UNAUTHORIZED, "a recovery code works once");
    let page = account::get(&app, "/account/two-factor", &cookie).await.text();
    assert!(page.contains("9 unused recovery codes"), "{page}");
}

#[tokio::test]
async fn wrong_codes_count_toward_the_account_throttle() {
    let app = TestApp::new().await;
    app.with_workspace("Acme", OWNER).await;
    let cookie = account::session(&app, OWNER).await;
    let (secret, _, _) = enrol(&app, &cookie).await;
    let login = pending(&app).await;
    let mut statuses = Vec::new();
    for _ in 0..6 {
        statuses.push(answer(&app, &login, "000000").await.status);
    }
    assert!(statuses[..5].iter().all(|s| *s == StatusCode::UNAUTHORIZED), "{statuses:?}");
    assert_eq!(statuses[5], StatusCode::TOO_MANY_REQUESTS, "after five wrong codes the account waits");
    let right = answer(&app, &login, &code(&secret, 1)).await;
    assert_eq!(right.status, StatusCode::TOO_MANY_REQUESTS, "even the right code waits out the throttle");
    let password = account::sign_in(&app, OWNER, PASSWORD).await;
    assert_eq!(password.status, StatusCode::TOO_MANY_REQUESTS, "the password shares the throttle");
}

#[tokio::test]
async fn the_workspace_policy_sends_members_to_enrolment_until_they_enrol() {
    let app = TestApp::new().await;
    let created = app.with_workspace("Acme", OWNER).await;
    app.add_member(created.workspace_id, "member@example.com", "member").await;
    let owner = account::session(&app, OWNER).await;
    let page = account::get(&app, "/account/two-factor", &owner).await.text();
    let policy = account::post(
        &app,
        "/account/two-factor/policy",
        &owner,
        &[("csrf_token", &account::csrf(&page)), ("required", "on")],
    )
    .await;
    assert_eq!(policy.status, StatusCode::SEE_OTHER, "{}", policy.text());

    let member_login = account::sign_in(&app, "member@example.com", PASSWORD).await;
    assert_eq!(member_login.header("location"), "/account/two-factor", "sign-in leads to enrolment");
    let member = account::cookie(&member_login, "rapport_session").unwrap();
    let home = account::get(&app, "/", &member).await;
    assert_eq!(home.status, StatusCode::FORBIDDEN);
    let api = account::get(&app, "/api/v1/me", &member).await;
    assert_eq!(api.error_code(), "two_factor_required");
    assert_eq!(account::get(&app, "/account/tokens", &member).await.status, StatusCode::FORBIDDEN);

    let page = account::get(&app, "/account/two-factor", &member).await;
    assert!(page.text().contains("This workspace requires two-factor authentication"));
    let secret = account::text_of(&page.text(), "data-totp-secret");
    let enabled = account::post(
        &app,
        "/account/two-factor/enable",
        &member,
        &[("csrf_token", &account::csrf(&page.text())), ("code", &code(&secret, 0))],
    )
    .await;
    assert_eq!(enabled.status, StatusCode::OK, "{}", enabled.text());
    assert_eq!(account::get(&app, "/", &member).await.status, StatusCode::OK, "enrolled members may continue");
}

#[tokio::test]
async fn turning_two_factor_off_needs_a_current_code_or_the_password() {
    let app = TestApp::new().await;
    app.with_workspace("Acme", OWNER).await;
    let cookie = account::session(&app, OWNER).await;
    enrol(&app, &cookie).await;
    let csrf = account::csrf(&account::get(&app, "/account/two-factor", &cookie).await.text());
    let refused =
        account::post(&app, "/account/two-factor/disable", &cookie, &[("csrf_token", &csrf), ("password", "guess")])
            .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    let done =
        account::post(&app, "/account/two-factor/disable", &cookie, &[("csrf_token", &csrf), ("password", PASSWORD)])
            .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.text());
    assert_eq!(account::event_count(&app, "security.two_factor_disabled").await, 1);
    let login = account::sign_in(&app, OWNER, PASSWORD).await;
    assert!(account::cookie(&login, "rapport_session").is_some(), "a password alone signs in again");
}
