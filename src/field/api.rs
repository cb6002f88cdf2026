//! Custom fields' JSON API under `/api/v1/custom-fields`: list an object's fields, define one,
//! read and change one (rename, options, flags, retire). A record's values travel with the
//! record itself, under the field's key, in `/api/v1/people` and `/api/v1/companies`.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use rapport_core::FieldId;
use serde::Deserialize;
use serde_json::Value;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::model::{CustomField, FieldSpec, Object};
use super::service::{self, FieldError};
use crate::app::AppState;
use crate::http::{ApiError, ErrorBody};
use crate::identity::Principal;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list, create)).routes(routes!(read, update))
}

#[derive(Deserialize, utoipa::IntoParams)]
struct ListParams {
    /// `person` or `company`.
    #[param(value_type = Object)]
    object: String,
}

fn object(raw: &str) -> Result<Object, ApiError> {
    Object::parse(raw).ok_or_else(|| ApiError::field("object", "must be person or company"))
}

/// An object's custom fields in form order, retired ones included (`retired: true`).
#[utoipa::path(
    get,
    path = "/custom-fields",
    tag = "custom fields",
    security(("bearer" = [])),
    params(ListParams),
    responses((status = 200, body = Vec<CustomField>), (status = 403, body = ErrorBody))
)]
async fn list(
    State(state): State<AppState>,
    principal: Principal,
    Query(params): Query<ListParams>,
) -> Result<Json<Vec<Value>>, ApiError> {
    let fields = service::list(&state.db, &principal, object(&params.object)?).await?;
    Ok(Json(fields.iter().map(service::view).collect()))
}

/// Defines a field. `key` names it in the API, CSV and filters; `kind` is fixed once created.
#[utoipa::path(
    post,
    path = "/custom-fields",
    tag = "custom fields",
    security(("bearer" = [])),
    request_body = FieldSpec,
    responses(
        (status = 201, body = CustomField),
        (status = 422, description = "Each invalid member is named", body = ErrorBody),
        (status = 403, body = ErrorBody)
    )
)]
async fn create(
    State(state): State<AppState>,
    principal: Principal,
    Json(body): Json<Value>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let spec: FieldSpec = serde_json::from_value(body).map_err(|e| ApiError::field("body", e.to_string()))?;
    let target = object(spec.object.as_deref().unwrap_or_default())?;
    let field = service::create(&state.db, &principal, target, spec).await?;
    Ok((StatusCode::CREATED, Json(service::view(&field))))
}

#[utoipa::path(
    get,
    path = "/custom-fields/{id}",
    tag = "custom fields",
    security(("bearer" = [])),
    params(("id" = i64, Path)),
    responses((status = 200, body = CustomField), (status = 404, body = ErrorBody))
)]
async fn read(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<FieldId>,
) -> Result<Json<Value>, ApiError> {
    let field = service::find(&state.db, &principal, id).await?;
    Ok(Json(service::view(&field)))
}

/// Changes a field: members present replace, absent ones stay. Renaming `key` keeps every
/// value; `retired: true` hides the field and keeps its values, `false` brings it back.
#[utoipa::path(
    patch,
    path = "/custom-fields/{id}",
    tag = "custom fields",
    security(("bearer" = [])),
    params(("id" = i64, Path)),
    request_body = FieldSpec,
    responses(
        (status = 200, body = CustomField),
        (status = 404, body = ErrorBody),
        (status = 422, description = "Each invalid member is named", body = ErrorBody)
    )
)]
async fn update(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<FieldId>,
    Json(body): Json<Value>,
) -> Result<Json<Value>, ApiError> {
    let spec: FieldSpec = serde_json::from_value(body).map_err(|e| ApiError::field("body", e.to_string()))?;
    let field = service::update(&state.db, &principal, id, spec).await?;
    Ok(Json(service::view(&field)))
}

impl From<FieldError> for ApiError {
    fn from(err: FieldError) -> Self {
        match err {
            FieldError::Invalid(fields) => Self::Validation(fields),
            FieldError::NotFound => Self::NotFound,
            FieldError::Forbidden(why) => Self::Forbidden(why.into()),
            FieldError::Db(db) => db.into(),
        }
    }
}
