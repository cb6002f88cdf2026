//! The account pages of a signed-in user: two-factor enrolment and the workspace policy, the
//! second step of signing in, sessions, password and API tokens. Handlers parse the form, call
//! one function of `two_factor` or `account`, and render; every state change is a
//! CSRF-checked [`SessionForm`].

use askama::Template;
use axum::Form;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;

use super::account::{self, AccountError, NewToken, SessionView, TokenView};
use super::two_factor::{self, TwoFactorError};
use super::web::{PENDING_COOKIE, client_info, set_cookie};
use super::{AuthError, Principal, SCOPED_MODULES};
use crate::app::AppState;
use crate::http::auth::{SessionForm, cookie_value, session_cookie_value};
use crate::http::{ApiError, Pages};
use crate::web::{Layout, render};

pub fn router() -> Pages {
    Pages::new()
        .route("/login/two-factor", get(show_challenge).post(challenge))
        .route("/account/two-factor", get(show_two_factor))
        .route("/account/two-factor/enable", post(enable))
        .route("/account/two-factor/disable", post(disable))
        .route("/account/two-factor/policy", post(set_policy))
        .route("/account/sessions", get(show_sessions))
        .route("/account/sessions/revoke", post(revoke_session))
        .route("/account/sessions/revoke-others", post(revoke_others))
        .route("/account/password", get(show_password).post(change_password))
        .route("/account/tokens", get(show_tokens).post(create_token))
        .route("/account/tokens/{id}/revoke", post(revoke_token))
}

/// The CSRF token a page's forms carry.
fn current_cookie(headers: &HeaderMap) -> Result<String, ApiError> {
    session_cookie_value(headers).ok_or(ApiError::Unauthorized)
}

/// Forms with nothing but the CSRF token.
#[derive(Deserialize)]
pub(super) struct Plain {
    csrf_token: String,
}

#[derive(Template)]
#[template(path = "two_factor_challenge.html")]
struct ChallengePage {
    layout: Layout,
    error: Option<String>,
}

async fn show_challenge(headers: HeaderMap) -> Response {
    if cookie_value(&headers, PENDING_COOKIE).is_none() {
        return Redirect::to("/login").into_response();
    }
    render(StatusCode::OK, &ChallengePage { layout: Layout::new("Two-factor check"), error: None })
}

#[derive(Deserialize)]
struct CodeForm {
    code: String,
}

async fn challenge(
    State(state): State<AppState>,
    client_ip: crate::http::ratelimit::ClientIp,
    request_id: crate::http::RequestId,
    headers: HeaderMap,
    Form(form): Form<CodeForm>,
) -> Result<Response, ApiError> {
    crate::web::require_same_origin(&headers)?;
    let pending = cookie_value(&headers, PENDING_COOKIE).ok_or(ApiError::Unauthorized)?;
    let failed = |status: StatusCode, message: &str| {
        render(status, &ChallengePage { layout: Layout::new("Two-factor check"), error: Some(message.into()) })
    };
    let session = match two_factor::complete_pending_login(
        &state.db,
        &totp_key(&state)?,
        &pending,
        &form.code,
        client_info(&headers, client_ip, request_id),
    )
    .await
    {
        Ok(session) => session,
        Err(AuthError::BadCredentials) => {
            return Ok(failed(StatusCode::UNAUTHORIZED, "That code is wrong or was already used."));
        }
        Err(AuthError::Unauthenticated) => return Ok(Redirect::to("/login").into_response()),
        Err(other) => return Err(other.into()),
    };
    let mut response = Redirect::to("/").into_response();
    let headers = response.headers_mut();
    headers.append(header::SET_COOKIE, set_cookie(&state, PENDING_COOKIE, "", 0));
    headers.append(
        header::SET_COOKIE,
        set_cookie(
            &state,
            crate::http::auth::SESSION_COOKIE,
            session.cookie.expose(),
            super::SESSION_ABSOLUTE.num_seconds(),
        ),
    );
    Ok(response)
}

#[derive(Template)]
#[template(path = "two_factor.html")]
struct TwoFactorPage {
    layout: Layout,
    csrf_token: String,
    enabled: bool,
    unused_recovery_codes: i64,
    enrolment: Option<EnrolmentView>,
    recovery_codes: Vec<String>,
    must_enrol: bool,
    policy: Option<bool>,
    error: Option<String>,
}

struct EnrolmentView {
    uri: String,
    secret: String,
    qr_svg: String,
}

async fn two_factor_page(
    state: &AppState,
    principal: &Principal,
    recovery_codes: Vec<String>,
    error: Option<String>,
) -> Result<TwoFactorPage, ApiError> {
    let status = two_factor::status(&state.db, principal.user_id).await?;
    let enrolment = if status.enabled {
        None
    } else {
        let enrolment = two_factor::start_enrolment(&state.db, &totp_key(state)?, principal).await?;
        Some(EnrolmentView {
            uri: enrolment.uri.expose().clone(),
            secret: enrolment.secret.expose().clone(),
            qr_svg: enrolment.qr_svg.expose().clone(),
        })
    };
    let policy = if principal.role.can_administer() {
        Some(two_factor::policy(&state.db, principal.workspace_id).await?)
    } else {
        None
    };
    Ok(TwoFactorPage {
        layout: Layout::for_caller("Two-factor authentication", principal),
        csrf_token: crate::web::csrf_token(principal),
        enabled: status.enabled,
        unused_recovery_codes: status.unused_recovery_codes,
        enrolment,
        recovery_codes,
        must_enrol: principal.must_enrol_two_factor,
        policy,
        error,
    })
}

