//! The JSON API of notes and tasks: a record's notes and tasks under its own path
//! (`/api/v1/people/{id}/notes`, `/api/v1/companies/{id}/tasks` …), each activity under
//! `/api/v1/notes/{id}` and `/api/v1/tasks/{id}`, and the caller's own tasks at `/api/v1/tasks`.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::model::{Note, Target, Task, TaskInput};
use super::service::{self, ActivityError};
use crate::app::AppState;
use crate::http::{ApiError, ErrorBody};
use crate::identity::Principal;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(person_notes, add_person_note))
        .routes(routes!(company_notes, add_company_note))
        .routes(routes!(read_note, edit_note, delete_note))
        .routes(routes!(person_tasks, add_person_task))
        .routes(routes!(company_tasks, add_company_task))
        .routes(routes!(my_tasks, add_task))
        .routes(routes!(read_task, update_task, delete_task))
}

#[derive(Deserialize, utoipa::IntoParams)]
pub struct NotesParams {
    /// The `next` of the previous page.
    pub cursor: Option<i64>,
    /// 1–200, default 50.
    pub limit: Option<i64>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct NoteList {
    pub data: Vec<Note>,
    /// Pass as `cursor` for older notes; absent on the last page.
    pub next: Option<i64>,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NoteInput {
    /// HTML or plain text; reduced to paragraphs, emphasis, lists, quotes, code, headings and
    /// links. At most 100 KB.
    pub body: String,
}

async fn list_notes(
    state: &AppState,
    principal: &Principal,
    target: Target,
    params: &NotesParams,
) -> Result<Json<NoteList>, ApiError> {
    let (data, next) = service::notes(&state.db, principal, target, params.cursor, params.limit.unwrap_or(50)).await?;
    Ok(Json(NoteList { data, next }))
}

async fn add_note(
    state: &AppState,
    principal: &Principal,
    target: Target,
    input: &NoteInput,
) -> Result<(StatusCode, Json<Note>), ApiError> {
    Ok((StatusCode::CREATED, Json(service::add_note(&state.db, principal, target, &input.body).await?)))
}

/// A person's notes, newest first.
#[utoipa::path(get, path = "/people/{id}/notes", tag = "activities", security(("bearer" = [])),
    params(("id" = i64, Path), NotesParams), responses((status = 200, body = NoteList), (status = 404, body = ErrorBody)))]
async fn person_notes(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<i64>,
    Query(params): Query<NotesParams>,
) -> Result<Json<NoteList>, ApiError> {
    list_notes(&state, &principal, Target::Person(id), &params).await
}

/// Adds a note to a person.
#[utoipa::path(post, path = "/people/{id}/notes", tag = "activities", security(("bearer" = [])),
    params(("id" = i64, Path)), request_body = NoteInput,
    responses((status = 201, body = Note), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn add_person_note(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<i64>,
    Json(input): Json<NoteInput>,
) -> Result<(StatusCode, Json<Note>), ApiError> {
    add_note(&state, &principal, Target::Person(id), &input).await
}

/// A company's notes, newest first.
#[utoipa::path(get, path = "/companies/{id}/notes", tag = "activities", security(("bearer" = [])),
    params(("id" = i64, Path), NotesParams), responses((status = 200, body = NoteList), (status = 404, body = ErrorBody)))]
async fn company_notes(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<i64>,
    Query(params): Query<NotesParams>,
) -> Result<Json<NoteList>, ApiError> {
    list_notes(&state, &principal, Target::Company(id), &params).await
}

/// Adds a note to a company.
#[utoipa::path(post, path = "/companies/{id}/notes", tag = "activities", security(("bearer" = [])),
    params(("id" = i64, Path)), request_body = NoteInput,
    responses((status = 201, body = Note), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn add_company_note(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<i64>,
    Json(input): Json<NoteInput>,
) -> Result<(StatusCode, Json<Note>), ApiError> {
    add_note(&state, &principal, Target::Company(id), &input).await
}

/// One note.
#[utoipa::path(get, path = "/notes/{id}", tag = "activities", security(("bearer" = [])),
    params(("id" = i64, Path)), responses((status = 200, body = Note), (status = 404, body = ErrorBody)))]
async fn read_note(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<i64>,
) -> Result<Json<Note>, ApiError> {
    Ok(Json(service::note(&state.db, &principal, id).await?))
}

