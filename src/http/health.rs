//! Liveness and readiness: `/healthz` answers while the process runs; `/readyz` answers 200 only
//! when the database is reachable and has every migration this binary embeds.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use serde::Serialize;

use super::Pages;
use crate::app::AppState;

pub(super) fn router() -> Pages {
    Pages::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(super::metrics::render))
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Health {
    pub status: &'static str,
    pub version: &'static str,
}

/// The process is up.
#[utoipa::path(get, path = "/healthz", tag = "system", responses((status = 200, body = Health)))]
pub async fn healthz() -> Json<Health> {
    Json(Health { status: "ok", version: env!("CARGO_PKG_VERSION") })
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Readiness {
    pub status: &'static str,
    pub database: &'static str,
    pub migrations_applied: usize,
    pub migrations_embedded: usize,
}

/// The database is reachable and fully migrated.
#[utoipa::path(get, path = "/readyz", tag = "system", responses((status = 200, body = Readiness), (status = 503, body = Readiness)))]
pub async fn readyz(State(state): State<AppState>) -> (StatusCode, Json<Readiness>) {
    let status = match state.db.ping().await {
        Ok(()) => state.db.migration_status().await.ok(),
        Err(err) => {
            tracing::warn!(error = %err, "readiness: database unreachable");
            None
        }
    };
    match status {
        Some(status) if status.is_current() => (
            StatusCode::OK,
            Json(Readiness {
                status: "ready",
                database: "ok",
                migrations_applied: status.applied,
                migrations_embedded: status.embedded,
            }),
        ),
        Some(status) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(Readiness {
                status: "migrations_pending",
                database: "ok",
                migrations_applied: status.applied,
                migrations_embedded: status.embedded,
            }),
        ),
        None => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(Readiness {
                status: "database_unreachable",
                database: "unreachable",
                migrations_applied: 0,
                migrations_embedded: 0,
            }),
        ),
    }
}
