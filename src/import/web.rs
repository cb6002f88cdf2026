//! Import pages: `/imports` lists the caller's imports with an upload form; `/imports/{id}`
//! shows a draft's first rows beside a mapping form (a field per column, suggested from the
//! headers; mode, match, date format, what to do with possible duplicates, a template name)
//! with "Dry run" and "Import" buttons, a run's progress (refreshing itself, with a cancel
//! button), and a finished import's counts, its refused rows and possible duplicates, its error
//! report and an undo button. Permission and state are the service's to decide, as for
//! the API.

use std::collections::BTreeMap;

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;

use super::api::{ImportView, view};
use super::model::{Column, DuplicatePolicy, Duplicates, MatchOn, Mode, Object, Status};
use super::service::{self, StartRequest};
use crate::app::AppState;
use crate::http::auth::{ButtonForm, SessionForm, SessionMultipart};
use crate::http::{ApiError, Pages, RequestId};
use crate::identity::Principal;
use crate::web::{Layout, csrf_token, render};

/// Where the upload form posts; its body may be as large as `imports.max_bytes`.
pub const UPLOAD_PATH: &str = "/imports";

/// Rows of the file shown above the mapping form.
const PREVIEW_ROWS: usize = 10;
/// Refused rows and possible duplicates shown on the page; the error report has them all.
const SHOWN_REJECTIONS: i64 = 20;

pub fn router() -> Pages {
    Pages::new()
        .route(UPLOAD_PATH, get(list).post(upload))
        .route("/imports/{id}", get(page))
        .route("/imports/{id}/start", post(start))
        .route("/imports/{id}/cancel", post(cancel))
        .route("/imports/{id}/undo", post(undo))
        .route("/imports/{id}/errors.csv", get(errors))
}

#[derive(Template)]
#[template(path = "import/list.html")]
struct ListPage {
    layout: Layout,
    csrf_token: String,
    imports: Vec<ImportView>,
}

async fn list(State(state): State<AppState>, principal: Principal) -> Result<Response, ApiError> {
    let imports = service::recent(&state.db, &principal, 50).await?;
    let page = ListPage {
        layout: Layout::for_caller("Imports".to_owned(), &principal),
        csrf_token: csrf_token(&principal),
        imports: imports.iter().map(view).collect(),
    };
    Ok(render(StatusCode::OK, &page))
}

async fn upload(
    State(state): State<AppState>,
    SessionMultipart(principal, multipart): SessionMultipart,
) -> Result<Response, ApiError> {
    let import = super::api::receive(&state, &principal, multipart).await?;
    Ok(Redirect::to(&format!("/imports/{}", import.id)).into_response())
}

/// One column of the mapping form: its header, sample values, and the field chosen.
struct MappedColumn {
    index: usize,
    header: String,
    samples: String,
    field: String,
}

#[derive(Template)]
#[template(path = "import/page.html")]
struct ImportPage {
    layout: Layout,
    csrf_token: String,
    import: ImportView,
    /// The mapping form is offered: a draft, or a finished dry run.
    editable: bool,
    running: bool,
    undoable: bool,
    percent: i64,
    columns: Vec<MappedColumn>,
    preview: Vec<Vec<String>>,
    /// Field key and label: the vocabulary, then the custom fields.
    fields: Vec<(String, String)>,
    templates: Vec<String>,
    rejections: Vec<super::model::Rejection>,
    /// Rows created with a possible-duplicate warning: the row, the duplicate's id when they
    /// exist, and the warning.
    duplicates: Vec<(i64, Option<i64>, String)>,
    /// What went wrong with the last form, shown above it.
    problems: Vec<String>,
}

async fn page(State(state): State<AppState>, principal: Principal, Path(id): Path<i64>) -> Result<Response, ApiError> {
    render_page(&state, &principal, id, Vec::new(), StatusCode::OK).await
}

async fn render_page(
    state: &AppState,
    principal: &Principal,
    id: i64,
    problems: Vec<String>,
    status: StatusCode,
) -> Result<Response, ApiError> {
    let import = service::get(&state.db, principal, id).await?;
    let editable = import.status == Status::Draft || (import.dry_run && !import.status.is_active());
    let (columns, preview) = if editable {
        let (_, rows) = service::preview(&state.db, &state.config.data_dir, principal, id, PREVIEW_ROWS).await?;
        let columns = import
            .headers
            .iter()
            .enumerate()
            .map(|(index, header)| MappedColumn {
                index,
                header: header.clone(),
                samples: rows
                    .iter()
                    .filter_map(|row| row.cells.get(index))
                    .filter(|cell| !cell.trim().is_empty())
                    .take(3)
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(" · "),
                field: import
                    .settings
                    .mapping
                    .iter()
                    .find(|c| c.column == *header)
                    .and_then(|c| c.field.clone())
                    .unwrap_or_default(),
            })
            .collect();
        (columns, rows.into_iter().map(|row| row.cells).collect())
    } else {
        (Vec::new(), Vec::new())
    };
    let custom = crate::field::definitions(&state.db, principal.workspace_id, crate::field::Object::Person).await?;
    let fields = import
        .object
        .vocabulary()
        .iter()
        .map(|def| (def.key.to_owned(), def.label.to_owned()))
        .chain(custom.iter().filter(|d| d.active()).map(|d| (d.key.clone(), d.label.clone())))
        .collect();
    let templates =
        service::templates(&state.db, principal, import.object).await?.into_iter().map(|(n, _)| n).collect();
    let rejections = service::rejected_rows(&state.db, principal, id, (0, SHOWN_REJECTIONS))
        .await?
        .into_iter()
        .map(|(_, line)| line)
        .collect();
    let duplicates = service::duplicate_warnings(&state.db, principal, id, SHOWN_REJECTIONS)
        .await?
        .into_iter()
        .map(|warning| {
            let person = match warning.of {
                super::model::DuplicateOf::Person(id) => Some(id),
                super::model::DuplicateOf::Row(_) => None,
            };
            (warning.row, person, warning.message())
        })
        .collect();
    let running = import.status.is_active();
    let percent =
        if import.estimated_rows > 0 { (import.rows_done() * 100 / import.estimated_rows).clamp(0, 100) } else { 100 };
    let page = ImportPage {
        layout: Layout::for_caller(format!("Import {id}"), principal),
        csrf_token: csrf_token(principal),
        editable,
        running,
        undoable: import.undoable(),
        percent: if import.status == Status::Done { 100 } else { percent },
        columns,
        preview,
        fields,
        templates,
        rejections,
        duplicates,
        problems,
        import: view(&import),
    };
    Ok(render(status, &page))
}

