//! The JSON API of attachments: a record's files under its own path
//! (`/api/v1/people/{id}/attachments`, `/api/v1/companies/{id}/attachments`: upload as
//! `multipart/form-data` with the file in the part named `file`, and list), and each
//! attachment under `/api/v1/attachments/{id}` (metadata, `/content`, delete).

use axum::Json;
use axum::body::Body;
use axum::extract::multipart::{Multipart, MultipartError};
use axum::extract::{FromRequest, Path, Query, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures::TryStreamExt;
use serde::{Deserialize, Serialize};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::files::ReceiveError;
use super::model::{Attachment, content_disposition};
use super::service::{self, AttachmentError, Declared, Storage};
use crate::activity::Target;
use crate::app::AppState;
use crate::http::{ApiError, ErrorBody, FieldErrors};
use crate::identity::Principal;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(person_attachments, upload_to_person))
        .routes(routes!(company_attachments, upload_to_company))
        .routes(routes!(read_attachment, delete_attachment))
        .routes(routes!(download))
}

/// Whether a request is an upload, which may carry a larger body than other requests
/// (`attachments.max_bytes` plus room for the form around the file).
pub fn is_upload(method: &axum::http::Method, path: &str) -> bool {
    let record = path.strip_prefix("/api/v1/people/").or_else(|| path.strip_prefix("/api/v1/companies/"));
    let api = record.and_then(|rest| rest.strip_suffix("/attachments")).is_some_and(|id| !id.contains('/'));
    method == axum::http::Method::POST && (api || path == super::web::UPLOAD_PATH)
}

/// The multipart upload of one file (for the OpenAPI document; the handler streams the parts).
#[derive(utoipa::ToSchema)]
pub struct UploadForm {
    /// The file; its part's file name and content type are the declared ones. Its bytes must be
    /// an image, a PDF, an office document, a zip archive, or UTF-8 text or CSV, and agree with
    /// the declared type.
    #[schema(value_type = String, format = Binary)]
    pub file: Vec<u8>,
}

#[derive(Deserialize, utoipa::IntoParams)]
pub struct ListParams {
    /// The `next` of the previous page.
    pub cursor: Option<i64>,
    /// 1–200, default 50.
    pub limit: Option<i64>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct AttachmentList {
    pub data: Vec<Attachment>,
    /// Pass as `cursor` for older attachments; absent on the last page.
    pub next: Option<i64>,
}

/// A multipart body's failure as the service sees it: a body over the limit is a 413 like a
/// file over it.
pub(super) fn read_error(err: &MultipartError, limit: u64) -> ReceiveError {
    if err.status() == StatusCode::PAYLOAD_TOO_LARGE {
        ReceiveError::TooLarge(limit)
    } else {
        ReceiveError::Body(err.body_text())
    }
}

/// Reads the parts of `multipart` up to the one named `file` and stores it for `target`.
pub(super) async fn store_file(
    state: &AppState,
    principal: &Principal,
    target: Target,
    mut multipart: Multipart,
) -> Result<Attachment, AttachmentError> {
    let storage = Storage::of(&state.config);
    let limit = storage.max_bytes;
    loop {
        let field = multipart.next_field().await.map_err(|e| AttachmentError::from(read_error(&e, limit)))?;
        let Some(field) = field else {
            return Err(AttachmentError::Invalid(FieldErrors::from([(
                "file".to_owned(),
                vec!["a file is required".to_owned()],
            )])));
        };
        if field.name() != Some("file") {
            continue;
        }
        let (file_name, content_type) = (field.file_name().map(str::to_owned), field.content_type().map(str::to_owned));
        let declared = Declared { file_name: file_name.as_deref(), content_type: content_type.as_deref() };
        let body = Box::pin(field.map_err(|e| read_error(&e, limit)));
        return service::upload(&state.db, &storage, principal, target, declared, body).await;
    }
}

async fn upload(
    state: &AppState,
    principal: &Principal,
    target: Target,
    request: Request,
) -> Result<(StatusCode, Json<Attachment>), ApiError> {
    // The record is checked before the body is read: a caller who may not attach learns
    // nothing from how their body is answered.
    service::may_attach(&state.db, principal, target).await?;
    let multipart = Multipart::from_request(request, state)
        .await
        .map_err(|rejection| ApiError::BadRequest(rejection.body_text()))?;
    Ok((StatusCode::CREATED, Json(store_file(state, principal, target, multipart).await?)))
}

async fn list(
    state: &AppState,
    principal: &Principal,
    target: Target,
    params: &ListParams,
) -> Result<Json<AttachmentList>, ApiError> {
    let limit = params.limit.unwrap_or(50);
    let (data, next) = service::attachments(&state.db, principal, target, params.cursor, limit).await?;
    Ok(Json(AttachmentList { data, next }))
}

/// A person's attachments, newest first.
#[utoipa::path(get, path = "/people/{id}/attachments", tag = "attachments", security(("bearer" = [])),
    params(("id" = i64, Path), ListParams),
    responses((status = 200, body = AttachmentList), (status = 404, body = ErrorBody)))]
