//! Saved views' JSON API under `/api/v1/views`: list an object's views (the caller's own and
//! the shared ones), save one, read, change and delete it. A view's filter and sort are what
//! `GET /api/v1/people?filter=…&sort=…` takes.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use serde::Deserialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::model::{SavedView, Table};
use super::service::{self, ViewError, ViewSpec};
use crate::access::FieldAccess;
use crate::app::AppState;
use crate::field::Object;
use crate::http::{ApiError, ErrorBody};
use crate::identity::Principal;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list, create)).routes(routes!(read, update, delete))
}

/// The list an object's views filter.
pub fn table(object: Object) -> &'static Table {
    match object {
        Object::Person => &crate::person::LIST_TABLE,
        Object::Company => &crate::company::LIST_TABLE,
    }
}

async fn rules(
    state: &AppState,
    principal: &Principal,
    object: Object,
) -> Result<(&'static Table, FieldAccess), ApiError> {
    Ok((table(object), crate::access::field_access(&state.db, principal, object.as_str()).await?))
}

fn object(raw: Option<&str>) -> Result<Object, ApiError> {
    raw.and_then(Object::parse).ok_or_else(|| ApiError::field("object", "must be person or company"))
}

#[derive(Deserialize, utoipa::IntoParams)]
struct ListParams {
    /// `person` or `company`.
    object: String,
}

/// An object's views the caller sees: their own and the shared ones.
#[utoipa::path(
    get,
    path = "/views",
    tag = "views",
    security(("bearer" = [])),
    params(ListParams),
    responses((status = 200, body = Vec<SavedView>), (status = 403, body = ErrorBody))
)]
async fn list(
    State(state): State<AppState>,
    principal: Principal,
    Query(params): Query<ListParams>,
) -> Result<Json<Vec<SavedView>>, ApiError> {
    let object = object(Some(&params.object))?;
    Ok(Json(service::views(&state.db, &principal, table(object)).await?))
}

/// Saves a view. The filter and sort are checked as the list would check them.
#[utoipa::path(
    post,
    path = "/views",
    tag = "views",
    security(("bearer" = [])),
    request_body = ViewSpec,
    responses((status = 201, body = SavedView), (status = 422, body = ErrorBody))
)]
async fn create(
    State(state): State<AppState>,
    principal: Principal,
    Json(spec): Json<ViewSpec>,
) -> Result<(StatusCode, Json<SavedView>), ApiError> {
    let object = object(spec.object.as_deref())?;
    let (table, access) = rules(&state, &principal, object).await?;
    let view = service::create(&state.db, &principal, (table, &access), spec).await?;
    Ok((StatusCode::CREATED, Json(view)))
}

#[utoipa::path(
    get,
    path = "/views/{id}",
    tag = "views",
    security(("bearer" = [])),
    params(("id" = i64, Path)),
    responses((status = 200, body = SavedView), (status = 404, body = ErrorBody))
)]
async fn read(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<i64>,
) -> Result<Json<SavedView>, ApiError> {
    Ok(Json(service::view(&state.db, &principal, id).await?))
}

/// Changes a view (its owner only): members present replace.
#[utoipa::path(
    patch,
    path = "/views/{id}",
    tag = "views",
    security(("bearer" = [])),
    params(("id" = i64, Path)),
    request_body = ViewSpec,
    responses((status = 200, body = SavedView), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody))
)]
async fn update(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<i64>,
    Json(spec): Json<ViewSpec>,
) -> Result<Json<SavedView>, ApiError> {
    let object = service::object_of(&state.db, &principal, id).await?;
    let (table, access) = rules(&state, &principal, object).await?;
    Ok(Json(service::update(&state.db, &principal, (table, &access), id, spec).await?))
}

#[utoipa::path(
    delete,
    path = "/views/{id}",
    tag = "views",
    security(("bearer" = [])),
    params(("id" = i64, Path)),
    responses((status = 204), (status = 404, body = ErrorBody))
)]
async fn delete(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<i64>,
) -> Result<StatusCode, ApiError> {
    service::delete(&state.db, &principal, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

impl From<ViewError> for ApiError {
    fn from(err: ViewError) -> Self {
        match err {
            ViewError::Invalid(problem) => Self::field(&problem.path, problem.message),
            ViewError::NotFound => Self::NotFound,
            ViewError::Forbidden(why) => Self::Forbidden(why.into()),
            ViewError::Db(db) => db.into(),
        }
    }
}
