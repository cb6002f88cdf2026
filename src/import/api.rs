//! Imports' JSON API. `POST /api/v1/imports` uploads a file (`multipart/form-data`: the file in
//! the part `file`, and optionally `object`) and answers a draft with the file's columns and a
//! suggested mapping; `GET /api/v1/imports/{id}/preview` shows its first rows;
//! `POST /api/v1/imports/{id}/start` runs it (or dry-runs it) as a job; `GET /api/v1/imports/{id}`
//! follows the progress; `GET /api/v1/imports/{id}/errors` is the error report as CSV;
//! `POST /api/v1/imports/{id}/cancel` and `/undo`. Only the uploader (or an admin of the
//! workspace) sees an import; anyone else's is a 404.

use axum::Json;
use axum::extract::{FromRequest, Multipart, Path, Query, Request, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures::TryStreamExt;
use rapport_core::Timestamp;
use serde::{Deserialize, Serialize};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::model::{Column, Counts, DuplicatePolicy, Duplicates, Import, MatchOn, Mode, Object};
use super::service::{self, ImportError, StartRequest, Upload};
use crate::app::AppState;
use crate::http::{ApiError, ErrorBody, FieldErrors, RequestId};
use crate::identity::Principal;

/// The path uploads are posted to, whose body may be as large as `imports.max_bytes`.
pub const UPLOAD_PATH: &str = "/api/v1/imports";

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(read))
        .routes(routes!(preview))
        .routes(routes!(start))
        .routes(routes!(cancel))
        .routes(routes!(undo))
        .routes(routes!(errors))
        .routes(routes!(templates))
}

/// An import as the API shows it.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ImportView {
    pub id: i64,
    /// `people`.
    pub object: &'static str,
    pub file_name: String,
    pub file_size: i64,
    /// `csv`, `xlsx` or `vcard`.
    pub format: &'static str,
    /// The file's columns, in order.
    pub columns: Vec<String>,
    /// The number of data rows the file held when uploaded.
    pub rows: i64,
    /// Each column and the field it fills (`null`: not imported); suggested on upload.
    pub mapping: Vec<Column>,
    pub mode: Mode,
    #[serde(rename = "match")]
    pub match_on: MatchOn,
    /// The date format of date columns, as given or detected.
    pub date_format: Option<String>,
    /// What the run does with rows that would create a possible duplicate.
    pub duplicates: Duplicates,
    /// `draft`, `queued`, `running`, `done`, `failed`, `cancelled`, `undoing` or `undone`.
    pub status: &'static str,
    /// A dry run writes no record: its counts say what the import would do.
    pub dry_run: bool,
    /// Rows read so far.
    pub rows_done: i64,
    pub counts: Counts,
    /// Rows found to be possible duplicates: created with a warning (`flag`) or refused
    /// (`skip`, counted in `rejected` too). Each is in the error report.
    pub possible_duplicates: i64,
    /// Why the import as a whole failed.
    pub error: Option<String>,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub started_at: Option<Timestamp>,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub finished_at: Option<Timestamp>,
}

pub(super) fn view(import: &Import) -> ImportView {
    ImportView {
        id: import.id,
        object: import.object.as_str(),
        file_name: import.file_name.clone(),
        file_size: import.file_size,
        format: super::store::format_name(import.format),
        columns: import.headers.clone(),
        rows: import.estimated_rows,
        mapping: import.settings.mapping.clone(),
        mode: import.settings.mode,
        match_on: import.settings.match_on,
        date_format: import.settings.date_format.clone(),
        duplicates: import.settings.duplicates,
        status: import.status.as_str(),
        dry_run: import.dry_run,
        rows_done: import.rows_done(),
        counts: import.counts,
        possible_duplicates: import.possible_duplicates,
        error: import.error.clone(),
        created_at: import.created_at,
        started_at: import.started_at,
        finished_at: import.finished_at,
    }
}