#[derive(Deserialize, Default)]
struct StartForm {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    mode: String,
    #[serde(default)]
    r#match: String,
    #[serde(default)]
    date_format: String,
    #[serde(default)]
    template: String,
    /// `off`, `flag` or `skip`.
    #[serde(default)]
    duplicates: String,
    #[serde(default)]
    duplicate_threshold: String,
    /// `dry_run` or `import`: the button pressed.
    #[serde(default)]
    run: String,
    /// Each column's field, named `map.INDEX`: a field key, `+KEY` to create a text custom
    /// field, or empty.
    #[serde(flatten)]
    map: BTreeMap<String, String>,
}

crate::http::auth::csrf_protected!(StartForm);

/// The mapping a form asks for: every column of the file, in order.
fn mapping(headers: &[String], form: &StartForm) -> Vec<Column> {
    headers
        .iter()
        .enumerate()
        .map(|(index, header)| {
            let chosen = form.map.get(&format!("map.{index}")).map(|f| f.trim()).unwrap_or_default();
            match chosen.strip_prefix('+') {
                Some(key) => Column { column: header.clone(), field: Some(key.trim().to_owned()), create: true },
                None => Column {
                    column: header.clone(),
                    field: Some(chosen.to_owned()).filter(|f| !f.is_empty()),
                    create: false,
                },
            }
        })
        .collect()
}

async fn start(
    State(state): State<AppState>,
    request_id: RequestId,
    Path(id): Path<i64>,
    SessionForm(principal, form): SessionForm<StartForm>,
) -> Result<Response, ApiError> {
    let import = service::get(&state.db, &principal, id).await?;
    let policy = DuplicatePolicy::parse(&form.duplicates).unwrap_or_default();
    let threshold = match form.duplicate_threshold.trim() {
        "" => Ok(None),
        raw => raw.parse::<f64>().map(Some),
    };
    let Some(duplicates) = threshold.ok().and_then(|threshold| Duplicates::new(policy, threshold).ok()) else {
        let problem = "the duplicate threshold must be a probability between 0 and 1".to_owned();
        return render_page(&state, &principal, id, vec![problem], StatusCode::UNPROCESSABLE_ENTITY).await;
    };
    let request = StartRequest {
        mapping: Some(mapping(&import.headers, &form)),
        mode: Mode::parse(&form.mode).unwrap_or_default(),
        match_on: MatchOn::parse(&form.r#match).unwrap_or_default(),
        date_format: Some(form.date_format.clone()).filter(|f| !f.trim().is_empty()),
        dry_run: form.run == "dry_run",
        template: Some(form.template.clone()).filter(|t| !t.trim().is_empty()),
        duplicates,
    };
    match service::start(&state.db, &state.config.data_dir, &principal, id, request, request_id.as_deref()).await {
        Ok(_) => {
            state.waker.wake();
            Ok(Redirect::to(&format!("/imports/{id}")).into_response())
        }
        Err(service::ImportError::Invalid(fields)) => {
            let problems = fields.into_values().flatten().collect();
            render_page(&state, &principal, id, problems, StatusCode::UNPROCESSABLE_ENTITY).await
        }
        Err(err) => Err(err.into()),
    }
}

async fn cancel(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    SessionForm(principal, _): SessionForm<ButtonForm>,
) -> Result<Response, ApiError> {
    service::cancel(&state.db, &principal, id).await?;
    Ok(Redirect::to(&format!("/imports/{id}")).into_response())
}

async fn undo(
    State(state): State<AppState>,
    request_id: RequestId,
    Path(id): Path<i64>,
    SessionForm(principal, _): SessionForm<ButtonForm>,
) -> Result<Response, ApiError> {
    service::undo(&state.db, &principal, id, request_id.as_deref()).await?;
    state.waker.wake();
    Ok(Redirect::to(&format!("/imports/{id}")).into_response())
}

async fn errors(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<i64>,
) -> Result<Response, ApiError> {
    let report = service::error_report(&state.db, &principal, id).await?;
    Ok(super::api::report_response(id, report))
}

impl ImportPage {
    fn object_title(&self) -> &'static str {
        Object::parse(self.import.object).map_or("Records", Object::title)
    }
}
