//! The pages of password reset: asking for a link, and choosing a new password through it.

use askama::Template;
use axum::Form;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::get;
use serde::Deserialize;

use super::ResetError;
use crate::app::AppState;
use crate::http::ratelimit::{self, ClientIp};
use crate::http::{ApiError, Pages};
use crate::identity::Password;
use crate::web::{Layout, render};

pub fn router() -> Pages {
    Pages::new()
        .route("/password/forgot", get(show_forgot).post(forgot))
        .route("/password/reset", get(show_reset).post(reset))
}

#[derive(Template)]
#[template(path = "password_forgot.html")]
struct ForgotPage {
    layout: Layout,
    sent: bool,
}

async fn show_forgot() -> Response {
    render(StatusCode::OK, &ForgotPage { layout: Layout::new("Forgot password"), sent: false })
}

#[derive(Deserialize)]
struct ForgotForm {
    email: String,
}

async fn forgot(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    Form(form): Form<ForgotForm>,
) -> Result<Response, ApiError> {
    crate::web::require_same_origin(&headers)?;
    ratelimit::check(&state.db, ratelimit::PASSWORD_RESET, ip).await?;
    super::request_reset(&state.db, &form.email, &state.config.public_url()).await?;
    state.waker.wake();
    Ok(render(StatusCode::OK, &ForgotPage { layout: Layout::new("Forgot password"), sent: true }))
}

#[derive(Template)]
#[template(path = "password_reset.html")]
struct ResetPage {
    layout: Layout,
    token: String,
    state: ResetState,
}

enum ResetState {
    Form { error: Option<String> },
    LinkInvalid,
    Done,
}

impl ResetPage {
    fn new(token: String, state: ResetState) -> Self {
        Self { layout: Layout::new("Choose a new password"), token, state }
    }
}

#[derive(Deserialize)]
struct TokenQuery {
    #[serde(default)]
    token: String,
}

async fn show_reset(State(state): State<AppState>, Query(query): Query<TokenQuery>) -> Result<Response, ApiError> {
    if super::reset_link_valid(&state.db, &query.token).await? {
        Ok(render(StatusCode::OK, &ResetPage::new(query.token, ResetState::Form { error: None })))
    } else {
        Ok(render(StatusCode::GONE, &ResetPage::new(String::new(), ResetState::LinkInvalid)))
    }
}

#[derive(Deserialize)]
struct ResetForm {
    token: String,
    password: String,
}

async fn reset(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    Form(form): Form<ResetForm>,
) -> Result<Response, ApiError> {
    crate::web::require_same_origin(&headers)?;
    ratelimit::check(&state.db, ratelimit::PASSWORD_RESET, ip).await?;
    let password = match Password::parse(&form.password) {
        Ok(password) => password,
        Err(err) => {
            let error = Some(format!("The password {err}."));
            return Ok(render(
                StatusCode::UNPROCESSABLE_ENTITY,
                &ResetPage::new(form.token, ResetState::Form { error }),
            ));
        }
    };
    match super::reset_password(&state.db, &form.token, &password).await {
        Ok(()) => Ok(render(StatusCode::OK, &ResetPage::new(String::new(), ResetState::Done))),
        Err(ResetError::LinkInvalid) => {
            Ok(render(StatusCode::GONE, &ResetPage::new(String::new(), ResetState::LinkInvalid)))
        }
        Err(other) => Err(other.into()),
    }
}