/// Replaces a note's body; its author or an admin may.
#[utoipa::path(patch, path = "/notes/{id}", tag = "activities", security(("bearer" = [])),
    params(("id" = i64, Path)), request_body = NoteInput,
    responses((status = 200, body = Note), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn edit_note(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<i64>,
    Json(input): Json<NoteInput>,
) -> Result<Json<Note>, ApiError> {
    Ok(Json(service::edit_note(&state.db, &principal, id, &input.body).await?))
}

/// Deletes a note; its author or an admin may.
#[utoipa::path(delete, path = "/notes/{id}", tag = "activities", security(("bearer" = [])),
    params(("id" = i64, Path)), responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn delete_note(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<i64>,
) -> Result<StatusCode, ApiError> {
    service::delete_note(&state.db, &principal, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, utoipa::IntoParams)]
pub struct TasksParams {
    /// `true` leaves done tasks out.
    #[serde(default)]
    pub open: bool,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct TaskList {
    /// Open tasks by due time (those without one last), then done ones; at most 200.
    pub data: Vec<Task>,
}

async fn list_tasks(
    state: &AppState,
    principal: &Principal,
    target: Option<Target>,
    open: bool,
) -> Result<Json<TaskList>, ApiError> {
    Ok(Json(TaskList { data: service::tasks(&state.db, principal, target, open).await? }))
}

async fn add(
    state: &AppState,
    principal: &Principal,
    target: Option<Target>,
    input: &TaskInput,
) -> Result<(StatusCode, Json<Task>), ApiError> {
    Ok((StatusCode::CREATED, Json(service::create_task(&state.db, principal, target, input).await?)))
}

/// A person's tasks.
#[utoipa::path(get, path = "/people/{id}/tasks", tag = "activities", security(("bearer" = [])),
    params(("id" = i64, Path), TasksParams), responses((status = 200, body = TaskList), (status = 404, body = ErrorBody)))]
async fn person_tasks(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<i64>,
    Query(params): Query<TasksParams>,
) -> Result<Json<TaskList>, ApiError> {
    list_tasks(&state, &principal, Some(Target::Person(id)), params.open).await
}

/// Adds a task about a person. With `remind_at`, the assignee is emailed at that time.
#[utoipa::path(post, path = "/people/{id}/tasks", tag = "activities", security(("bearer" = [])),
    params(("id" = i64, Path)), request_body = TaskInput,
    responses((status = 201, body = Task), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn add_person_task(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<i64>,
    Json(input): Json<TaskInput>,
) -> Result<(StatusCode, Json<Task>), ApiError> {
    add(&state, &principal, Some(Target::Person(id)), &input).await
}

/// A company's tasks.
#[utoipa::path(get, path = "/companies/{id}/tasks", tag = "activities", security(("bearer" = [])),
    params(("id" = i64, Path), TasksParams), responses((status = 200, body = TaskList), (status = 404, body = ErrorBody)))]
async fn company_tasks(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<i64>,
    Query(params): Query<TasksParams>,
) -> Result<Json<TaskList>, ApiError> {
    list_tasks(&state, &principal, Some(Target::Company(id)), params.open).await
}

/// Adds a task about a company.
#[utoipa::path(post, path = "/companies/{id}/tasks", tag = "activities", security(("bearer" = [])),
    params(("id" = i64, Path)), request_body = TaskInput,
    responses((status = 201, body = Task), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn add_company_task(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<i64>,
    Json(input): Json<TaskInput>,
) -> Result<(StatusCode, Json<Task>), ApiError> {
    add(&state, &principal, Some(Target::Company(id)), &input).await
}

/// The tasks assigned to the caller.
#[utoipa::path(get, path = "/tasks", tag = "activities", security(("bearer" = [])),
    params(TasksParams), responses((status = 200, body = TaskList)))]
async fn my_tasks(
    State(state): State<AppState>,
    principal: Principal,
    Query(params): Query<TasksParams>,
) -> Result<Json<TaskList>, ApiError> {
    list_tasks(&state, &principal, None, params.open).await
}

/// Adds a task about no record in particular.
#[utoipa::path(post, path = "/tasks", tag = "activities", security(("bearer" = [])),
    request_body = TaskInput, responses((status = 201, body = Task), (status = 422, body = ErrorBody)))]
async fn add_task(
    State(state): State<AppState>,
    principal: Principal,
    Json(input): Json<TaskInput>,
) -> Result<(StatusCode, Json<Task>), ApiError> {
    add(&state, &principal, None, &input).await
}

/// One task.
#[utoipa::path(get, path = "/tasks/{id}", tag = "activities", security(("bearer" = [])),
    params(("id" = i64, Path)), responses((status = 200, body = Task), (status = 404, body = ErrorBody)))]
async fn read_task(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<i64>,
) -> Result<Json<Task>, ApiError> {
    Ok(Json(service::task(&state.db, &principal, id).await?))
}

/// Changes a task (absent keys stay, `null` clears; `"done": true` completes it); its creator,
/// its assignee or an admin may.
#[utoipa::path(patch, path = "/tasks/{id}", tag = "activities", security(("bearer" = [])),
    params(("id" = i64, Path)), request_body = TaskInput,
    responses((status = 200, body = Task), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn update_task(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<i64>,
    Json(input): Json<TaskInput>,
) -> Result<Json<Task>, ApiError> {
    Ok(Json(service::update_task(&state.db, &principal, id, &input).await?))
}

/// Deletes a task; its creator, its assignee or an admin may.
#[utoipa::path(delete, path = "/tasks/{id}", tag = "activities", security(("bearer" = [])),
    params(("id" = i64, Path)), responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn delete_task(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<i64>,
) -> Result<StatusCode, ApiError> {
    service::delete_task(&state.db, &principal, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

impl From<ActivityError> for ApiError {
    fn from(err: ActivityError) -> Self {
        match err {
            ActivityError::Invalid(fields) => Self::Validation(fields),
            ActivityError::NotFound => Self::NotFound,
            ActivityError::Forbidden(why) => Self::Forbidden(why),
            ActivityError::Db(db) => db.into(),
        }
    }
}
