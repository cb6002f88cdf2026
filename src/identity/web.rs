//! Signing in and out in the browser.

use askama::Template;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use serde::Deserialize;

use super::{AuthError, ClientInfo, Principal};
use crate::app::AppState;
use crate::http::ApiError;
use crate::http::auth::{CsrfProtected, SESSION_COOKIE, SESSION_COOKIE_TLS, SessionForm, session_cookie_value};
use crate::http::ratelimit::{self, ClientIp};
use crate::web::{Layout, render};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/login", get(show_login).post(login))
        .route("/logout", post(logout))
        .merge(super::reset::web::router())
}

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    layout: Layout,
    email: String,
    error: Option<String>,
}

async fn show_login(principal: Option<Principal>) -> Response {
    if principal.is_some() {
        return Redirect::to("/").into_response();
    }
    render(StatusCode::OK, &LoginPage { layout: Layout::new("Sign in"), email: String::new(), error: None })
}

#[derive(Deserialize)]
struct LoginForm {
    email: String,
    password: String,
}

async fn login(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Result<Response, ApiError> {
    crate::web::require_same_origin(&headers)?;
    ratelimit::check(&state.db, ratelimit::LOGIN, ip).await?;
    let failed = |status: StatusCode, message: String| {
        render(status, &LoginPage { layout: Layout::new("Sign in"), email: form.email.clone(), error: Some(message) })
    };
    let user = match super::check_password(&state.db, &form.email, &form.password).await {
        Ok(user) => user,
        Err(AuthError::BadCredentials) => {
            return Ok(failed(StatusCode::UNAUTHORIZED, "The email or password is wrong.".into()));
        }
        Err(AuthError::Throttled(until)) => {
            let wait = (until - chrono::Utc::now()).num_seconds().max(1);
            let mut page =
                failed(StatusCode::TOO_MANY_REQUESTS, format!("Too many failed attempts. Try again in {} s.", wait));
            page.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(wait));
            return Ok(page);
        }
        Err(other) => return Err(other.into()),
    };
    let client = ClientInfo {
        ip: ip.map(|ip| ip.to_string()),
        user_agent: headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(|s| s.chars().take(300).collect()),
    };
    let session = match super::start_session(&state.db, user, client).await {
        Ok(session) => session,
        Err(AuthError::NoWorkspace) => {
            return Ok(failed(StatusCode::FORBIDDEN, "This account belongs to no workspace.".into()));
        }
        Err(other) => return Err(other.into()),
    };
    let mut response = Redirect::to("/").into_response();
    let cookie = session_cookie(&state, session.cookie.expose(), super::SESSION_ABSOLUTE.num_seconds());
    response.headers_mut().insert(header::SET_COOKIE, cookie);
    Ok(response)
}

#[derive(Deserialize)]
struct LogoutForm {
    csrf_token: String,
}

impl CsrfProtected for LogoutForm {
    fn csrf_token(&self) -> &str {
        &self.csrf_token
    }
}

async fn logout(
    State(state): State<AppState>,
    headers: HeaderMap,
    SessionForm(_principal, _form): SessionForm<LogoutForm>,
) -> Result<Response, ApiError> {
    if let Some(cookie) = session_cookie_value(&headers) {
        super::end_session(&state.db, &cookie).await?;
    }
    let mut response = Redirect::to("/login").into_response();
    response.headers_mut().insert(header::SET_COOKIE, session_cookie(&state, "", 0));
    Ok(response)
}

/// The session cookie: HttpOnly (no script reads it), SameSite=Lax (not sent on cross-site
/// posts), and over TLS Secure with the `__Host-` prefix.
fn session_cookie(state: &AppState, value: &str, max_age: i64) -> HeaderValue {
    let tls = state.config.public_url().starts_with("https://");
    let name = if tls { SESSION_COOKIE_TLS } else { SESSION_COOKIE };
    let secure = if tls { "; Secure" } else { "" };
    HeaderValue::from_str(&format!("{name}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age}{secure}"))
        .unwrap_or_else(|_| HeaderValue::from_static("rapport_session=; Path=/; Max-Age=0"))
}
