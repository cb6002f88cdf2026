//! The error type of the HTTP edge. Every failure a client sees has the shape
//! `{"error": {"code": "snake_case", "message": "…", "fields": {…}}}` with a code that never
//! changes meaning. A 5xx says only that something failed and which request id to quote; its
//! detail rides to the error middleware in a response extension and is logged there, with the
//! request id, never sent.

use std::collections::BTreeMap;

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use rapport_db::DbError;
use serde::Serialize;

/// Field name → messages, for 422 responses and inline form errors.
pub type FieldErrors = BTreeMap<String, Vec<String>>;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    BadRequest(String),
    #[error("some fields are invalid")]
    Validation(FieldErrors),
    #[error("authentication is required")]
    Unauthorized,
    #[error("{0}")]
    Forbidden(String),
    #[error("this workspace requires two-factor authentication: set it up at /account/two-factor first")]
    TwoFactorRequired,
    /// A 403 with a code of its own (`field_read_only`), for refusals a client can act on.
    #[error("{message}")]
    Denied { code: &'static str, message: String },
    #[error("not found")]
    NotFound,
    #[error("{0}")]
    TooLarge(String),
    #[error("the record changed since the version in If-Match")]
    PreconditionFailed,
    #[error("{message}")]
    Conflict { code: &'static str, message: String },
    /// A 410: what the request names existed and is gone for good (an expired link).
    #[error("{message}")]
    Gone { code: &'static str, message: String },
    #[error("too many attempts; retry later")]
    RateLimited { retry_after_secs: i64 },
    #[error("the service is temporarily unavailable; retry shortly")]
    Unavailable(String),
    #[error("internal error")]
    Internal(String),
}

/// The detail of a 5xx, for the log only.
#[derive(Clone, Debug)]
pub(crate) struct InternalDetail(pub String);

#[derive(Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    pub error: ErrorContent,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ErrorContent {
    /// Stable, snake_case; clients branch on it.
    pub code: String,
    /// For people; may change wording.
    pub message: String,
    /// Per-field messages for validation errors.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub fields: FieldErrors,
}

impl ApiError {
    pub fn status(&self) -> StatusCode {
        match self {
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::Validation(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Self::Unauthorized => StatusCode::UNAUTHORIZED,
            Self::Forbidden(_) | Self::TwoFactorRequired | Self::Denied { .. } => StatusCode::FORBIDDEN,
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Self::PreconditionFailed => StatusCode::PRECONDITION_FAILED,
            Self::Conflict { .. } => StatusCode::CONFLICT,
            Self::Gone { .. } => StatusCode::GONE,
            Self::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            Self::BadRequest(_) => "bad_request",
            Self::Validation(_) => "validation_failed",
            Self::Unauthorized => "unauthorized",
            Self::Forbidden(_) => "forbidden",
            Self::TwoFactorRequired => "two_factor_required",
            Self::NotFound => "not_found",
            Self::TooLarge(_) => "payload_too_large",
            Self::PreconditionFailed => "stale_version",
            Self::Conflict { code, .. } | Self::Denied { code, .. } | Self::Gone { code, .. } => code,
            Self::RateLimited { .. } => "rate_limited",
            Self::Unavailable(_) => "unavailable",
            Self::Internal(_) => "internal_error",
        }
    }

    /// A 422 with one field's message.
    pub fn field(field: &str, message: impl Into<String>) -> Self {
        Self::Validation(BTreeMap::from([(field.to_string(), vec![message.into()])]))
    }
}

/// The body for a status, used both here and for errors produced outside handlers (404 from
/// the router, 413 from the body limit) so that every error has the same shape.
pub(crate) fn body(code: &str, message: &str, fields: FieldErrors) -> ErrorBody {
    ErrorBody { error: ErrorContent { code: code.to_string(), message: message.to_string(), fields } }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let code = self.code();
        let retry_after = match &self {
            Self::RateLimited { retry_after_secs } => Some(*retry_after_secs),
            // Overload and lock contention pass within a moment; clients that honour the
            // header come back then instead of hammering.
            Self::Unavailable(_) => Some(1),
            _ => None,
        };
        let (message, fields, detail) = match self {
            Self::Validation(fields) => ("some fields are invalid".to_string(), fields, None),
            Self::Internal(detail) => (
                "an internal error occurred; quote the request id to support".to_string(),
                FieldErrors::new(),
                Some(detail),
            ),
            Self::Unavailable(detail) => {
                ("the service is temporarily unavailable; retry shortly".to_string(), FieldErrors::new(), Some(detail))
            }
            other => (other.to_string(), FieldErrors::new(), None),
        };
        let mut response = (status, Json(body(code, &message, fields))).into_response();
        if let Some(secs) = retry_after {
            response.headers_mut().insert(axum::http::header::RETRY_AFTER, axum::http::HeaderValue::from(secs));
        }
        if let Some(detail) = detail {
            response.extensions_mut().insert(InternalDetail(detail));
        }
        response
    }
}

impl From<DbError> for ApiError {
    fn from(err: DbError) -> Self {
        match err {
            DbError::NotFound => Self::NotFound,
            DbError::Unavailable(detail) => Self::Unavailable(detail),
            other => Self::Internal(other.to_string()),
        }
    }
}

impl From<crate::workspace::WorkspaceError> for ApiError {
    fn from(err: crate::workspace::WorkspaceError) -> Self {
        use crate::workspace::WorkspaceError;
        match err {
            WorkspaceError::EmailTaken => Self::field("owner_email", "a user with this email already exists"),
            WorkspaceError::SetupTokenInvalid | WorkspaceError::NotAdmin => Self::Forbidden(err.to_string()),
            WorkspaceError::InvalidSettings(fields) => Self::Validation(fields),
            WorkspaceError::Db(db) => db.into(),
            WorkspaceError::Identity(identity) => Self::Internal(identity.to_string()),
        }
    }
}

impl From<crate::identity::reset::ResetError> for ApiError {
    fn from(err: crate::identity::reset::ResetError) -> Self {
        use crate::identity::reset::ResetError;
        match err {
            ResetError::LinkInvalid => Self::Conflict { code: "link_invalid", message: err.to_string() },
            ResetError::Db(db) => db.into(),
            other => Self::Internal(other.to_string()),
        }
    }
}
