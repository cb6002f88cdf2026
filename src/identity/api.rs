//! Identity's JSON API: who the caller is.

use axum::Json;
use axum::extract::State;
use serde::Serialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{Credential, Principal, Role};
use crate::app::AppState;
use crate::http::ApiError;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(me))
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Me {
    pub user: MeUser,
    pub workspace: MeWorkspace,
    pub role: Role,
    /// The token used for this call; absent for browser sessions.
    pub token: Option<MeToken>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct MeUser {
    pub id: i64,
    pub email: String,
    /// The user opened a verification link sent to this address, or accepted an invitation
    /// sent to it.
    pub email_verified: bool,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct MeWorkspace {
    pub id: i64,
    pub name: String,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct MeToken {
    pub id: i64,
    pub name: String,
    /// `all`, or `MODULE:read` / `MODULE:write`.
    pub scopes: Vec<String>,
}

/// The caller: user, workspace, role and token scopes.
#[utoipa::path(
    get,
    path = "/me",
    tag = "identity",
    security(("bearer" = [])),
    responses((status = 200, body = Me), (status = 401, body = crate::http::ErrorBody))
)]
async fn me(State(state): State<AppState>, principal: Principal) -> Result<Json<Me>, ApiError> {
    let email_verified = super::verify::is_verified(&state.db, principal.user_id).await?;
    let token = match &principal.credential {
        Credential::Token { id, name, scopes } => {
            Some(MeToken { id: *id, name: name.clone(), scopes: scopes.iter().cloned().map(String::from).collect() })
        }
        Credential::Session { .. } => None,
    };
    Ok(Json(Me {
        user: MeUser { id: principal.user_id.get(), email: principal.email.clone(), email_verified },
        workspace: MeWorkspace { id: principal.workspace_id.get(), name: principal.workspace_name.clone() },
        role: principal.role,
        token,
    }))
}
