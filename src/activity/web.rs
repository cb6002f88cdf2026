//! Activity pages and forms: the caller's tasks at `/tasks`, and the forms a record's page uses
//! to add a note or a task and to complete a task, each going back to where it was posted from.
//! Record pages show their activities through [`Activities`].

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;

use super::model::{Note, Target, Task, TaskInput};
use super::service::{self, ActivityError};
use crate::app::AppState;
use crate::http::auth::SessionForm;
use crate::http::{ApiError, Pages};
use crate::identity::Principal;
use crate::web::{Layout, render};

pub fn router() -> Pages {
    Pages::new()
        .route("/tasks", get(my_tasks))
        .route("/notes/new", post(add_note))
        .route("/tasks/new", post(add_task))
        .route("/tasks/{id}/done", post(complete))
}

/// What a record's page shows of its activities, and the data its forms post.
pub struct Activities {
    pub target_type: &'static str,
    pub target_id: i64,
    pub notes: Vec<Note>,
    pub tasks: Vec<Task>,
    /// Empty for callers who may not add activities.
    pub csrf_token: String,
    pub can_add: bool,
}

/// The activities of `target` for its page.
pub async fn activities(state: &AppState, principal: &Principal, target: Target) -> Result<Activities, ApiError> {
    let (notes, _) = service::notes(&state.db, principal, target, None, 20).await?;
    let tasks = service::tasks(&state.db, principal, Some(target), false).await?;
    Ok(Activities {
        target_type: target.entity(),
        target_id: target.id(),
        notes,
        tasks,
        csrf_token: crate::web::csrf_token(principal),
        can_add: principal.can(target.module(), crate::identity::Action::Create).is_some(),
    })
}

#[derive(Deserialize)]
struct NoteForm {
    #[serde(default)]
    csrf_token: String,
    target_type: String,
    target_id: i64,
    #[serde(default)]
    body: String,
}

#[derive(Deserialize)]
struct TaskForm {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    target_type: String,
    target_id: Option<i64>,
    #[serde(default)]
    title: String,
    /// From a `datetime-local` input: the browser's local wall time, read as UTC.
    #[serde(default)]
    due_at: String,
}

#[derive(Deserialize)]
struct DoneForm {
    #[serde(default)]
    csrf_token: String,
    /// Where to go back to.
    #[serde(default)]
    back: String,
}

crate::http::auth::csrf_protected!(NoteForm, TaskForm, DoneForm);

/// A form error goes back to the page as a 422 naming the field, with nothing saved.
fn refused(err: ActivityError) -> Result<Response, ApiError> {
    match err {
        ActivityError::Invalid(fields) => Err(ApiError::Validation(fields)),
        other => Err(other.into()),
    }
}

async fn add_note(
    State(state): State<AppState>,
    SessionForm(principal, form): SessionForm<NoteForm>,
) -> Result<Response, ApiError> {
    let target = Target::parse(&form.target_type, form.target_id).ok_or(ApiError::NotFound)?;
    match service::add_note(&state.db, &principal, target, &form.body).await {
        Ok(note) => Ok(Redirect::to(&format!("{}#note-{}", target.path(), note.id)).into_response()),
        Err(err) => refused(err),
    }
}

async fn add_task(
    State(state): State<AppState>,
    SessionForm(principal, form): SessionForm<TaskForm>,
) -> Result<Response, ApiError> {
    let target = form.target_id.and_then(|id| Target::parse(&form.target_type, id));
    let due = form.due_at.trim();
    let input = TaskInput {
        title: Some(form.title.clone()),
        due_at: (!due.is_empty()).then(|| Some(if due.len() == 16 { format!("{due}:00Z") } else { format!("{due}Z") })),
        assignee: Some(Some(principal.user_id.get())),
        ..TaskInput::default()
    };
    match service::create_task(&state.db, &principal, target, &input).await {
        Ok(_) => Ok(Redirect::to(&target.map_or_else(|| "/tasks".to_owned(), Target::path)).into_response()),
        Err(err) => refused(err),
    }
}

async fn complete(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    SessionForm(principal, form): SessionForm<DoneForm>,
) -> Result<Response, ApiError> {
    let input = TaskInput { done: Some(true), ..TaskInput::default() };
    service::update_task(&state.db, &principal, id, &input).await?;
    // Only paths of this site: an absolute URL here would make the form an open redirect.
    let back = if form.back.starts_with('/') && !form.back.starts_with("//") { form.back.as_str() } else { "/tasks" };
    Ok(Redirect::to(back).into_response())
}

#[derive(Template)]
#[template(path = "tasks.html")]
struct TasksPage {
    layout: Layout,
    tasks: Vec<Task>,
    csrf_token: String,
}

async fn my_tasks(State(state): State<AppState>, principal: Principal) -> Result<Response, ApiError> {
    let tasks = service::tasks(&state.db, &principal, None, false).await?;
    let page = TasksPage {
        layout: Layout::for_caller("My tasks", &principal),
        tasks,
        csrf_token: crate::web::csrf_token(&principal),
    };
    Ok(render(StatusCode::OK, &page))
}
