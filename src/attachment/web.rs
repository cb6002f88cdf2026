//! The attachments section of a record's page ([`Attachments`], shown through
//! `templates/attachment/section.html`) and its forms: upload (a multipart form whose first
//! field is the CSRF token) and delete, each going back to the record's page. Downloads use
//! the API's `/api/v1/attachments/{id}/content`, which a signed-in browser may fetch.

use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::post;
use serde::Deserialize;

use super::model::{Attachment, human_size};
use super::service;
use crate::activity::Target;
use crate::app::AppState;
use crate::http::auth::{SessionForm, SessionMultipart};
use crate::http::{ApiError, Pages};
use crate::identity::Principal;

/// Where a record's page posts a file.
pub const UPLOAD_PATH: &str = "/attachments/new";

pub fn router() -> Pages {
    Pages::new().route(UPLOAD_PATH, post(upload)).route("/attachments/{id}/delete", post(delete))
}

/// One row of the list.
pub struct Row {
    pub attachment: Attachment,
    pub deletable: bool,
}

/// What a record's page shows of its attachments, and what its forms post.
pub struct Attachments {
    pub target_type: &'static str,
    pub target_id: i64,
    pub rows: Vec<Row>,
    pub csrf_token: String,
    pub can_add: bool,
    /// The upload limit, as people read it.
    pub limit: String,
}

/// The attachments of `target` for its page (the newest 50).
pub async fn attachments(state: &AppState, principal: &Principal, target: Target) -> Result<Attachments, ApiError> {
    let (found, _) = service::attachments(&state.db, principal, target, None, 50).await?;
    let rows = found
        .into_iter()
        .map(|attachment| Row { deletable: service::may_delete(principal, &attachment), attachment })
        .collect();
    Ok(Attachments {
        target_type: target.entity(),
        target_id: target.id(),
        rows,
        csrf_token: crate::web::csrf_token(principal),
        can_add: principal.can(target.module(), crate::identity::Action::Create).is_some(),
        limit: human_size(i64::try_from(state.config.attachments.max_bytes).unwrap_or(i64::MAX)),
    })
}

#[derive(Deserialize)]
struct UploadTarget {
    target_type: String,
    target_id: i64,
}

async fn upload(
    State(state): State<AppState>,
    Query(to): Query<UploadTarget>,
    SessionMultipart(principal, multipart): SessionMultipart,
) -> Result<Response, ApiError> {
    let target = Target::parse(&to.target_type, to.target_id).ok_or(ApiError::NotFound)?;
    let stored = super::api::store_file(&state, &principal, target, multipart).await?;
    Ok(Redirect::to(&format!("{}#attachment-{}", target.path(), stored.id)).into_response())
}

#[derive(Deserialize)]
struct DeleteForm {
    #[serde(default)]
    csrf_token: String,
}

crate::http::auth::csrf_protected!(DeleteForm);

async fn delete(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    SessionForm(principal, _): SessionForm<DeleteForm>,
) -> Result<Response, ApiError> {
    let found = service::attachment(&state.db, &principal, id).await?;
    service::delete(&state.db, &state.config.data_dir, &principal, id).await?;
    Ok(Redirect::to(&format!("{}#attachments-heading", found.target.path())).into_response())
}