/// The key two-factor secrets are sealed with, from the data directory.
fn totp_key(state: &AppState) -> Result<two_factor::SecretKey, ApiError> {
    two_factor::SecretKey::of_installation(&state.config.data_dir)
        .map_err(|e| ApiError::Internal(format!("the two-factor key: {e}")))
}

async fn show_two_factor(State(state): State<AppState>, principal: Principal) -> Result<Response, ApiError> {
    Ok(render(StatusCode::OK, &two_factor_page(&state, &principal, Vec::new(), None).await?))
}

#[derive(Deserialize)]
struct EnableForm {
    csrf_token: String,
    code: String,
}

async fn enable(
    State(state): State<AppState>,
    SessionForm(principal, form): SessionForm<EnableForm>,
) -> Result<Response, ApiError> {
    match two_factor::confirm_enrolment(&state.db, &totp_key(&state)?, &principal, &form.code).await {
        Ok(codes) => {
            let codes = codes.0.into_iter().map(|code| code.expose().clone()).collect();
            let mut principal = principal;
            principal.must_enrol_two_factor = false;
            Ok(render(StatusCode::OK, &two_factor_page(&state, &principal, codes, None).await?))
        }
        Err(TwoFactorError::WrongCode) => {
            let page = two_factor_page(&state, &principal, Vec::new(), Some(wrong_code())).await?;
            Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &page))
        }
        Err(other) => Err(other.into()),
    }
}

fn wrong_code() -> String {
    "That code is wrong or was already used. Check the time on your phone and try the next code.".into()
}

#[derive(Deserialize)]
struct DisableForm {
    csrf_token: String,
    #[serde(default)]
    code: String,
    #[serde(default)]
    password: String,
}

async fn disable(
    State(state): State<AppState>,
    SessionForm(principal, form): SessionForm<DisableForm>,
) -> Result<Response, ApiError> {
    match two_factor::disable(&state.db, &totp_key(&state)?, &principal, (&form.code, &form.password)).await {
        Ok(()) => Ok(Redirect::to("/account/two-factor").into_response()),
        Err(TwoFactorError::WrongCode) => {
            let page = two_factor_page(&state, &principal, Vec::new(), Some(wrong_code())).await?;
            Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &page))
        }
        Err(other) => Err(other.into()),
    }
}

#[derive(Deserialize)]
struct PolicyForm {
    csrf_token: String,
    #[serde(default)]
    required: Option<String>,
}

async fn set_policy(
    State(state): State<AppState>,
    SessionForm(principal, form): SessionForm<PolicyForm>,
) -> Result<Response, ApiError> {
    two_factor::set_policy(&state.db, &principal, form.required.is_some()).await?;
    Ok(Redirect::to("/account/two-factor").into_response())
}

#[derive(Template)]
#[template(path = "sessions.html")]
struct SessionsPage {
    layout: Layout,
    csrf_token: String,
    sessions: Vec<SessionView>,
    email_verified: bool,
}

async fn show_sessions(
    State(state): State<AppState>,
    headers: HeaderMap,
    principal: Principal,
) -> Result<Response, ApiError> {
    let sessions = account::my_sessions(&state.db, &principal, &current_cookie(&headers)?).await?;
    let email_verified = super::verify::is_verified(&state.db, principal.user_id).await?;
    let page = SessionsPage {
        layout: Layout::for_caller("Your sessions", &principal),
        csrf_token: crate::web::csrf_token(&principal),
        sessions,
        email_verified,
    };
    Ok(render(StatusCode::OK, &page))
}

#[derive(Deserialize)]
struct RevokeSessionForm {
    csrf_token: String,
    session: String,
}

async fn revoke_session(
    State(state): State<AppState>,
    SessionForm(principal, form): SessionForm<RevokeSessionForm>,
) -> Result<Response, ApiError> {
    account::revoke_my_session(&state.db, &principal, &form.session).await?;
    Ok(Redirect::to("/account/sessions").into_response())
}

async fn revoke_others(
    State(state): State<AppState>,
    headers: HeaderMap,
    SessionForm(principal, _form): SessionForm<Plain>,
) -> Result<Response, ApiError> {
    account::revoke_other_sessions(&state.db, &principal, &current_cookie(&headers)?).await?;
    Ok(Redirect::to("/account/sessions").into_response())
}

#[derive(Template)]
#[template(path = "password.html")]
struct PasswordPage {
    layout: Layout,
    csrf_token: String,
    error: Option<String>,
    done: bool,
}

