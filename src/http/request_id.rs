//! The id of the request being served, as handlers pass it to the audit trail and domain
//! events so that a row can be matched to its log lines. It is the `x-request-id` the request
//! id layer set (the client's own, or a fresh UUID).

use std::convert::Infallible;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;

/// The current request's id; `None` only outside the application router (some unit tests).
#[derive(Clone, Debug, Default)]
pub struct RequestId(pub Option<String>);

impl RequestId {
    pub fn as_deref(&self) -> Option<&str> {
        self.0.as_deref()
    }
}

impl<S: Send + Sync> FromRequestParts<S> for RequestId {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let id = parts.extensions.get::<tower_http::request_id::RequestId>();
        Ok(Self(id.and_then(|id| id.header_value().to_str().ok()).map(|id| id.chars().take(200).collect())))
    }
}
