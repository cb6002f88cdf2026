//! Exports' JSON API under `/api/v1/exports`: ask for an export (202, the file is written by a
//! job), follow its progress, list one's own, and download the file with the signed link the
//! export answers once it is done. Only the requester sees an export; anyone else's is a 404.

use axum::Json;
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use rapport_core::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::model::{Export, ExportRequest, NewExport};
use super::service::{self, ExportError};
use crate::app::AppState;
use crate::http::{ApiError, ErrorBody, RequestId};
use crate::identity::Principal;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list, create)).routes(routes!(read)).routes(routes!(download))
}

/// An export as the API shows it to its requester.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ExportView {
    pub id: i64,
    /// `people` or `companies`.
    pub object: &'static str,
    /// `csv`, `jsonl`, `xlsx` or `vcard`.
    pub format: &'static str,
    /// The list filter the export applies.
    #[schema(value_type = Object)]
    pub filter: Value,
    /// `queued`, `running`, `done`, `failed` or `expired`.
    pub status: &'static str,
    /// Rows written so far.
    pub rows_done: i64,
    /// Rows the export will hold; absent until known (lists past 10000 rows are counted as they
    /// are written).
    pub rows_total: Option<i64>,
    /// The file's size once done.
    pub bytes: Option<i64>,
    /// Why a failed export failed.
    pub error: Option<String>,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub finished_at: Option<Timestamp>,
    /// When the download link stops working.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub expires_at: Option<Timestamp>,
    /// Present while the file can be downloaded: a signed link, relative to this server.
    pub download_url: Option<String>,
}

pub(super) fn link_key(state: &AppState) -> Result<[u8; 32], ApiError> {
    super::link_key(&state.config.data_dir).map_err(|e| ApiError::Internal(format!("the export link key: {e}")))
}

pub(super) fn view(key: &[u8; 32], principal: &Principal, export: &Export) -> ExportView {
    ExportView {
        id: export.id,
        object: export.filter.object().as_str(),
        format: export.format.as_str(),
        filter: export.filter.to_json(),
        status: export.status.as_str(),
        rows_done: export.rows_done,
        rows_total: export.rows_total,
        bytes: export.bytes,
        error: export.error.clone(),
        created_at: export.created_at,
        finished_at: export.finished_at,
        expires_at: export.expires_at,
        download_url: service::download_url(key, principal.workspace_id, export, Utc::now()),
    }
}

/// Asks for an export of the people or companies list matching `filter`, as the caller: their
/// reach decides which rows and their field rules which columns. Needs the `export` permission
/// on the module. The file is written by a background job; follow it at `GET /exports/{id}`.
#[utoipa::path(
    post,
    path = "/exports",
    tag = "exports",
    security(("bearer" = [])),
    request_body = ExportRequest,
    responses(
        (status = 202, description = "The export is queued", body = ExportView),
        (status = 403, body = ErrorBody),
        (status = 422, description = "Each invalid field is named", body = ErrorBody)
    )
)]
async fn create(
    State(state): State<AppState>,
    principal: Principal,
    request_id: RequestId,
    Json(body): Json<Value>,
) -> Result<Response, ApiError> {
    let request: ExportRequest = serde_json::from_value(body).map_err(|e| ApiError::field("body", e.to_string()))?;
    let new = NewExport::parse(&request).map_err(ApiError::Validation)?;
    let export = service::request(&state.db, &principal, new, request_id.as_deref()).await?;
    state.waker.wake();
    let key = link_key(&state)?;
    Ok((StatusCode::ACCEPTED, Json(view(&key, &principal, &export))).into_response())
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ExportList {
    /// The caller's latest 50 exports, newest first.
    pub data: Vec<ExportView>,
}

/// The caller's own exports, newest first.
#[utoipa::path(
    get,
    path = "/exports",
    tag = "exports",
    security(("bearer" = [])),
    responses((status = 200, body = ExportList))
)]
async fn list(State(state): State<AppState>, principal: Principal) -> Result<Json<ExportList>, ApiError> {
    let key = link_key(&state)?;
    let exports = service::mine(&state.db, &principal).await?;
    Ok(Json(ExportList { data: exports.iter().map(|export| view(&key, &principal, export)).collect() }))
}

/// One of the caller's exports: status, progress and, once done, the download link.
#[utoipa::path(
    get,
    path = "/exports/{id}",
    tag = "exports",
    security(("bearer" = [])),
    params(("id" = i64, Path)),
    responses((status = 200, body = ExportView), (status = 404, body = ErrorBody))
)]
async fn read(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<i64>,
) -> Result<Json<ExportView>, ApiError> {
    let export = service::get(&state.db, &principal, id).await?;
    Ok(Json(view(&link_key(&state)?, &principal, &export)))
}

#[derive(Deserialize, utoipa::IntoParams)]
pub struct DownloadParams {
    /// The token of the export's `download_url`.
    #[serde(default)]
    pub token: String,
}

/// The exported file, for its requester, while the link has not expired (410 after).
#[utoipa::path(
    get,
    path = "/exports/{id}/download",
    tag = "exports",
    security(("bearer" = [])),
    params(("id" = i64, Path), DownloadParams),
    responses(
        (status = 200, description = "The file, as an attachment"),
        (status = 404, body = ErrorBody),
        (status = 409, description = "Not written yet", body = ErrorBody),
        (status = 410, description = "The link expired", body = ErrorBody)
    )
)]
async fn download(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<i64>,
    Query(params): Query<DownloadParams>,
) -> Result<Response, ApiError> {
    let key = link_key(&state)?;
    let (export, path) =
        service::download(&state.db, &principal, (&key, &state.config.data_dir), id, &params.token).await?;
    let file = tokio::fs::File::open(&path).await.map_err(|e| ApiError::Internal(e.to_string()))?;
    let body = Body::from_stream(tokio_util::io::ReaderStream::new(file));
    let disposition = format!("attachment; filename=\"{}\"", export.file_name());
    Ok((
        [(header::CONTENT_TYPE, export.format.content_type().to_owned()), (header::CONTENT_DISPOSITION, disposition)],
        body,
    )
        .into_response())
}

impl From<ExportError> for ApiError {
    fn from(err: ExportError) -> Self {
        match err {
            ExportError::NotFound => Self::NotFound,
            ExportError::Forbidden(why) => Self::Forbidden(why),
            ExportError::Invalid(fields) => Self::Validation(fields),
            ExportError::Gone => Self::Gone { code: "export_expired", message: err.to_string() },
            ExportError::NotReady => Self::Conflict { code: "export_not_ready", message: err.to_string() },
            ExportError::Interrupted => Self::Unavailable(err.to_string()),
            ExportError::File(detail) => Self::Internal(detail),
            ExportError::Db(db) => db.into(),
        }
    }
}
