//! Signing in and out in the browser.

use askama::Template;
use axum::Form;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;

use super::{AuthError, ClientInfo, Principal};
use crate::app::AppState;
use crate::http::auth::{SESSION_COOKIE, SessionForm, session_cookie_value};
use crate::http::ratelimit::{self, ClientIp};
use crate::http::{ApiError, Pages, RequestId};
use crate::web::{Layout, render};

pub fn router() -> Pages {
    Pages::new()
        .route("/login", get(show_login).post(login))
        .route("/logout", post(logout))
        .merge(super::reset::web::router())
        .merge(super::verify::web::router())
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
    client_ip: ClientIp,
    request_id: RequestId,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Result<Response, ApiError> {
    crate::web::require_same_origin(&headers)?;
    ratelimit::check(&state.db, ratelimit::LOGIN, client_ip.0).await?;
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
    if super::two_factor::is_enabled(&state.db, user).await? {
        let pending = match super::two_factor::start_pending_login(&state.db, user).await {
            Ok(pending) => pending,
            Err(AuthError::NoWorkspace) => {
                return Ok(failed(StatusCode::FORBIDDEN, "This account belongs to no workspace.".into()));
            }
            Err(other) => return Err(other.into()),
        };
        let mut response = Redirect::to("/login/two-factor").into_response();
        let max_age = super::two_factor::PENDING_LOGIN.num_seconds();
        response
            .headers_mut()
            .insert(header::SET_COOKIE, set_cookie(&state, PENDING_COOKIE, pending.expose(), max_age));
        return Ok(response);
    }
    let client = client_info(&headers, client_ip, request_id);
    let session = match super::start_session(&state.db, user, client).await {
        Ok(session) => session,
        Err(AuthError::NoWorkspace) => {
            return Ok(failed(StatusCode::FORBIDDEN, "This account belongs to no workspace.".into()));
        }
        Err(other) => return Err(other.into()),
    };
    let next =
        if super::two_factor::policy(&state.db, session.workspace_id).await? { "/account/two-factor" } else { "/" };
    Ok(signed_in(&state, &session, next))
}

/// A redirect to `to` that hands the browser the cookie of a session just started.
pub(super) fn signed_in(state: &AppState, session: &super::NewSession, to: &str) -> Response {
    let mut response = Redirect::to(to).into_response();
    let cookie = set_cookie(state, SESSION_COOKIE, session.cookie.expose(), super::SESSION_ABSOLUTE.num_seconds());
    response.headers_mut().insert(header::SET_COOKIE, cookie);
    response
}

#[derive(Deserialize)]
struct LogoutForm {
    csrf_token: String,
}

csrf_protected!(LogoutForm);

async fn logout(
    State(state): State<AppState>,
    request_id: RequestId,
    headers: HeaderMap,
    SessionForm(_principal, _form): SessionForm<LogoutForm>,
) -> Result<Response, ApiError> {
    if let Some(cookie) = session_cookie_value(&headers) {
        super::end_session(&state.db, &cookie, request_id.as_deref()).await?;
    }
    let mut response = Redirect::to("/login").into_response();
    response.headers_mut().insert(header::SET_COOKIE, set_cookie(&state, SESSION_COOKIE, "", 0));
    Ok(response)
}

/// The short-lived cookie between a correct password and the second factor.
pub(super) const PENDING_COOKIE: &str = "rapport_pending_login";

/// The address and user agent (shortened) of a sign-in, so the sessions page can tell devices
/// apart. The address is the client's as far as a trusted proxy vouches for it.
pub(super) fn client_info(headers: &HeaderMap, ClientIp(ip): ClientIp, request_id: RequestId) -> ClientInfo {
    ClientInfo {
        request_id: request_id.0,
        ip: ip.map(|ip| ip.to_string()),
        user_agent: headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(|s| s.chars().take(300).collect()),
    }
}

/// A credential cookie: HttpOnly (no script reads it), SameSite=Lax (not sent on cross-site
/// posts), and over TLS Secure with the `__Host-` prefix.
pub(super) fn set_cookie(state: &AppState, name: &str, value: &str, max_age: i64) -> HeaderValue {
    let tls = state.config.public_url().starts_with("https://");
    let (prefix, secure) = if tls { ("__Host-", "; Secure") } else { ("", "") };
    HeaderValue::from_str(&format!("{prefix}{name}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age}{secure}"))
        .unwrap_or_else(|_| HeaderValue::from_static("rapport_session=; Path=/; Max-Age=0"))
}
