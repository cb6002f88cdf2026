//! Bulk actions' JSON API: `POST /api/v1/people/bulk` and `POST /api/v1/companies/bulk` ask for
//! one (202, a job does the work), `GET /api/v1/bulk/{id}` follows its progress and
//! `POST /api/v1/bulk/{id}/cancel` stops it after the batch it is in. Only the requester (or an
//! admin of the workspace) sees a job; anyone else's is a 404.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use rapport_core::Timestamp;
use serde::Serialize;
use serde_json::Value;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::model::{BulkJob, BulkRequest, NewBulk, Object, RecordError};
use super::service::{self, BulkError};
use crate::app::AppState;
use crate::http::{ApiError, ErrorBody, RequestId};
use crate::identity::Principal;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(people))
        .routes(routes!(companies))
        .routes(routes!(read))
        .routes(routes!(cancel))
}

/// A bulk job as the API shows it.
#[derive(Serialize, utoipa::ToSchema)]
pub struct BulkView {
    pub id: i64,
    /// `people` or `companies`.
    pub object: &'static str,
    /// `add_tag`, `remove_tag`, `set_owner`, `set_field`, `delete` or `export`.
    pub action: &'static str,
    /// The action's argument: `value`, and `field` for `set_field`.
    #[schema(value_type = Object)]
    pub argument: Value,
    /// `{"ids": […]}` or `{"filter": …}`.
    #[schema(value_type = Object)]
    pub selection: Value,
    /// `queued`, `running`, `done`, `failed` or `cancelled`.
    pub status: &'static str,
    /// Records selected when the job was asked for.
    pub total: i64,
    /// Records changed (or already as the action would leave them).
    pub done: i64,
    /// Records the action could not be applied to.
    pub failed: i64,
    /// The first failed records and why, at most 20.
    pub errors: Vec<RecordError>,
    /// Why the job as a whole failed.
    pub error: Option<String>,
    /// For `export`: the export holding the selection (`GET /api/v1/exports/{id}`).
    pub export_id: Option<i64>,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: Timestamp,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub finished_at: Option<Timestamp>,
}

pub(super) fn view(job: &BulkJob) -> BulkView {
    BulkView {
        id: job.id,
        object: job.object.as_str(),
        action: job.action.name(),
        argument: job.action.argument(),
        selection: job.selection.to_json(),
        status: job.status.as_str(),
        total: job.total,
        done: job.done,
        failed: job.failed,
        errors: job.errors.clone(),
        error: job.error.clone(),
        export_id: job.export_id,
        created_at: job.created_at,
        updated_at: job.updated_at,
        finished_at: job.finished_at,
    }
}

async fn create(
    state: &AppState,
    principal: &Principal,
    request_id: &RequestId,
    object: Object,
    body: Value,
) -> Result<Response, ApiError> {
    let request: BulkRequest = serde_json::from_value(body).map_err(|e| ApiError::field("body", e.to_string()))?;
    let new = NewBulk::parse(object, &request).map_err(ApiError::Validation)?;
    let job = service::request(&state.db, principal, new, request_id.as_deref()).await?;
    state.waker.wake();
    Ok((StatusCode::ACCEPTED, Json(view(&job))).into_response())
}

/// Applies one action to the given people, or to every person the caller may read that matches
/// `filter`, as a background job. Each person is changed as a single edit would change them
/// (reach, field rules, validation, history); one that cannot be is counted as failed with its
/// reason. A role that may not do the action at all, or a field it may not write, is refused
/// at once.
#[utoipa::path(
    post,
    path = "/people/bulk",
    tag = "bulk",
    security(("bearer" = [])),
    request_body = BulkRequest,
    responses(
        (status = 202, description = "The job is queued", body = BulkView),
        (status = 403, body = ErrorBody),
        (status = 422, description = "Each invalid field is named", body = ErrorBody)
    )
)]
async fn people(
    State(state): State<AppState>,
    principal: Principal,
    request_id: RequestId,
    Json(body): Json<Value>,
) -> Result<Response, ApiError> {
    create(&state, &principal, &request_id, Object::People, body).await
}

/// Applies one action to the given companies, or to every company matching `filter`, as a
/// background job; see `POST /people/bulk`.
#[utoipa::path(
    post,
    path = "/companies/bulk",
    tag = "bulk",
    security(("bearer" = [])),
    request_body = BulkRequest,
    responses(
        (status = 202, description = "The job is queued", body = BulkView),
        (status = 403, body = ErrorBody),
        (status = 422, description = "Each invalid field is named", body = ErrorBody)
    )
)]
async fn companies(
    State(state): State<AppState>,
    principal: Principal,
    request_id: RequestId,
    Json(body): Json<Value>,
) -> Result<Response, ApiError> {
    create(&state, &principal, &request_id, Object::Companies, body).await
}

/// A bulk job's progress: done and failed out of the total, and the first failures.
#[utoipa::path(
    get,
    path = "/bulk/{id}",
    tag = "bulk",
    security(("bearer" = [])),
    params(("id" = i64, Path)),
    responses((status = 200, body = BulkView), (status = 404, body = ErrorBody))
)]
async fn read(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<i64>,
) -> Result<Json<BulkView>, ApiError> {
    Ok(Json(view(&service::get(&state.db, &principal, id).await?)))
}

/// Cancels a queued or running bulk job; it stops after the batch it is in. A finished job is
/// answered as it is.
#[utoipa::path(
    post,
    path = "/bulk/{id}/cancel",
    tag = "bulk",
    security(("bearer" = [])),
    params(("id" = i64, Path)),
    responses((status = 200, body = BulkView), (status = 404, body = ErrorBody))
)]
async fn cancel(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<i64>,
) -> Result<Json<BulkView>, ApiError> {
    Ok(Json(view(&service::cancel(&state.db, &principal, id).await?)))
}

impl From<BulkError> for ApiError {
    fn from(err: BulkError) -> Self {
        match err {
            BulkError::Invalid(fields) => Self::Validation(fields),
            BulkError::NotFound => Self::NotFound,
            BulkError::Forbidden(why) => Self::Forbidden(why),
            BulkError::ReadOnly(field) => field.into(),
            BulkError::Interrupted => Self::Unavailable(err.to_string()),
            BulkError::Export(detail) => Self::Internal(detail),
            BulkError::Db(db) => db.into(),
        }
    }
}
