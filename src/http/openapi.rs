//! The OpenAPI 3.1 document, generated from the handlers' annotations and served at
//! `/api/v1/openapi.json`, with Swagger UI (bundled in the binary) at `/api/docs`.

use axum::Json;
use axum::Router;
use utoipa::OpenApi;
use utoipa::openapi::OpenApi as Document;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use utoipa_swagger_ui::SwaggerUi;

use crate::app::AppState;

#[derive(OpenApi)]
#[openapi(
    info(title = "Rapport API", description = "Customers, their behaviour and everything done with them."),
    paths(super::health::healthz, super::health::readyz),
    components(schemas(super::error::ErrorBody)),
    modifiers(&BearerAuth),
    tags(
        (name = "system", description = "Health, readiness and version"),
        (name = "identity", description = "The caller, sessions and API tokens"),
        (name = "members", description = "The workspace's members and invitations (owners and admins)"),
        (name = "workspace", description = "The workspace's settings"),
        (name = "events", description = "Tracking sources and stored behaviour events"),
        (name = "collection", description = "Segment-compatible event collection, authenticated by a source's write key"),
        (name = "orders", description = "Orders with lines, status history and returns; the product catalogue"),
        (name = "audit", description = "The audit trail and the security log"),
        (name = "people", description = "Customers: people with their contact details, lifecycle and owner"),
        (name = "companies", description = "Companies people work for, and each person's title there"),
        (name = "activities", description = "Notes and tasks on people and companies"),
        (name = "attachments", description = "Files attached to people and companies"),
        (name = "exports", description = "Exports of the people and companies lists, written by a job, downloaded by signed link"),
        (name = "search", description = "One search across people and companies: prefix, substring and typo-tolerant, ranked, highlighted"),
        (name = "bulk", description = "Bulk actions on people and companies, run as jobs with progress"),
        (name = "duplicates", description = "Probable duplicate people, compared side by side, merged and unmerged"),
        (name = "inventory", description = "Stock per sku and location, its movements, and setting it from an external system"),
        (name = "carts", description = "Carts kept from tracked visitors' e-commerce events, and when they count as abandoned")
    )
)]
pub struct ApiDoc;

/// Declares the bearer scheme API tokens use (`Authorization: Bearer rpt_…`).
struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut Document) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// Every JSON route under `/api/v1`, each registered with its OpenAPI annotation.
pub(super) fn api_router() -> OpenApiRouter<AppState> {
    let v1 = OpenApiRouter::new()
        .routes(routes!(version))
        .merge(crate::identity::api::router())
        .merge(crate::identity::account_api::router())
        .merge(crate::identity::members_api::router())
        .merge(crate::tracking::api::router())
        .merge(crate::audit::api::router())
        .merge(crate::person::api::router())
        .merge(crate::field::api::router())
        .merge(crate::view::api::router())
        .merge(crate::company::api::router())
        .merge(crate::search::api::router())
        .merge(crate::activity::api::router())
        .merge(crate::attachment::api::router())
        .merge(crate::export::api::router())
        .merge(crate::bulk::api::router())
        .merge(crate::import::api::router())
        .merge(crate::merge::api::router())
        .merge(crate::order::api::router())
        .merge(crate::product::api::router())
        .merge(crate::tracking::people_api::router())
        .merge(crate::inventory::api::router())
        .merge(crate::cart::api::router())
        .merge(crate::workspace::api::router());
    OpenApiRouter::with_openapi(ApiDoc::openapi()).nest("/api/v1", v1).merge(crate::tracking::api::collection_router())
}

pub(super) fn docs(document: Document) -> Router<AppState> {
    Router::new().merge(SwaggerUi::new("/api/docs").url("/api/v1/openapi.json", document))
}

#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct Version {
    pub version: &'static str,
}

/// The running version of Rapport.
#[utoipa::path(get, path = "/version", tag = "system", responses((status = 200, body = Version)))]
async fn version() -> Json<Version> {
    Json(Version { version: env!("CARGO_PKG_VERSION") })
}
