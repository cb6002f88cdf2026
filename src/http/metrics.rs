//! Prometheus metrics: request counts and latency per route, job queue depth and database pool
//! figures, rendered at `GET /metrics`. Pool and queue figures are read at scrape time, so they
//! cost nothing between scrapes.

use std::sync::OnceLock;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

use crate::app::AppState;

const LATENCY_BUCKETS: &[f64] = &[0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];

/// The process-wide recorder; installed once, shared by every app instance in the process.
pub fn handle() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let builder = PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), LATENCY_BUCKETS)
                .unwrap_or_else(|_| PrometheusBuilder::new());
            let recorder = builder.build_recorder();
            let handle = recorder.handle();
            if metrics::set_global_recorder(recorder).is_err() {
                tracing::warn!("a metrics recorder was already installed; /metrics may be empty");
            }
            handle
        })
        .clone()
}

pub(super) async fn track(request: Request, next: Next) -> Response {
    let route =
        request.extensions().get::<MatchedPath>().map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let method = request.method().to_string();
    let started = Instant::now();
    let response = next.run(request).await;
    let status = response.status().as_u16().to_string();
    metrics::counter!("rapport_http_requests_total", "method" => method.clone(), "route" => route.clone(), "status" => status).increment(1);
    metrics::histogram!("rapport_http_request_duration_seconds", "method" => method, "route" => route)
        .record(started.elapsed().as_secs_f64());
    response
}

pub(super) async fn render(State(state): State<AppState>) -> impl IntoResponse {
    let pool = state.db.pool_stats();
    metrics::gauge!("rapport_db_pool_connections").set(f64::from(pool.size));
    metrics::gauge!("rapport_db_pool_idle_connections").set(f64::from(pool.idle));
    metrics::gauge!("rapport_db_pending_writes").set(pool.pending_writes as f64);
    match rapport_jobs::queue_depths(&state.db).await {
        Ok(depths) => {
            for depth in depths {
                metrics::gauge!("rapport_jobs", "queue" => depth.queue, "status" => depth.status)
                    .set(depth.jobs as f64);
            }
        }
        Err(err) => tracing::warn!(error = %err, "could not read job queue depth for /metrics"),
    }
    ([(axum::http::header::CONTENT_TYPE, "text/plain; version=0.0.4")], handle().render())
}