/// The multipart upload of a file to import (for the OpenAPI document; the handler streams it).
#[derive(utoipa::ToSchema)]
pub struct ImportForm {
    /// `people` (the default).
    #[allow(dead_code)]
    object: Option<String>,
    /// CSV (any of `,` `;` tab; UTF-8 or Windows-1252), XLSX, or vCard 3.0/4.0.
    #[schema(value_type = String, format = Binary)]
    #[allow(dead_code)]
    file: Vec<u8>,
}

/// Uploads a file to import and answers a draft: its columns, row count and a suggested
/// mapping. Nothing is imported until `POST /imports/{id}/start`.
#[utoipa::path(post, path = "/imports", tag = "imports", security(("bearer" = [])),
    request_body(content = ImportForm, content_type = "multipart/form-data"),
    responses((status = 201, body = ImportView), (status = 403, body = ErrorBody),
        (status = 413, description = "larger than `imports.max_bytes`", body = ErrorBody),
        (status = 422, description = "the file cannot be read, named under `file`", body = ErrorBody)))]
async fn create(
    State(state): State<AppState>,
    principal: Principal,
    request: Request,
) -> Result<(StatusCode, Json<ImportView>), ApiError> {
    let multipart = Multipart::from_request(request, &state)
        .await
        .map_err(|rejection| ApiError::BadRequest(rejection.body_text()))?;
    let import = receive(&state, &principal, multipart).await?;
    Ok((StatusCode::CREATED, Json(view(&import))))
}

/// Reads an upload form: an optional `object` part, then the `file` part, streamed to disk.
pub(super) async fn receive(state: &AppState, principal: &Principal, mut form: Multipart) -> Result<Import, ApiError> {
    let mut object = Object::People;
    loop {
        let part = form.next_field().await.map_err(|e| multipart_error(&e))?;
        let Some(part) = part else { return Err(ApiError::field("file", "a file is required")) };
        match part.name() {
            Some("object") => {
                let raw = part.text().await.map_err(|e| multipart_error(&e))?;
                object = Object::parse(&raw).ok_or_else(|| ApiError::field("object", "must be people"))?;
            }
            Some("file") => {
                let file_name = part.file_name().unwrap_or("import").to_owned();
                let body = part.map_err(|e| e.body_text());
                let storage = (state.config.data_dir.as_path(), state.config.imports.max_bytes);
                return Ok(service::upload(&state.db, storage, principal, object, Upload { file_name, body }).await?);
            }
            _ => {}
        }
    }
}

fn multipart_error(err: &axum::extract::multipart::MultipartError) -> ApiError {
    if err.status() == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::TooLarge(err.body_text())
    } else {
        ApiError::BadRequest(err.body_text())
    }
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ImportList {
    pub data: Vec<ImportView>,
}

/// The caller's imports (every member's for an administrator), newest first, at most 100.
#[utoipa::path(get, path = "/imports", tag = "imports", security(("bearer" = [])),
    responses((status = 200, body = ImportList)))]
async fn list(State(state): State<AppState>, principal: Principal) -> Result<Json<ImportList>, ApiError> {
    let imports = service::recent(&state.db, &principal, 100).await?;
    Ok(Json(ImportList { data: imports.iter().map(view).collect() }))
}

/// An import and its progress.
#[utoipa::path(get, path = "/imports/{id}", tag = "imports", security(("bearer" = [])),
    params(("id" = i64, Path)), responses((status = 200, body = ImportView), (status = 404, body = ErrorBody)))]
async fn read(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<i64>,
) -> Result<Json<ImportView>, ApiError> {
    Ok(Json(view(&service::get(&state.db, &principal, id).await?)))
}