async fn show_password(principal: Principal) -> Response {
    let page = PasswordPage {
        layout: Layout::for_caller("Change password", &principal),
        csrf_token: crate::web::csrf_token(&principal),
        error: None,
        done: false,
    };
    render(StatusCode::OK, &page)
}

#[derive(Deserialize)]
struct PasswordForm {
    csrf_token: String,
    current_password: String,
    new_password: String,
}

async fn change_password(
    State(state): State<AppState>,
    headers: HeaderMap,
    SessionForm(principal, form): SessionForm<PasswordForm>,
) -> Result<Response, ApiError> {
    let cookie = current_cookie(&headers)?;
    let result =
        account::change_password(&state.db, &principal, &cookie, &form.current_password, &form.new_password).await;
    let (status, error, done) = match result {
        Ok(()) => (StatusCode::OK, None, true),
        Err(err @ (AccountError::WrongPassword | AccountError::NewPassword(_))) => {
            (StatusCode::UNPROCESSABLE_ENTITY, Some(format!("{}.", capitalised(&err.to_string()))), false)
        }
        Err(other) => return Err(other.into()),
    };
    let page = PasswordPage {
        layout: Layout::for_caller("Change password", &principal),
        csrf_token: crate::web::csrf_token(&principal),
        error,
        done,
    };
    Ok(render(status, &page))
}

fn capitalised(text: &str) -> String {
    let mut chars = text.chars();
    chars.next().map(|first| first.to_uppercase().chain(chars).collect()).unwrap_or_default()
}

#[derive(Template)]
#[template(path = "tokens.html")]
struct TokensPage {
    layout: Layout,
    csrf_token: String,
    tokens: Vec<TokenView>,
    modules: &'static [&'static str],
    created: Option<String>,
    error: Option<String>,
}

async fn tokens_page(
    state: &AppState,
    principal: &Principal,
    created: Option<String>,
    error: Option<String>,
) -> Result<TokensPage, ApiError> {
    Ok(TokensPage {
        layout: Layout::for_caller("API tokens", principal),
        csrf_token: crate::web::csrf_token(principal),
        tokens: account::my_tokens(&state.db, principal).await?,
        modules: SCOPED_MODULES,
        created,
        error,
    })
}

async fn show_tokens(State(state): State<AppState>, principal: Principal) -> Result<Response, ApiError> {
    Ok(render(StatusCode::OK, &tokens_page(&state, &principal, None, None).await?))
}

/// A token form; `scopes` repeats, so it is read as pairs.
struct TokenForm {
    csrf_token: String,
    name: String,
    scopes: Vec<String>,
    expires_in_days: Option<i64>,
}

impl<'de> Deserialize<'de> for TokenForm {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let pairs = Vec::<(String, String)>::deserialize(deserializer)?;
        let mut form =
            TokenForm { csrf_token: String::new(), name: String::new(), scopes: Vec::new(), expires_in_days: None };
        for (key, value) in pairs {
            match key.as_str() {
                "csrf_token" => form.csrf_token = value,
                "name" => form.name = value,
                "scopes" => form.scopes.push(value),
                "expires_in_days" if !value.is_empty() => {
                    form.expires_in_days =
                        Some(value.parse().map_err(|_| serde::de::Error::custom("expires_in_days is not a number"))?);
                }
                _ => {}
            }
        }
        Ok(form)
    }
}

async fn create_token(
    State(state): State<AppState>,
    SessionForm(principal, form): SessionForm<TokenForm>,
) -> Result<Response, ApiError> {
    let created = NewToken::parse(&form.name, &form.scopes, form.expires_in_days);
    let created = match created {
        Ok(new) => account::create_my_token(&state.db, &principal, new).await,
        Err(err) => Err(err),
    };
    match created {
        Ok(token) => {
            let page = tokens_page(&state, &principal, Some(token.secret.expose().clone()), None).await?;
            Ok(render(StatusCode::CREATED, &page))
        }
        Err(AccountError::Invalid { field, message }) => {
            let page =
                tokens_page(&state, &principal, None, Some(format!("{}: {message}", capitalised(field)))).await?;
            Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &page))
        }
        Err(other) => Err(other.into()),
    }
}

async fn revoke_token(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    SessionForm(principal, _form): SessionForm<Plain>,
) -> Result<Response, ApiError> {
    account::revoke_my_token(&state.db, &principal, id).await?;
    Ok(Redirect::to("/account/tokens").into_response())
}

crate::http::auth::csrf_protected!(
    Plain,
    EnableForm,
    DisableForm,
    PolicyForm,
    RevokeSessionForm,
    PasswordForm,
    TokenForm
);

impl From<TwoFactorError> for ApiError {
    fn from(err: TwoFactorError) -> Self {
        match err {
            TwoFactorError::WrongCode => Self::field("code", err.to_string()),
            TwoFactorError::AlreadyEnabled | TwoFactorError::NotEnabled => {
                Self::Conflict { code: "two_factor_state", message: err.to_string() }
            }
            TwoFactorError::NotAllowed => Self::Forbidden(err.to_string()),
            TwoFactorError::Secret(detail) => Self::Internal(detail),
            TwoFactorError::Db(db) => db.into(),
        }
    }
}
