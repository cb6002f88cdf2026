//! The JSON API of stock: levels listed at `/api/v1/inventory`, one sku's levels and ledger at
//! `/api/v1/inventory/{sku}`, a level set from an external system with `PUT` and adjusted by hand
//! with `POST …/adjust`, and the workspace's default threshold at `/api/v1/inventory-settings`.

use axum::Json;
use axum::extract::{Path, Query, State};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::model::{AdjustInput, InventorySettings, SetStockInput, StockLevel};
use super::service::{self, InventoryError, LevelQuery, SkuStock};
use crate::app::AppState;
use crate::http::{ApiError, ErrorBody};
use crate::identity::Principal;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list))
        .routes(routes!(read))
        .routes(routes!(set))
        .routes(routes!(adjust))
        .routes(routes!(read_settings, save_settings))
}

#[derive(Deserialize, utoipa::IntoParams)]
pub struct ListParams {
    /// Only skus starting with this.
    pub sku: Option<String>,
    /// `true`: only levels at or below their threshold.
    #[serde(default)]
    pub low: bool,
    /// The `next` of the previous page.
    pub cursor: Option<i64>,
    /// 1–200, default 50.
    pub limit: Option<i64>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct LevelList {
    /// By sku, then location.
    pub data: Vec<StockLevel>,
    /// Pass as `cursor` for the next page; absent on the last page.
    pub next: Option<i64>,
}

/// Stock levels, by sku and location.
#[utoipa::path(get, path = "/inventory", tag = "inventory", security(("bearer" = [])),
    params(ListParams), responses((status = 200, body = LevelList), (status = 403, body = ErrorBody)))]
async fn list(
    State(state): State<AppState>,
    principal: Principal,
    Query(params): Query<ListParams>,
) -> Result<Json<LevelList>, ApiError> {
    let query =
        LevelQuery { sku: params.sku, low: params.low, after: params.cursor, limit: params.limit.unwrap_or(50) };
    let (data, next) = service::levels(&state.db, &principal, &query).await?;
    Ok(Json(LevelList { data, next }))
}

/// A sku's levels at every location and its latest movements.
#[utoipa::path(get, path = "/inventory/{sku}", tag = "inventory", security(("bearer" = [])),
    params(("sku" = String, Path)),
    responses((status = 200, body = SkuStock), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn read(
    State(state): State<AppState>,
    principal: Principal,
    Path(sku): Path<String>,
) -> Result<Json<SkuStock>, ApiError> {
    Ok(Json(service::stock(&state.db, &principal, &sku).await?))
}

/// Sets a level to the quantity held, as an external system knows it; creates the level (and
/// starts stocking the sku there) if there is none. The difference is recorded as a `set`
/// movement; sending the same quantity again changes nothing.
#[utoipa::path(put, path = "/inventory/{sku}/{location}", tag = "inventory", security(("bearer" = [])),
    params(("sku" = String, Path), ("location" = String, Path)), request_body = SetStockInput,
    responses((status = 200, body = StockLevel), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn set(
    State(state): State<AppState>,
    principal: Principal,
    Path((sku, location)): Path<(String, String)>,
    Json(input): Json<SetStockInput>,
) -> Result<Json<StockLevel>, ApiError> {
    Ok(Json(service::set(&state.db, &principal, (&sku, &location), &input).await?))
}

/// Adds `delta` (negative to take away) to an existing level, with a reason and a note for
/// the ledger.
#[utoipa::path(post, path = "/inventory/{sku}/{location}/adjust", tag = "inventory", security(("bearer" = [])),
    params(("sku" = String, Path), ("location" = String, Path)), request_body = AdjustInput,
    responses((status = 200, body = StockLevel), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
async fn adjust(
    State(state): State<AppState>,
    principal: Principal,
    Path((sku, location)): Path<(String, String)>,
    Json(input): Json<AdjustInput>,
) -> Result<Json<StockLevel>, ApiError> {
    Ok(Json(service::adjust(&state.db, &principal, (&sku, &location), &input).await?))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct SettingsInput {
    /// The threshold of every level without its own: 0 or more.
    #[serde(default)]
    #[schema(value_type = i64)]
    pub low_stock_threshold: Value,
}

/// The workspace's inventory settings.
#[utoipa::path(get, path = "/inventory-settings", tag = "inventory", security(("bearer" = [])),
    responses((status = 200, body = InventorySettings), (status = 403, body = ErrorBody)))]
async fn read_settings(
    State(state): State<AppState>,
    principal: Principal,
) -> Result<Json<InventorySettings>, ApiError> {
    Ok(Json(service::settings(&state.db, &principal).await?))
}

/// Sets the default low-stock threshold.
#[utoipa::path(put, path = "/inventory-settings", tag = "inventory", security(("bearer" = [])),
    request_body = SettingsInput,
    responses((status = 200, body = InventorySettings), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn save_settings(
    State(state): State<AppState>,
    principal: Principal,
    Json(input): Json<SettingsInput>,
) -> Result<Json<InventorySettings>, ApiError> {
    Ok(Json(service::save_settings(&state.db, &principal, &input.low_stock_threshold).await?))
}

impl From<InventoryError> for ApiError {
    fn from(err: InventoryError) -> Self {
        match err {
            InventoryError::Invalid(fields) => Self::Validation(fields),
            InventoryError::NotFound => Self::NotFound,
            InventoryError::Forbidden(why) => Self::Forbidden(why),
            InventoryError::Db(db) => db.into(),
        }
    }
}