#[derive(Deserialize, utoipa::IntoParams)]
pub struct PreviewParams {
    /// Rows to show, at most 1,000 (default 20).
    pub rows: Option<usize>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Preview {
    pub columns: Vec<String>,
    /// Each row's number (the first data row is 1) and cells, in column order.
    pub rows: Vec<PreviewRow>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct PreviewRow {
    pub row: u64,
    pub cells: Vec<String>,
}

/// The file's first rows as the import reads them.
#[utoipa::path(get, path = "/imports/{id}/preview", tag = "imports", security(("bearer" = [])),
    params(("id" = i64, Path), PreviewParams),
    responses((status = 200, body = Preview), (status = 404, body = ErrorBody)))]
async fn preview(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<i64>,
    Query(params): Query<PreviewParams>,
) -> Result<Json<Preview>, ApiError> {
    let (import, rows) =
        service::preview(&state.db, &state.config.data_dir, &principal, id, params.rows.unwrap_or(20)).await?;
    let rows = rows.into_iter().map(|row| PreviewRow { row: row.number, cells: row.cells }).collect();
    Ok(Json(Preview { columns: import.headers, rows }))
}

/// How to run an import.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StartBody {
    /// Each column and the field it fills (a vocabulary name or a custom field's key; `null`
    /// leaves it out; `"create": true` creates a text custom field with that key). Absent: the
    /// import's current mapping.
    pub mapping: Option<Vec<Column>>,
    /// `create` (default), `update` or `upsert`.
    pub mode: Option<Mode>,
    /// What finds an existing person: `email` (default) or `external_id`.
    #[serde(rename = "match")]
    pub match_on: Option<MatchOn>,
    /// `iso`, `yyyymmdd`, `dd/mm/yyyy` or `mm/dd/yyyy`; needed only when the dates do not tell.
    pub date_format: Option<String>,
    /// Check every row and report what would happen, writing nothing.
    #[serde(default)]
    pub dry_run: bool,
    /// Also save the mapping as a template of this name.
    pub template: Option<String>,
    /// Check the rows that would create people against the people already there and the rows
    /// before them. Absent: not checked.
    pub duplicates: Option<DuplicatesBody>,
}

/// What to do with a row that would create someone who is probably there already.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DuplicatesBody {
    /// `off` (default), `flag` (create the row with a warning naming the possible duplicate),
    /// `skip` (refuse it into the error report) or `merge` (fill in the stored person it
    /// duplicates instead of creating one).
    pub policy: DuplicatePolicy,
    /// The probability (0–1) from which someone counts as a possible duplicate; default 0.9.
    pub threshold: Option<f64>,
}

/// Starts the import (or its dry run) as a background job. The mapping is checked against the
/// file and the fields, and the caller's role and field rules against the mode and the fields
/// it writes, before anything is queued.
#[utoipa::path(post, path = "/imports/{id}/start", tag = "imports", security(("bearer" = [])),
    params(("id" = i64, Path)), request_body = StartBody,
    responses((status = 202, body = ImportView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, description = "the import already ran", body = ErrorBody),
        (status = 422, description = "each problem of the mapping is named", body = ErrorBody)))]
async fn start(
    State(state): State<AppState>,
    principal: Principal,
    request_id: RequestId,
    Path(id): Path<i64>,
    Json(body): Json<StartBody>,
) -> Result<(StatusCode, Json<ImportView>), ApiError> {
    let duplicates = match body.duplicates {
        Some(asked) => Duplicates::new(asked.policy, asked.threshold).map_err(ApiError::Validation)?,
        None => Duplicates::default(),
    };
    let request = StartRequest {
        mapping: body.mapping,
        mode: body.mode.unwrap_or_default(),
        match_on: body.match_on.unwrap_or_default(),
        date_format: body.date_format,
        dry_run: body.dry_run,
        template: body.template,
        duplicates,
    };
    let import =
        service::start(&state.db, &state.config.data_dir, &principal, id, request, request_id.as_deref()).await?;
    state.waker.wake();
    Ok((StatusCode::ACCEPTED, Json(view(&import))))
}

