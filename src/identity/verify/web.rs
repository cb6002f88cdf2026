//! The pages of email verification: opening the emailed link, and asking for a new one from
//! the account pages.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use serde::Deserialize;

use super::VerifyError;
use crate::app::AppState;
use crate::http::auth::SessionForm;
use crate::http::ratelimit::{self, ClientIp};
use crate::http::{ApiError, Pages};
use crate::identity::account_web::Plain;
use crate::web::{Layout, render};

pub fn router() -> Pages {
    Pages::new().route("/account/verify-email", get(verify)).route("/account/verify-email/resend", post(resend))
}

#[derive(Template)]
#[template(path = "verify_email.html")]
struct VerifyPage {
    layout: Layout,
    state: VerifyState,
}

enum VerifyState {
    Verified,
    LinkInvalid,
    Sent,
    AlreadyVerified,
}

fn page(status: StatusCode, state: VerifyState) -> Response {
    render(status, &VerifyPage { layout: Layout::new("Email verification"), state })
}

#[derive(Deserialize)]
struct TokenQuery {
    #[serde(default)]
    token: String,
}

/// Opening the link verifies at once: the click is the proof, and a mail scanner that follows
/// the link first proves the same thing.
async fn verify(State(state): State<AppState>, Query(query): Query<TokenQuery>) -> Result<Response, ApiError> {
    match super::verify_email(&state.db, &query.token).await {
        Ok(()) => Ok(page(StatusCode::OK, VerifyState::Verified)),
        Err(VerifyError::LinkInvalid) => Ok(page(StatusCode::GONE, VerifyState::LinkInvalid)),
        Err(other) => Err(other.into()),
    }
}

async fn resend(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    SessionForm(principal, _form): SessionForm<Plain>,
) -> Result<Response, ApiError> {
    ratelimit::check(&state.db, ratelimit::EMAIL_VERIFICATION, ip).await?;
    if super::send_verification(&state.db, principal.user_id, &state.config.public_url()).await? {
        state.waker.wake();
        Ok(page(StatusCode::OK, VerifyState::Sent))
    } else {
        Ok(page(StatusCode::OK, VerifyState::AlreadyVerified))
    }
}

impl From<VerifyError> for ApiError {
    fn from(err: VerifyError) -> Self {
        match err {
            VerifyError::LinkInvalid => Self::Conflict { code: "link_invalid", message: err.to_string() },
            VerifyError::Db(db) => db.into(),
            VerifyError::Mail(mail) => Self::Internal(mail.to_string()),
        }
    }
}
