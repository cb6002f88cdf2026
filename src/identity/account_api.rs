//! The JSON side of account credentials: the caller's own API tokens, and an administrator
//! signing a member out everywhere. Tokens are always the caller's own in the caller's
//! workspace; nobody lists or revokes another member's tokens here.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use rapport_core::{Timestamp, UserId};
use serde::{Deserialize, Serialize};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::Principal;
use super::account::{self, AccountError, NewToken, TokenView};
use crate::app::AppState;
use crate::http::ApiError;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_tokens, create_token))
        .routes(routes!(revoke_token))
        .routes(routes!(revoke_member_sessions))
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Token {
    pub id: i64,
    pub name: String,
    /// The first characters of the secret, to recognise it.
    pub prefix: String,
    pub scopes: Vec<String>,
    /// RFC 3339.
    #[schema(value_type = String)]
    pub created_at: Timestamp,
    #[schema(value_type = Option<String>)]
    pub last_used_at: Option<Timestamp>,
    #[schema(value_type = Option<String>)]
    pub expires_at: Option<Timestamp>,
}

impl From<TokenView> for Token {
    fn from(view: TokenView) -> Self {
        Self {
            id: view.id,
            name: view.name,
            prefix: view.prefix,
            scopes: view.scopes,
            created_at: view.created_at,
            last_used_at: view.last_used_at,
            expires_at: view.expires_at,
        }
    }
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct TokenList {
    pub tokens: Vec<Token>,
}

/// The caller's API tokens that are not revoked.
#[utoipa::path(
    get,
    path = "/tokens",
    tag = "identity",
    security(("bearer" = [])),
    responses((status = 200, body = TokenList), (status = 401, body = crate::http::ErrorBody))
)]
async fn list_tokens(State(state): State<AppState>, principal: Principal) -> Result<Json<TokenList>, ApiError> {
    let tokens = account::my_tokens(&state.db, &principal).await?;
    Ok(Json(TokenList { tokens: tokens.into_iter().map(Token::from).collect() }))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct CreateToken {
    pub name: String,
    /// `all`, or `MODULE:read` / `MODULE:write`.
    pub scopes: Vec<String>,
    /// Days until the token stops working; never, when absent.
    pub expires_in_days: Option<i64>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct CreatedTokenBody {
    pub id: i64,
    pub prefix: String,
    /// Shown this once; only its hash is kept.
    pub secret: String,
}

/// Creates an API token for the caller; the secret is in this response only.
#[utoipa::path(
    post,
    path = "/tokens",
    tag = "identity",
    security(("bearer" = [])),
    request_body = CreateToken,
    responses(
        (status = 201, body = CreatedTokenBody),
        (status = 403, body = crate::http::ErrorBody),
        (status = 422, body = crate::http::ErrorBody)
    )
)]
async fn create_token(
    State(state): State<AppState>,
    principal: Principal,
    Json(body): Json<CreateToken>,
) -> Result<(StatusCode, Json<CreatedTokenBody>), ApiError> {
    let new = NewToken::parse(&body.name, &body.scopes, body.expires_in_days)?;
    let created = account::create_my_token(&state.db, &principal, new).await?;
    let body = CreatedTokenBody { id: created.id, prefix: created.prefix, secret: created.secret.expose().clone() };
    Ok((StatusCode::CREATED, Json(body)))
}

/// Revokes one of the caller's tokens.
#[utoipa::path(
    delete,
    path = "/tokens/{id}",
    tag = "identity",
    security(("bearer" = [])),
    params(("id" = i64, Path)),
    responses((status = 204), (status = 404, body = crate::http::ErrorBody))
)]
async fn revoke_token(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<i64>,
) -> Result<StatusCode, ApiError> {
    account::revoke_my_token(&state.db, &principal, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct SessionsRevoked {
    pub revoked: u64,
}

/// Signs a member out of this workspace everywhere (owners and admins).
#[utoipa::path(
    post,
    path = "/members/{user_id}/sessions/revoke",
    tag = "identity",
    security(("bearer" = [])),
    params(("user_id" = i64, Path)),
    responses(
        (status = 200, body = SessionsRevoked),
        (status = 403, body = crate::http::ErrorBody),
        (status = 404, body = crate::http::ErrorBody)
    )
)]
async fn revoke_member_sessions(
    State(state): State<AppState>,
    principal: Principal,
    Path(user_id): Path<i64>,
) -> Result<Json<SessionsRevoked>, ApiError> {
    let revoked = account::revoke_member_sessions(&state.db, &principal, UserId::new(user_id)).await?;
    Ok(Json(SessionsRevoked { revoked }))
}

impl From<AccountError> for ApiError {
    fn from(err: AccountError) -> Self {
        match err {
            AccountError::NotFound => Self::NotFound,
            AccountError::WrongPassword => Self::field("current_password", err.to_string()),
            AccountError::NewPassword(reason) => Self::field("new_password", reason.to_string()),
            AccountError::Invalid { field, message } => Self::field(field, message),
            AccountError::NotAllowed(message) => Self::Forbidden(message.into()),
            AccountError::Hashing(detail) => Self::Internal(detail),
            AccountError::Db(db) => db.into(),
        }
    }
}
