//! The product catalogue JSON API: `GET /api/v1/products`, `GET /api/v1/products/{id}` (with
//! who bought it) and `PUT /api/v1/products/by-sku/{sku}` for systems that push their catalogue.

use axum::Json;
use axum::extract::{Path, Query, State};
use rapport_core::ProductId;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::service::{self, Buyer, Product, ProductError};
use crate::app::AppState;
use crate::http::{ApiError, ErrorBody};
use crate::identity::Principal;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list)).routes(routes!(read)).routes(routes!(put))
}

impl From<ProductError> for ApiError {
    fn from(err: ProductError) -> Self {
        match err {
            ProductError::Invalid(fields) => Self::Validation(fields),
            ProductError::NotFound => Self::NotFound,
            ProductError::Forbidden(why) => Self::Forbidden(why.into()),
            ProductError::Db(err) => err.into(),
        }
    }
}

#[derive(Deserialize, utoipa::IntoParams)]
pub struct ListQuery {
    pub category: Option<String>,
    /// The `next` cursor of the previous page.
    pub after: Option<i64>,
    /// At most 200; default 50.
    pub limit: Option<i64>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ProductPage {
    pub products: Vec<Product>,
    pub next: Option<i64>,
}

/// The catalogue, by id.
#[utoipa::path(get, path = "/products", tag = "orders", security(("bearer" = [])), params(ListQuery),
    responses((status = 200, body = ProductPage), (status = 403, body = ErrorBody)))]
async fn list(
    State(state): State<AppState>,
    principal: Principal,
    Query(query): Query<ListQuery>,
) -> Result<Json<ProductPage>, ApiError> {
    let (products, next) =
        service::list(&state.db, &principal, query.category.as_deref(), query.after, query.limit.unwrap_or(50)).await?;
    Ok(Json(ProductPage { products, next }))
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ProductDetail {
    #[serde(flatten)]
    pub product: Product,
    /// The people who bought it, most items first (at most 50).
    pub buyers: Vec<Buyer>,
}

/// One product with who bought it.
#[utoipa::path(get, path = "/products/{id}", tag = "orders", security(("bearer" = [])),
    responses((status = 200, body = ProductDetail), (status = 404, body = ErrorBody)))]
async fn read(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<i64>,
) -> Result<Json<ProductDetail>, ApiError> {
    let (product, buyers) = service::get(&state.db, &principal, ProductId::new(id)).await?;
    Ok(Json(ProductDetail { product, buyers }))
}

/// Creates or updates the product with this sku: `name`, `category`, `brand`, `price` (a
/// decimal amount), `currency`, `image_url`, `url`; fields left out keep their value.
#[utoipa::path(put, path = "/products/by-sku/{sku}", tag = "orders", security(("bearer" = [])),
    request_body(content = Object, description = "The product's fields"),
    responses((status = 200, body = Product), (status = 422, body = ErrorBody)))]
async fn put(
    State(state): State<AppState>,
    principal: Principal,
    Path(sku): Path<String>,
    Json(body): Json<Value>,
) -> Result<Json<Product>, ApiError> {
    Ok(Json(service::put(&state.db, &principal, &sku, &body).await?))
}
