//! The workspace's settings over JSON: `GET /api/v1/workspace` for every member,
//! `PATCH /api/v1/workspace` for owners and admins.

use axum::Json;
use axum::extract::State;
use serde::Serialize;
use serde_json::Value;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::WorkspaceSettings;
use crate::app::AppState;
use crate::http::{ApiError, ErrorBody};
use crate::identity::Principal;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(read, update))
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct SettingsView {
    pub id: i64,
    pub name: String,
    /// ISO 4217, e.g. `EUR`.
    pub default_currency: String,
    /// IANA, e.g. `Europe/Paris`: relative dates ("in the last 30 days") are read in it.
    pub time_zone: String,
    /// BCP 47, e.g. `fr-FR`.
    pub locale: String,
    /// ISO 3166-1 alpha-2: national phone numbers are read as this country's.
    pub country: String,
}

fn view(principal: &Principal, settings: &WorkspaceSettings) -> SettingsView {
    SettingsView {
        id: principal.workspace_id.get(),
        name: settings.name.as_str().to_owned(),
        default_currency: settings.default_currency.as_str().to_owned(),
        time_zone: settings.time_zone.name().to_owned(),
        locale: settings.locale.as_str().to_owned(),
        country: settings.country.as_str().to_owned(),
    }
}

/// The caller's workspace and its settings.
#[utoipa::path(get, path = "/workspace", tag = "workspace", security(("bearer" = [])),
    responses((status = 200, body = SettingsView), (status = 401, body = ErrorBody)))]
async fn read(State(state): State<AppState>, principal: Principal) -> Result<Json<SettingsView>, ApiError> {
    if !principal.may("workspace", false) {
        return Err(ApiError::Forbidden("reading the workspace needs the workspace scope".into()));
    }
    let settings = super::settings(&state.db, principal.workspace_id).await?;
    Ok(Json(view(&principal, &settings)))
}

/// Changes some settings; every invalid one is named in a 422 and nothing changes.
#[utoipa::path(patch, path = "/workspace", tag = "workspace", security(("bearer" = [])),
    request_body(content = Object, description = "Any of name, default_currency, time_zone, locale, country"),
    responses((status = 200, body = SettingsView), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn update(
    State(state): State<AppState>,
    principal: Principal,
    Json(patch): Json<Value>,
) -> Result<Json<SettingsView>, ApiError> {
    let Value::Object(patch) = patch else {
        return Err(ApiError::field("body", "must be a JSON object"));
    };
    if !principal.may("workspace", true) {
        return Err(ApiError::Forbidden("changing the workspace needs write access to it".into()));
    }
    let settings = super::update_settings(&state.db, &principal, &patch).await?;
    Ok(Json(view(&principal, &settings)))
}