async fn person_attachments(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<i64>,
    Query(params): Query<ListParams>,
) -> Result<Json<AttachmentList>, ApiError> {
    list(&state, &principal, Target::Person(id), &params).await
}

/// Attaches a file to a person (`multipart/form-data`, the file in the part `file`).
#[utoipa::path(post, path = "/people/{id}/attachments", tag = "attachments", security(("bearer" = [])),
    params(("id" = i64, Path)), request_body(content = UploadForm, content_type = "multipart/form-data"),
    responses((status = 201, body = Attachment), (status = 404, body = ErrorBody),
        (status = 413, description = "larger than `attachments.max_bytes`", body = ErrorBody),
        (status = 422, description = "the type is refused, named under `file`", body = ErrorBody)))]
async fn upload_to_person(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<i64>,
    request: Request,
) -> Result<(StatusCode, Json<Attachment>), ApiError> {
    upload(&state, &principal, Target::Person(id), request).await
}

/// A company's attachments, newest first.
#[utoipa::path(get, path = "/companies/{id}/attachments", tag = "attachments", security(("bearer" = [])),
    params(("id" = i64, Path), ListParams),
    responses((status = 200, body = AttachmentList), (status = 404, body = ErrorBody)))]
async fn company_attachments(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<i64>,
    Query(params): Query<ListParams>,
) -> Result<Json<AttachmentList>, ApiError> {
    list(&state, &principal, Target::Company(id), &params).await
}

/// Attaches a file to a company (`multipart/form-data`, the file in the part `file`).
#[utoipa::path(post, path = "/companies/{id}/attachments", tag = "attachments", security(("bearer" = [])),
    params(("id" = i64, Path)), request_body(content = UploadForm, content_type = "multipart/form-data"),
    responses((status = 201, body = Attachment), (status = 404, body = ErrorBody),
        (status = 413, description = "larger than `attachments.max_bytes`", body = ErrorBody),
        (status = 422, description = "the type is refused, named under `file`", body = ErrorBody)))]
async fn upload_to_company(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<i64>,
    request: Request,
) -> Result<(StatusCode, Json<Attachment>), ApiError> {
    upload(&state, &principal, Target::Company(id), request).await
}

/// One attachment's metadata.
#[utoipa::path(get, path = "/attachments/{id}", tag = "attachments", security(("bearer" = [])),
    params(("id" = i64, Path)), responses((status = 200, body = Attachment), (status = 404, body = ErrorBody)))]
async fn read_attachment(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<i64>,
) -> Result<Json<Attachment>, ApiError> {
    Ok(Json(service::attachment(&state.db, &principal, id).await?))
}

/// Downloads an attachment: its bytes with the stored type, always as an attachment (never
/// shown inline) and with `X-Content-Type-Options: nosniff`.
#[utoipa::path(get, path = "/attachments/{id}/content", tag = "attachments", security(("bearer" = [])),
    params(("id" = i64, Path)),
    responses((status = 200, description = "the file's bytes, with its stored content type"), (status = 404, body = ErrorBody)))]
async fn download(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<i64>,
) -> Result<Response, ApiError> {
    let (found, file) = service::open(&state.db, &state.config.data_dir, &principal, id).await?;
    let body = Body::from_stream(tokio_util::io::ReaderStream::new(file));
    let headers = [
        (
            header::CONTENT_TYPE,
            HeaderValue::from_str(&found.content_type).map_err(|e| ApiError::Internal(e.to_string()))?,
        ),
        (
            header::CONTENT_DISPOSITION,
            HeaderValue::from_str(&content_disposition(&found.file_name))
                .map_err(|e| ApiError::Internal(e.to_string()))?,
        ),
        (header::CONTENT_LENGTH, HeaderValue::from(found.size)),
        (header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")),
    ];
    Ok((headers, body).into_response())
}

/// Deletes an attachment and its file; its uploader or an admin may.
#[utoipa::path(delete, path = "/attachments/{id}", tag = "attachments", security(("bearer" = [])),
    params(("id" = i64, Path)), responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn delete_attachment(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<i64>,
) -> Result<StatusCode, ApiError> {
    service::delete(&state.db, &state.config.data_dir, &principal, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

impl From<AttachmentError> for ApiError {
    fn from(err: AttachmentError) -> Self {
        match err {
            AttachmentError::Invalid(fields) => Self::Validation(fields),
            AttachmentError::TooLarge(_) => Self::TooLarge(err.to_string()),
            AttachmentError::NotFound => Self::NotFound,
            AttachmentError::Forbidden(why) => Self::Forbidden(why),
            AttachmentError::BadUpload(why) => Self::BadRequest(why),
            AttachmentError::Storage(io) => Self::Internal(format!("attachment storage: {io}")),
            AttachmentError::Db(db) => db.into(),
        }
    }
}
