//! Bulk action pages: the action bar a list page includes ([`Bar`], `templates/bulk/bar.html`),
//! the form it posts to `/people/bulk` (the ticked rows, or everything matching the list's
//! filter), and `/bulk/{id}`, the job's progress with its first failures and a cancel button,
//! refreshing itself while the job runs. Permission and reach are the service's to decide, as
//! for the API.

use std::collections::BTreeMap;

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::Value;

use super::api::{BulkView, view};
use super::model::{BulkRequest, NewBulk, Object, Status};
use super::service;
use crate::access::FieldAccess;
use crate::app::AppState;
use crate::field::CustomField;
use crate::http::auth::{ButtonForm, SessionForm};
use crate::http::{ApiError, Pages, RequestId};
use crate::identity::{Action, Principal};
use crate::web::{Layout, csrf_token, render};

pub fn router() -> Pages {
    Pages::new()
        .route("/people/bulk", post(people))
        .route("/companies/bulk", post(companies))
        .route("/bulk/{id}", get(progress))
        .route("/bulk/{id}/cancel", post(cancel))
}

/// The prefix of the row checkboxes' names: `id.17`.
const ROW: &str = "id.";

/// What a list page's action bar needs: where it posts, the list's filter and count, what the
/// caller may do, and the fields a "set field" may name.
pub struct Bar {
    pub target: &'static str,
    pub csrf_token: String,
    /// The list's filter tree as JSON (empty: everything).
    pub filter: String,
    /// The list's count, as shown.
    pub count: String,
    /// Field key and label: the single-valued vocabulary fields and custom fields the caller
    /// may write.
    pub fields: Vec<(String, String)>,
    pub may_update: bool,
    pub may_delete: bool,
    pub may_export: bool,
}

impl Bar {
    /// The bar of `object`'s list for the caller, with the list's filter and count, or `None`
    /// when they may act on none of its records, so the page shows no checkboxes.
    pub fn of(
        principal: &Principal,
        object: Object,
        (access, custom): (&FieldAccess, &[CustomField]),
        (filter, count): (Option<&Value>, String),
    ) -> Option<Self> {
        use crate::profile::FieldKind;
        let module = object.as_str();
        let may = |action| principal.can(module, action).is_some();
        let (update, delete, export) = (may(Action::Update), may(Action::Delete), may(Action::Export));
        if !(update || delete || export) {
            return None;
        }
        let single =
            |kind: FieldKind| !matches!(kind, FieldKind::Labelled | FieldKind::Tags | FieldKind::Map | FieldKind::User);
        let writable = |key: &str| access.check_write([key]).is_ok();
        let fields = object
            .vocabulary()
            .iter()
            .filter(|def| single(def.kind) && writable(def.key))
            .map(|def| (def.key.to_owned(), def.label.to_owned()))
            .chain(
                custom
                    .iter()
                    .filter(|def| def.active() && writable(&def.key))
                    .map(|def| (def.key.clone(), def.label.clone())),
            )
            .collect();
        Some(Self {
            target: match object {
                Object::People => "/people/bulk",
                Object::Companies => "/companies/bulk",
            },
            csrf_token: csrf_token(principal),
            filter: filter.map(Value::to_string).unwrap_or_default(),
            count,
            fields: if update { fields } else { Vec::new() },
            may_update: update,
            may_delete: delete,
            may_export: export,
        })
    }

    /// The form's id, which the row checkboxes name with their `form` attribute.
    pub fn form_id(&self) -> &'static str {
        "bulk-form"
    }

    pub fn row_name(&self, id: impl std::fmt::Display) -> String {
        format!("{ROW}{id}")
    }
}

#[derive(Deserialize, Default)]
struct BulkForm {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    action: String,
    #[serde(default)]
    value: String,
    #[serde(default)]
    field: String,
    /// `matching` acts on everything matching `filter`; otherwise on the ticked rows.
    #[serde(default)]
    scope: String,
    #[serde(default)]
    filter: String,
    /// The ticked rows, named `id.ID`.
    #[serde(flatten)]
    rows: BTreeMap<String, String>,
}

crate::http::auth::csrf_protected!(BulkForm);

impl BulkForm {
    fn request(&self) -> Result<BulkRequest, ApiError> {
        let (ids, filter) = if self.scope == "matching" {
            let tree = match self.filter.trim() {
                "" => Value::Object(serde_json::Map::new()),
                raw => serde_json::from_str(raw).map_err(|_| ApiError::field("filter", "is not a filter tree"))?,
            };
            (None, Some(tree))
        } else {
            let ids: Vec<i64> =
                self.rows.keys().filter_map(|key| key.strip_prefix(ROW)).filter_map(|id| id.parse().ok()).collect();
            if ids.is_empty() {
                return Err(ApiError::field("ids", "tick at least one row, or choose everything matching"));
            }
            (Some(ids), None)
        };
        let field = Some(self.field.trim().to_owned()).filter(|_| self.action == "set_field");
        Ok(BulkRequest { action: self.action.clone(), value: Value::from(self.value.trim()), field, ids, filter })
    }
}

async fn submit(
    state: &AppState,
    request_id: &RequestId,
    (principal, form): (Principal, BulkForm),
    object: Object,
) -> Result<Response, ApiError> {
    let new = NewBulk::parse(object, &form.request()?).map_err(ApiError::Validation)?;
    let job = service::request(&state.db, &principal, new, request_id.as_deref()).await?;
    state.waker.wake();
    Ok(Redirect::to(&format!("/bulk/{}", job.id)).into_response())
}

async fn people(
    State(state): State<AppState>,
    request_id: RequestId,
    SessionForm(principal, form): SessionForm<BulkForm>,
) -> Result<Response, ApiError> {
    submit(&state, &request_id, (principal, form), Object::People).await
}

async fn companies(
    State(state): State<AppState>,
    request_id: RequestId,
    SessionForm(principal, form): SessionForm<BulkForm>,
) -> Result<Response, ApiError> {
    submit(&state, &request_id, (principal, form), Object::Companies).await
}

#[derive(Template)]
#[template(path = "bulk/progress.html")]
struct ProgressPage {
    layout: Layout,
    csrf_token: String,
    job: BulkView,
    /// Where the records are listed again.
    back: &'static str,
    /// The job still runs: the page reloads itself, and offers to cancel.
    running: bool,
    /// Done and failed out of the total, 0 to 100.
    percent: i64,
}

async fn progress(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<i64>,
) -> Result<Response, ApiError> {
    let job = service::get(&state.db, &principal, id).await?;
    let running = !job.status.is_finished();
    let percent = if job.total > 0 { ((job.done + job.failed) * 100 / job.total).clamp(0, 100) } else { 100 };
    let page = ProgressPage {
        layout: Layout::for_caller(format!("Bulk action {id}"), &principal),
        csrf_token: csrf_token(&principal),
        back: match job.object {
            Object::People => "/people",
            Object::Companies => "/companies",
        },
        running,
        percent: if job.status == Status::Done { 100 } else { percent },
        job: view(&job),
    };
    Ok(render(StatusCode::OK, &page))
}

async fn cancel(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    SessionForm(principal, _): SessionForm<ButtonForm>,
) -> Result<Response, ApiError> {
    service::cancel(&state.db, &principal, id).await?;
    Ok(Redirect::to(&format!("/bulk/{id}")).into_response())
}
