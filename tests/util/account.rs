//! Acting as a signed-in browser user in tests: signing in, following the cookie, reading the
//! CSRF token off a page, and adding members with a given role.

use axum::body::Body;
use axum::http::Request;
use rapport_core::{Email, UserId, WorkspaceId};

use super::{TestApp, TestResponse};

pub const PASSWORD: &str = "correct horse battery";

/// The `name=value` part of the first `Set-Cookie` header naming `name`.
pub fn cookie(response: &TestResponse, name: &str) -> Option<String> {
    response
        .headers
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .map(|v| v.split(';').next().unwrap_or_default().to_owned())
        .find(|pair| pair.starts_with(&format!("{name}=")) && !pair.ends_with('='))
}

pub async fn sign_in(app: &TestApp, email: &str, password: &str) -> TestResponse {
    app.post_form("/login", &[("email", email), ("password", password)]).await
}

/// Signs in with the password alone and returns the session cookie.
pub async fn session(app: &TestApp, email: &str) -> String {
    let response = sign_in(app, email, PASSWORD).await;
    cookie(&response, "rapport_session").unwrap_or_else(|| panic!("no session: {}", response.status))
}

pub async fn get(app: &TestApp, path: &str, cookie: &str) -> TestResponse {
    app.get_as(cookie, path).await
}

/// A same-origin form post with `cookie`.
pub async fn post(app: &TestApp, path: &str, cookie: &str, fields: &[(&str, &str)]) -> TestResponse {
    app.post_form_as(cookie, path, fields).await
}

/// The value of the first element carrying `attribute` (`<code data-x>VALUE</code>`), or of
/// the hidden input named `csrf_token` when asked for that.
pub fn text_of(html: &str, attribute: &str) -> String {
    html.split(attribute)
        .nth(1)
        .and_then(|rest| rest.split_once('>'))
        .map(|(_, rest)| rest)
        .unwrap_or_default()
        .split('<')
        .next()
        .unwrap_or_default()
        .to_owned()
}

pub fn csrf(html: &str) -> String {
    html.split("name=\"csrf_token\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap_or_else(|| panic!("no CSRF token in {html}"))
        .to_owned()
}

pub async fn event_count(app: &TestApp, kind: &str) -> i64 {
    let kind = kind.to_owned();
    rapport_db::sql!(app.db().exec(), c => sqlx::query_scalar("SELECT count(*) FROM domain_events WHERE kind = $1")
        .bind(kind.clone()).fetch_one(c).await)
    .unwrap()
}

/// Rows of the security log with `action`.
pub async fn security_log_count(app: &TestApp, action: &str) -> i64 {
    let action = action.to_owned();
    rapport_db::sql!(app.db().exec(), c => sqlx::query_scalar(
        "SELECT count(*) FROM audit_rows WHERE log = 'security' AND action = $1"
    ).bind(action.clone()).fetch_one(c).await)
    .unwrap()
}
