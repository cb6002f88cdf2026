//! The JSON API of carts: `GET /api/v1/carts` (by person and state, most recently active
//! first), `GET /api/v1/carts/{id}`, and the workspace's abandonment time at
//! `/api/v1/cart-settings`.

use axum::Json;
use axum::extract::{Path, Query, State};
use rapport_core::{CartId, PersonId};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::model::{Cart, CartSettings};
use super::service::{self, CartError, CartFilter};
use crate::app::AppState;
use crate::http::{ApiError, ErrorBody};
use crate::identity::Principal;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list)).routes(routes!(read)).routes(routes!(read_settings, save_settings))
}

#[derive(Deserialize, utoipa::IntoParams)]
pub struct ListParams {
    /// Only this person's carts.
    pub person_id: Option<i64>,
    /// `open` (not abandoned), `abandoned`, `checkout` or `ordered`.
    pub status: Option<String>,
    /// The `next` of the previous page.
    pub cursor: Option<String>,
    /// 1–200, default 50.
    pub limit: Option<i64>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct CartList {
    /// Carts with items, most recently active first.
    pub data: Vec<Cart>,
    /// Pass as `cursor` for the next page; absent on the last page.
    pub next: Option<String>,
}

/// Carts with items, most recently active first.
#[utoipa::path(get, path = "/carts", tag = "carts", security(("bearer" = [])), params(ListParams),
    responses((status = 200, body = CartList), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn list(
    State(state): State<AppState>,
    principal: Principal,
    Query(params): Query<ListParams>,
) -> Result<Json<CartList>, ApiError> {
    let before = match params.cursor.as_deref() {
        Some(raw) => Some(
            crate::profile::parse_time_cursor(raw)
                .ok_or_else(|| ApiError::field("cursor", "is not a cursor of this list"))?,
        ),
        None => None,
    };
    let filter = CartFilter {
        person: params.person_id.map(PersonId::new),
        state: params.status,
        before,
        limit: params.limit.unwrap_or(50),
    };
    let (data, next) = service::list(&state.db, &principal, &filter).await?;
    Ok(Json(CartList { data, next: next.map(crate::profile::time_cursor) }))
}

/// A cart with its lines.
#[utoipa::path(get, path = "/carts/{id}", tag = "carts", security(("bearer" = [])), params(("id" = i64, Path)),
    responses((status = 200, body = Cart), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn read(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<CartId>,
) -> Result<Json<Cart>, ApiError> {
    Ok(Json(service::get(&state.db, &principal, id).await?))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct SettingsInput {
    /// Minutes (1 to 43200) a cart with items may go without a checkout before it counts as
    /// abandoned.
    #[serde(default)]
    #[schema(value_type = i64)]
    pub abandon_after_minutes: Value,
}

/// The workspace's cart settings.
#[utoipa::path(get, path = "/cart-settings", tag = "carts", security(("bearer" = [])),
    responses((status = 200, body = CartSettings), (status = 403, body = ErrorBody)))]
async fn read_settings(State(state): State<AppState>, principal: Principal) -> Result<Json<CartSettings>, ApiError> {
    Ok(Json(service::settings(&state.db, &principal).await?))
}

/// Sets how long a cart may go without a checkout before it counts as abandoned.
#[utoipa::path(put, path = "/cart-settings", tag = "carts", security(("bearer" = [])), request_body = SettingsInput,
    responses((status = 200, body = CartSettings), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn save_settings(
    State(state): State<AppState>,
    principal: Principal,
    Json(input): Json<SettingsInput>,
) -> Result<Json<CartSettings>, ApiError> {
    Ok(Json(service::save_settings(&state.db, &principal, &input.abandon_after_minutes).await?))
}

impl From<CartError> for ApiError {
    fn from(err: CartError) -> Self {
        match err {
            CartError::Invalid(fields) => Self::Validation(fields),
            CartError::NotFound => Self::NotFound,
            CartError::Forbidden(why) => Self::Forbidden(why.into()),
            CartError::Db(db) => db.into(),
        }
    }
}
