//! The HTTP edge: the router, the middleware every request passes through, and the error type
//! handlers return. Business modules contribute their `api` (JSON under `/api/v1`) and `web`
//! (server-rendered pages) routers; this module assembles them.
//!
//! A request's path, outermost first: request id → trace span → metrics and error rendering →
//! security headers → compression → panic catcher → timeout → body limit → handler.

pub mod auth;
mod error;
mod health;
pub mod metrics;
mod middleware;
mod openapi;
mod pages;
pub mod ratelimit;
mod request_id;

use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderName, StatusCode};
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::compression::CompressionLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

pub use error::{ApiError, ErrorBody, FieldErrors};
pub use openapi::ApiDoc;
pub use pages::Pages;
pub use request_id::RequestId;

use crate::app::AppState;

pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Every route outside `/api`, from every module.
pub fn pages() -> Pages {
    Pages::new()
        .merge(health::router())
        .merge(crate::web::router())
        .merge(crate::workspace::web::router())
        .merge(crate::identity::web::router())
        .merge(crate::identity::account_web::router())
        .merge(crate::identity::members_web::router())
        .merge(crate::tracking::web::router())
        .merge(crate::person::web::router())
        .merge(crate::field::web::router())
        .merge(crate::company::web::router())
        .merge(crate::activity::web::router())
        .merge(crate::attachment::web::router())
        .merge(crate::audit::web::router())
        .merge(crate::access::web::router())
        .merge(crate::export::web::router())
        .merge(crate::search::web::router())
        .merge(crate::bulk::web::router())
        .merge(crate::import::web::router())
        .merge(crate::merge::web::router())
        .merge(crate::order::web::router())
        .merge(crate::product::web::router())
        .merge(crate::inventory::web::router())
        .merge(crate::cart::web::router())
}

/// The OpenAPI document of every `/api` route, as served at `/api/v1/openapi.json`.
pub fn openapi_document() -> utoipa::openapi::OpenApi {
    openapi::api_router().split_for_parts().1
}

/// The whole application as one router, ready to serve.
pub fn router(state: AppState) -> Router {
    metrics::handle();
    let (api, openapi) = openapi::api_router().split_for_parts();
    let config = state.config.clone();
    Router::new()
        .merge(pages().into_router())
        .merge(api)
        .merge(openapi::docs(openapi))
        .with_state(state)
        .layer(DefaultBodyLimit::disable())
        .layer(axum::middleware::from_fn_with_state(middleware::BodyLimits::of(&config), middleware::body_limit))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            Duration::from_secs(config.http.request_timeout_secs),
        ))
        .layer(CatchPanicLayer::custom(middleware::panic_response))
        .layer(CompressionLayer::new())
        .layer(axum::middleware::from_fn(middleware::security_headers))
        .layer(axum::middleware::from_fn(middleware::render_errors))
        .layer(axum::middleware::from_fn(metrics::track))
        .layer(PropagateRequestIdLayer::new(REQUEST_ID))
        .layer(TraceLayer::new_for_http().make_span_with(middleware::request_span))
        .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
}
