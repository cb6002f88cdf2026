//! The orders JSON API, for systems that push orders directly: `POST /api/v1/orders` records
//! one, `GET /api/v1/orders` lists them (by person, status or order id), `GET /orders/{id}`
//! shows one with its lines, history and returns, `POST /orders/{id}/status` moves it on
//! (paid, shipped with carrier and tracking number, delivered …) and `POST /orders/{id}/returns`
//! takes items back and refunds them. Amounts are integer minor units in answers.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use rapport_core::{OrderId, PersonId};
use serde::{Deserialize, Serialize};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::model::{OrderInput, OrderStatus};
use super::service::{self, Order, OrderDetail, OrderError, OrderFilter, ReturnInput, StatusInput};
use crate::app::AppState;
use crate::http::{ApiError, ErrorBody};
use crate::identity::Principal;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(read))
        .routes(routes!(status))
        .routes(routes!(returns))
}

impl From<OrderError> for ApiError {
    fn from(err: OrderError) -> Self {
        match err {
            OrderError::Invalid(fields) => Self::Validation(fields),
            OrderError::NotFound => Self::NotFound,
            OrderError::Exists(id) => Self::Conflict { code: "order_exists", message: format!("{err}: order {id}") },
            OrderError::Forbidden(why) => Self::Forbidden(why.into()),
            OrderError::Inventory(err) => err.into(),
            OrderError::Db(err) => err.into(),
        }
    }
}

#[derive(Deserialize, utoipa::IntoParams)]
pub struct ListQuery {
    pub person_id: Option<i64>,
    pub status: Option<String>,
    /// The sender's order id.
    pub order_id: Option<String>,
    /// The `next` cursor of the previous page.
    pub before: Option<i64>,
    /// At most 200; default 50.
    pub limit: Option<i64>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct OrderPage {
    pub orders: Vec<Order>,
    pub next: Option<i64>,
}

/// Orders, newest first.
#[utoipa::path(get, path = "/orders", tag = "orders", security(("bearer" = [])), params(ListQuery),
    responses((status = 200, body = OrderPage), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn list(
    State(state): State<AppState>,
    principal: Principal,
    Query(query): Query<ListQuery>,
) -> Result<Json<OrderPage>, ApiError> {
    let status = match query.status.as_deref() {
        Some(raw) => Some(OrderStatus::parse(raw).ok_or_else(|| ApiError::field("status", "is not an order status"))?),
        None => None,
    };
    let filter = OrderFilter {
        person: query.person_id.map(PersonId::new),
        status,
        order_id: query.order_id,
        before: query.before,
        limit: query.limit.unwrap_or(50),
    };
    let (orders, next) = service::list(&state.db, &principal, &filter).await?;
    Ok(Json(OrderPage { orders, next }))
}

/// Records an order another system took.
#[utoipa::path(post, path = "/orders", tag = "orders", security(("bearer" = [])), request_body = OrderInput,
    responses((status = 201, body = OrderDetail), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
async fn create(
    State(state): State<AppState>,
    principal: Principal,
    Json(input): Json<OrderInput>,
) -> Result<(StatusCode, Json<OrderDetail>), ApiError> {
    Ok((StatusCode::CREATED, Json(service::create(&state.db, &principal, &input).await?)))
}

/// One order with its lines, status history and returns.
#[utoipa::path(get, path = "/orders/{id}", tag = "orders", security(("bearer" = [])),
    responses((status = 200, body = OrderDetail), (status = 404, body = ErrorBody)))]
async fn read(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<i64>,
) -> Result<Json<OrderDetail>, ApiError> {
    Ok(Json(service::get(&state.db, &principal, OrderId::new(id)).await?))
}

/// Moves an order to a status, with a carrier and tracking number when shipped.
#[utoipa::path(post, path = "/orders/{id}/status", tag = "orders", security(("bearer" = [])), request_body = StatusInput,
    responses((status = 200, body = OrderDetail), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn status(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<i64>,
    Json(input): Json<StatusInput>,
) -> Result<Json<OrderDetail>, ApiError> {
    Ok(Json(service::set_status(&state.db, &principal, OrderId::new(id), &input).await?))
}

/// Takes items back and refunds them.
#[utoipa::path(post, path = "/orders/{id}/returns", tag = "orders", security(("bearer" = [])), request_body = ReturnInput,
    responses((status = 201, body = OrderDetail), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn returns(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<i64>,
    Json(input): Json<ReturnInput>,
) -> Result<(StatusCode, Json<OrderDetail>), ApiError> {
    Ok((StatusCode::CREATED, Json(service::add_return(&state.db, &principal, OrderId::new(id), &input).await?)))
}