/// Stops a queued or running import after the batch it is in. What was committed stays; undo
/// takes it back.
#[utoipa::path(post, path = "/imports/{id}/cancel", tag = "imports", security(("bearer" = [])),
    params(("id" = i64, Path)), responses((status = 200, body = ImportView), (status = 404, body = ErrorBody)))]
async fn cancel(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<i64>,
) -> Result<Json<ImportView>, ApiError> {
    Ok(Json(view(&service::cancel(&state.db, &principal, id).await?)))
}

/// Undoes a finished import as a background job: the people it created are erased, the ones it
/// changed are put back as they were. Needs the permission to delete people.
#[utoipa::path(post, path = "/imports/{id}/undo", tag = "imports", security(("bearer" = [])),
    params(("id" = i64, Path)),
    responses((status = 202, body = ImportView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, description = "the import is not finished, or was undone", body = ErrorBody)))]
async fn undo(
    State(state): State<AppState>,
    principal: Principal,
    request_id: RequestId,
    Path(id): Path<i64>,
) -> Result<(StatusCode, Json<ImportView>), ApiError> {
    let import = service::undo(&state.db, &principal, id, request_id.as_deref()).await?;
    state.waker.wake();
    Ok((StatusCode::ACCEPTED, Json(view(&import))))
}

/// The error report: one CSV line per refused row and column (`row,column,reason`), then one
/// per row created with a possible-duplicate warning (`possible duplicate of #ID Name (score
/// 0.97): reasons`).
#[utoipa::path(get, path = "/imports/{id}/errors", tag = "imports", security(("bearer" = [])),
    params(("id" = i64, Path)),
    responses((status = 200, content_type = "text/csv", body = String), (status = 404, body = ErrorBody)))]
async fn errors(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<i64>,
) -> Result<Response, ApiError> {
    let report = service::error_report(&state.db, &principal, id).await?;
    Ok(report_response(id, report))
}

pub(super) fn report_response(id: i64, report: Vec<u8>) -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (header::CONTENT_DISPOSITION, format!("attachment; filename=\"import-{id}-errors.csv\"")),
        ],
        report,
    )
        .into_response()
}

#[derive(Deserialize, utoipa::IntoParams)]
pub struct TemplateParams {
    /// `people` (the default).
    pub object: Option<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Template {
    pub name: String,
    pub mapping: Vec<Column>,
}

/// Saved mapping templates, by name.
#[utoipa::path(get, path = "/imports/templates", tag = "imports", security(("bearer" = [])),
    params(TemplateParams), responses((status = 200, body = Vec<Template>)))]
async fn templates(
    State(state): State<AppState>,
    principal: Principal,
    Query(params): Query<TemplateParams>,
) -> Result<Json<Vec<Template>>, ApiError> {
    let object = match params.object.as_deref() {
        None => Object::People,
        Some(raw) => Object::parse(raw).ok_or_else(|| ApiError::field("object", "must be people"))?,
    };
    let saved = service::templates(&state.db, &principal, object).await?;
    Ok(Json(saved.into_iter().map(|(name, mapping)| Template { name, mapping }).collect()))
}

impl From<ImportError> for ApiError {
    fn from(err: ImportError) -> Self {
        match err {
            ImportError::Invalid(fields) => Self::Validation(fields),
            ImportError::NotFound => Self::NotFound,
            ImportError::Forbidden(why) => Self::Forbidden(why),
            ImportError::ReadOnly(field) => field.into(),
            ImportError::Conflict(why) => Self::Conflict { code: "import_state", message: why.to_owned() },
            ImportError::TooLarge(_) => Self::TooLarge(err.to_string()),
            ImportError::File(why) => Self::Validation(FieldErrors::from([("file".to_owned(), vec![why])])),
            ImportError::Interrupted => Self::Unavailable(err.to_string()),
            ImportError::Io(detail) => Self::Internal(detail),
            ImportError::Db(db) => db.into(),
        }
    }
}
