//! A person's tracked behaviour in the JSON API: `GET /api/v1/people/{id}/activity` (first and
//! last seen, events by type and name, spend per currency, top categories) and
//! `GET /api/v1/people/{id}/events` (their events newest first, each in words). The person must
//! be readable by the caller, as for every other read of them.

use axum::Json;
use axum::extract::{Path, Query, State};
use rapport_core::PersonId;
use serde::{Deserialize, Serialize};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::profile::{self, Activity, PersonEvent};
use crate::app::AppState;
use crate::http::{ApiError, ErrorBody};
use crate::identity::Principal;
use crate::order::Spend;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(activity)).routes(routes!(events))
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct PersonActivity {
    /// Absent until an event of theirs is resolved, or when the role may not read events.
    pub activity: Option<Activity>,
    /// Per currency; empty when the role may not read orders.
    pub spend: Vec<Spend>,
    /// Top categories by items bought.
    #[schema(value_type = Vec<Vec<Object>>)]
    pub categories: Vec<(String, i64)>,
}

/// What a person did and bought, in numbers kept current as events arrive.
#[utoipa::path(get, path = "/people/{id}/activity", tag = "people", security(("bearer" = [])),
    params(("id" = i64, Path)), responses((status = 200, body = PersonActivity), (status = 404, body = ErrorBody)))]
async fn activity(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<PersonId>,
) -> Result<Json<PersonActivity>, ApiError> {
    let person = crate::person::get(&state.db, &principal, id).await?;
    let workspace = principal.workspace_id;
    let activity = if principal.may("events", false) {
        profile::activity_of(&state.db, workspace, person.id).await?
    } else {
        None
    };
    let (spend, categories) = if principal.may("orders", false) {
        crate::order::spend_of(&state.db, workspace, person.id).await?
    } else {
        Default::default()
    };
    Ok(Json(PersonActivity { activity, spend, categories }))
}

#[derive(Deserialize, utoipa::IntoParams)]
pub struct EventsParams {
    /// The `next` of the previous page.
    pub cursor: Option<String>,
    /// At most 200; default 50.
    pub limit: Option<i64>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct PersonEvents {
    pub data: Vec<PersonEvent>,
    /// Pass as `cursor` for older events; absent on the last page.
    pub next: Option<String>,
}

/// A person's events, newest first, each in words.
#[utoipa::path(get, path = "/people/{id}/events", tag = "people", security(("bearer" = [])),
    params(("id" = i64, Path), EventsParams),
    responses((status = 200, body = PersonEvents), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn events(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<PersonId>,
    Query(params): Query<EventsParams>,
) -> Result<Json<PersonEvents>, ApiError> {
    let person = crate::person::get(&state.db, &principal, id).await?;
    if !principal.may("events", false) {
        return Err(ApiError::Forbidden("this needs access to events".into()));
    }
    let cursor = match params.cursor.as_deref() {
        Some(raw) => Some(
            crate::profile::parse_time_cursor(raw)
                .ok_or_else(|| ApiError::field("cursor", "is not a cursor of this list"))?,
        ),
        None => None,
    };
    let (data, next) =
        profile::events_of(&state.db, principal.workspace_id, person.id, cursor, params.limit.unwrap_or(50)).await?;
    Ok(Json(PersonEvents { data, next: next.map(crate::profile::time_cursor) }))
}
