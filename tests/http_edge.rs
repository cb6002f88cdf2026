//! The HTTP edge as a client sees it: error shapes, request ids, security headers, health,
//! readiness, metrics and the OpenAPI document.

#![allow(clippy::unwrap_used)]

mod util;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use util::TestApp;

#[tokio::test]
async fn an_unknown_api_route_answers_404_in_the_standard_error_shape() {
    let app = TestApp::new().await;
    let response = app.get("/api/v1/no-such-thing").await;
    assert_eq!(response.status, StatusCode::NOT_FOUND);
    assert_eq!(response.error_code(), "not_found");
    assert!(response.header("content-type").starts_with("application/json"));
}

#[tokio::test]
async fn a_wrong_method_answers_405_with_the_allowed_methods() {
    let app = TestApp::new().await;
    let response = app.post_json("/api/v1/version", &serde_json::json!({})).await;
    assert_eq!(response.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(response.error_code(), "method_not_allowed");
    assert!(response.header("allow").contains("GET"), "Allow: {}", response.header("allow"));
}

#[tokio::test]
async fn a_body_over_the_limit_answers_413_before_reaching_a_handler() {
    let app = TestApp::new().await;
    let limit = app.state.config.http.body_limit_bytes;
    let page = app.send(Method::POST, "/setup", "application/x-www-form-urlencoded", vec![b'a'; limit + 1]).await;
    assert_eq!(page.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(page.header("content-type").starts_with("text/html"), "browsers get an error page");
}

#[tokio::test]
async fn every_response_carries_a_request_id_and_a_given_one_is_echoed() {
    let app = TestApp::new().await;
    let fresh = app.get("/healthz").await;
    assert_eq!(fresh.header("x-request-id").len(), 36, "a UUID is generated");
    let given =
        app.request(Request::get("/healthz").header("x-request-id", "trace-me-42").body(Body::empty()).unwrap()).await;
    assert_eq!(given.header("x-request-id"), "trace-me-42");
}

#[tokio::test]
async fn a_server_error_shows_only_a_generic_message_and_the_request_id() {
    let app = TestApp::new().await;
    app.db().close().await;
    let api = app.get("/readyz").await;
    assert_eq!(api.status, StatusCode::SERVICE_UNAVAILABLE);
    let page = app.get("/").await;
    assert!(page.status.is_server_error(), "{}", page.status);
    assert!(page.header("content-type").starts_with("text/html"));
    let html = page.text();
    assert!(html.contains(page.header("x-request-id")), "the page quotes the request id");
    for leak in ["pool", "sqlx", "closed", "Sqlite", "Postgres"] {
        assert!(!html.contains(leak), "the page leaks {leak:?}: {html}");
    }
}

#[tokio::test]
async fn pages_and_api_responses_carry_security_headers() {
    let app = TestApp::new().await;
    for path in ["/", "/api/v1/version"] {
        let response = app.get(path).await;
        let csp = response.header("content-security-policy");
        assert!(csp.contains("frame-ancestors 'none'"), "{path}: {csp}");
        assert!(csp.contains("script-src 'self'"), "{path}: {csp}");
        assert_eq!(response.header("x-content-type-options"), "nosniff", "{path}");
        assert_eq!(response.header("referrer-policy"), "strict-origin-when-cross-origin", "{path}");
    }
    assert_eq!(app.get("/api/v1/version").await.header("cache-control"), "no-store");
}

#[tokio::test]
async fn static_assets_have_content_hashed_urls_cached_for_a_year() {
    let app = TestApp::new().await;
    let css = rapport::web::asset_url("app.css");
    let response = app.get(css).await;
    assert_eq!(response.status, StatusCode::OK);
    assert!(response.header("content-type").starts_with("text/css"));
    assert!(response.header("cache-control").contains("max-age=31536000"));
    assert!(response.header("cache-control").contains("immutable"));
    assert_eq!(app.get("/assets/app.css").await.status, StatusCode::NOT_FOUND, "unhashed names are not served");
    let home = app.get("/").await.text();
    assert!(home.contains(css), "the layout links the hashed URL");
}

#[tokio::test]
async fn healthz_and_readyz_report_a_migrated_database() {
    let app = TestApp::new().await;
    assert_eq!(app.get("/healthz").await.json()["status"], "ok");
    let ready = app.get("/readyz").await;
    assert_eq!(ready.status, StatusCode::OK);
    let body = ready.json();
    assert_eq!(body["status"], "ready");
    assert_eq!(body["migrations_applied"], body["migrations_embedded"]);
}

#[tokio::test]
async fn metrics_count_requests_per_route_and_report_queues_and_pool() {
    let app = TestApp::new().await;
    app.get("/api/v1/version").await;
    app.get("/api/v1/version").await;
    app.db()
        .write(|tx| {
            Box::pin(async move {
                rapport_jobs::enqueue(tx, &rapport_jobs::NewJob::new("metrics.test", serde_json::Value::Null)).await
            })
        })
        .await
        .unwrap();
    let metrics = app.get("/metrics").await;
    assert_eq!(metrics.status, StatusCode::OK);
    let text = metrics.text();
    assert!(
        text.contains(r#"rapport_http_requests_total{method="GET",route="/api/v1/version",status="200"}"#),
        "{text}"
    );
    assert!(text.contains("rapport_http_request_duration_seconds_bucket"), "{text}");
    assert!(text.contains(r#"rapport_jobs{queue="default",status="queued"} 1"#), "{text}");
    assert!(text.contains("rapport_db_pool_connections"), "{text}");
}

#[tokio::test]
async fn the_openapi_document_is_version_3_1_and_lists_the_api() {
    let app = TestApp::new().await;
    let document = app.get("/api/v1/openapi.json").await.json();
    assert!(document["openapi"].as_str().unwrap().starts_with("3.1"));
    assert!(document["paths"]["/api/v1/version"]["get"].is_object(), "{document}");
    assert!(document["paths"]["/healthz"]["get"].is_object());
    assert!(document["components"]["schemas"]["ErrorBody"].is_object());
    let docs = app.get("/api/docs/").await;
    assert_eq!(docs.status, StatusCode::OK);
    assert!(docs.text().contains("swagger"), "Swagger UI is served from the binary");
}
