//! Middleware of our own: security headers, uniform error bodies (JSON under `/api`, an HTML
//! page elsewhere), the request span and the panic response.

use std::any::Any;

use axum::Json;
use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::REQUEST_ID;
use super::error::{FieldErrors, InternalDetail, body};

const CSP_APP: &str = "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; \
    object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'";
/// Swagger UI styles itself inline; it gets a policy of its own, still same-origin only.
const CSP_DOCS: &str = "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; \
    script-src 'self'; object-src 'none'; base-uri 'self'; frame-ancestors 'none'";

pub(super) async fn security_headers(request: Request, next: Next) -> Response {
    let path = request.uri().path().to_owned();
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    let csp = if path.starts_with("/api/docs") { CSP_DOCS } else { CSP_APP };
    headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(csp));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("strict-origin-when-cross-origin"));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert("cross-origin-opener-policy", HeaderValue::from_static("same-origin"));
    if is_api(&path) || !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}

/// JSON routes: the API, Segment-compatible collection (`/v1/…`) and the probes.
fn is_api(path: &str) -> bool {
    path.starts_with("/api/")
        || path.starts_with("/v1/")
        || path == "/healthz"
        || path == "/readyz"
        || path == "/metrics"
}

/// Logs the detail of 5xx responses with the request id, and gives errors that did not come
/// from [`super::ApiError`] (unknown routes, oversized bodies, malformed JSON, timeouts) the same
/// shape as those that did.
pub(super) async fn render_errors(request: Request, next: Next) -> Response {
    let request_id = request.headers().get(REQUEST_ID).and_then(|v| v.to_str().ok()).unwrap_or("-").to_owned();
    let path = request.uri().path().to_owned();
    let mut response = next.run(request).await;
    let status = response.status();
    if let Some(InternalDetail(detail)) = response.extensions_mut().remove::<InternalDetail>() {
        tracing::error!(request_id, status = status.as_u16(), detail, "request failed");
    } else if status.is_server_error() {
        tracing::error!(request_id, status = status.as_u16(), "request failed");
    }
    if !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let content_type =
        response.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    if is_api(&path) {
        if content_type.starts_with("application/json") {
            return response;
        }
        let kept = kept_headers(response.headers());
        let message = framework_message(status, response).await;
        let mut rewritten = (status, Json(body(framework_code(status), &message, FieldErrors::new()))).into_response();
        rewritten.headers_mut().extend(kept);
        return rewritten;
    }
    if content_type.starts_with("text/html") {
        return response;
    }
    let kept = kept_headers(response.headers());
    let message = if content_type.starts_with("application/json") {
        default_message(status).to_owned()
    } else {
        framework_message(status, response).await
    };
    let mut page = crate::web::error_page(status, &message, &request_id);
    page.headers_mut().extend(kept);
    page
}

/// Headers of an error response that tell the client what to do next.
fn kept_headers(headers: &HeaderMap) -> HeaderMap {
    let mut kept = HeaderMap::new();
    for name in [header::RETRY_AFTER, header::ALLOW] {
        if let Some(value) = headers.get(&name) {
            kept.insert(name, value.clone());
        }
    }
    kept
}

/// The text a framework rejection carried (safe: it describes the request, not the server),
/// or a generic sentence for 5xx.
async fn framework_message(status: StatusCode, response: Response) -> String {
    if status.is_server_error() {
        return default_message(status).to_owned();
    }
    let bytes = axum::body::to_bytes(response.into_body(), 4096).await.unwrap_or_default();
    let text = String::from_utf8_lossy(&bytes).trim().to_owned();
    if text.is_empty() { default_message(status).to_owned() } else { text }
}

fn framework_code(status: StatusCode) -> &'static str {
    match status {
        StatusCode::BAD_REQUEST => "bad_request",
        StatusCode::UNAUTHORIZED => "unauthorized",
        StatusCode::FORBIDDEN => "forbidden",
        StatusCode::NOT_FOUND => "not_found",
        StatusCode::METHOD_NOT_ALLOWED => "method_not_allowed",
        StatusCode::REQUEST_TIMEOUT => "request_timeout",
        StatusCode::CONFLICT => "conflict",
        StatusCode::PAYLOAD_TOO_LARGE => "payload_too_large",
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported_media_type",
        StatusCode::UNPROCESSABLE_ENTITY => "invalid_body",
        StatusCode::TOO_MANY_REQUESTS => "rate_limited",
        StatusCode::SERVICE_UNAVAILABLE => "unavailable",
        s if s.is_server_error() => "internal_error",
        _ => "bad_request",
    }
}

fn default_message(status: StatusCode) -> &'static str {
    match status {
        StatusCode::NOT_FOUND => "nothing exists at this address",
        StatusCode::METHOD_NOT_ALLOWED => "this method is not allowed here",
        StatusCode::REQUEST_TIMEOUT => "the request took too long and was stopped",
        StatusCode::PAYLOAD_TOO_LARGE => "the request body is larger than allowed",
        StatusCode::SERVICE_UNAVAILABLE => "the service is temporarily unavailable; retry shortly",
        s if s.is_server_error() => "an internal error occurred; quote the request id to support",
        _ => "the request could not be processed",
    }
}

/// The largest body a request may carry: uploads get the attachment limit plus room for the
/// form around the file; everything else the HTTP limit. A `Content-Length` over it is refused
/// at once, and a body that grows past it while streaming fails its reader with a 413.
#[derive(Clone, Copy)]
pub(super) struct BodyLimits {
    body: usize,
    upload: usize,
    import: usize,
}

impl BodyLimits {
    pub(super) fn of(config: &crate::config::Config) -> Self {
        let upload = usize::try_from(config.attachments.max_bytes).unwrap_or(usize::MAX).saturating_add(64 * 1024);
        let import = usize::try_from(config.imports.max_bytes).unwrap_or(usize::MAX).saturating_add(64 * 1024);
        Self {
            body: config.http.body_limit_bytes,
            upload: upload.max(config.http.body_limit_bytes),
            import: import.max(config.http.body_limit_bytes),
        }
    }
}

pub(super) async fn body_limit(
    axum::extract::State(limits): axum::extract::State<BodyLimits>,
    request: Request,
    next: Next,
) -> Response {
    let (method, path) = (request.method(), request.uri().path());
    let limit = if crate::import::is_upload(method, path) {
        limits.import
    } else if crate::attachment::is_upload(method, path) {
        limits.upload
    } else {
        limits.body
    };
    let declared = request.headers().get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse::<usize>().ok());
    if declared.is_some_and(|length| length > limit) {
        return StatusCode::PAYLOAD_TOO_LARGE.into_response();
    }
    next.run(request.map(|body| Body::new(http_body_util::Limited::new(body, limit)))).await
}

pub(super) fn panic_response(panic: Box<dyn Any + Send + 'static>) -> Response {
    let detail = panic
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
        .unwrap_or_else(|| "panic".to_owned());
    let mut response = (
        StatusCode::INTERNAL_SERVER_ERROR,
        Json(body("internal_error", default_message(StatusCode::INTERNAL_SERVER_ERROR), FieldErrors::new())),
    )
        .into_response();
    response.extensions_mut().insert(InternalDetail(format!("handler panicked: {detail}")));
    response
}

pub(super) fn request_span(request: &Request<Body>) -> tracing::Span {
    let request_id = request.headers().get(REQUEST_ID).and_then(|v| v.to_str().ok()).unwrap_or("-");
    tracing::info_span!("request", method = %request.method(), path = %request.uri().path(), request_id)
}
