//! The roles page: the built-in roles' fixed sets, custom roles with their grants (created and
//! edited here), assigning a custom role to a member, teams, and the field-level rules editor
//! (fields entered by key). Owners and admins only; every form carries the CSRF token.

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use rapport_core::Email;
use serde::Deserialize;

use super::model::{FieldRule, Name, RoleSummary};
use super::service::{self, AccessError};
use crate::app::AppState;
use crate::http::Pages;
use crate::http::auth::{CsrfProtected, SessionForm};
use crate::http::{ApiError, RequestId};
use crate::identity::{Action, Grant, Permissions, Principal, Role};
use crate::web::{Layout, render};

pub fn router() -> Pages {
    Pages::new()
        .route("/roles", get(show))
        .route("/roles/create", post(create))
        .route("/roles/grants", post(update_grants))
        .route("/roles/assign", post(assign))
        .route("/roles/teams", post(add_team_member))
        .route("/roles/fields", post(set_field))
}

impl From<AccessError> for ApiError {
    fn from(err: AccessError) -> Self {
        match err {
            AccessError::Forbidden => Self::Forbidden(err.to_string()),
            AccessError::NameTaken => Self::field("name", err.to_string()),
            AccessError::NotFound => Self::NotFound,
            AccessError::Db(db) => db.into(),
        }
    }
}

impl From<super::ForbiddenField> for ApiError {
    fn from(err: super::ForbiddenField) -> Self {
        Self::Denied { code: "field_read_only", message: err.to_string() }
    }
}

struct BuiltinRole {
    name: &'static str,
    summary: String,
}

#[derive(Template)]
#[template(path = "roles.html")]
struct RolesPage {
    layout: Layout,
    csrf_token: String,
    builtin: Vec<BuiltinRole>,
    custom: Vec<RoleSummary>,
}

impl RolesPage {
    fn grants_text(&self, role: &RoleSummary) -> String {
        role.grants.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n")
    }
}

/// One line per built-in role: the reach of each action, the same for every module.
fn builtin_summary(role: Role) -> String {
    let permissions = Permissions::Builtin(role);
    let allowed: Vec<String> = Action::ALL
        .into_iter()
        .filter_map(|action| permissions.reach("people", action).map(|r| format!("{} {}", action.as_str(), r.as_str())))
        .collect();
    allowed.join(", ")
}

fn require_admin(principal: &Principal) -> Result<(), ApiError> {
    principal.can("workspace", Action::Admin).map(|_| ()).ok_or_else(|| AccessError::Forbidden.into())
}

async fn show(State(state): State<AppState>, principal: Principal) -> Result<Response, ApiError> {
    require_admin(&principal)?;
    let csrf_token = crate::web::csrf_token(&principal);
    let builtin = Role::ALL.into_iter().map(|role| BuiltinRole { name: role.as_str(), summary: builtin_summary(role) });
    let page = RolesPage {
        layout: Layout::for_caller("Roles and permissions", &principal),
        csrf_token,
        builtin: builtin.collect(),
        custom: service::roles(&state.db, principal.workspace_id).await?,
    };
    Ok(render(StatusCode::OK, &page))
}

fn done() -> Response {
    Redirect::to("/roles").into_response()
}

/// One grant per line (or comma-separated): `MODULE:ACTION:REACH`.
fn parse_grants(raw: &str) -> Result<Vec<Grant>, ApiError> {
    raw.split([',', '\n'])
        .filter(|line| !line.trim().is_empty())
        .map(Grant::parse)
        .collect::<Result<_, _>>()
        .map_err(|message| ApiError::field("grants", message))
}

async fn member(state: &AppState, principal: &Principal, email: &str) -> Result<rapport_core::UserId, ApiError> {
    let email = Email::parse(email).map_err(|e| ApiError::field("email", e.to_string()))?;
    crate::identity::member_by_email(&state.db, principal.workspace_id, &email)
        .await?
        .ok_or_else(|| ApiError::field("email", "is not a member of this workspace"))
}

macro_rules! csrf_form {
    ($name:ident { $($field:ident: $ty:ty),* $(,)? }) => {
        #[derive(Deserialize)]
        struct $name {
            csrf_token: String,
            $($field: $ty),*
        }

        impl CsrfProtected for $name {
            fn csrf_token(&self) -> &str {
                &self.csrf_token
            }
        }
    };
}

csrf_form!(CreateForm { name: String, grants: String });
csrf_form!(GrantsForm { role_id: i64, grants: String });
csrf_form!(AssignForm { email: String, role_id: String });
csrf_form!(TeamForm { team: String, email: String });
csrf_form!(FieldForm { role: String, object: String, field: String, access: String });

async fn create(
    State(state): State<AppState>,
    request_id: RequestId,
    SessionForm(principal, form): SessionForm<CreateForm>,
) -> Result<Response, ApiError> {
    let name = Name::parse(&form.name).map_err(|message| ApiError::field("name", message))?;
    let grants = parse_grants(&form.grants)?;
    service::create_role(&state.db, &principal, name, grants, request_id.as_deref()).await?;
    Ok(done())
}

async fn update_grants(
    State(state): State<AppState>,
    request_id: RequestId,
    SessionForm(principal, form): SessionForm<GrantsForm>,
) -> Result<Response, ApiError> {
    let grants = parse_grants(&form.grants)?;
    service::set_grants(&state.db, &principal, form.role_id, grants, request_id.as_deref()).await?;
    Ok(done())
}

async fn assign(
    State(state): State<AppState>,
    request_id: RequestId,
    SessionForm(principal, form): SessionForm<AssignForm>,
) -> Result<Response, ApiError> {
    require_admin(&principal)?;
    let user = member(&state, &principal, &form.email).await?;
    let role = match form.role_id.trim() {
        "" => None,
        raw => Some(raw.parse().map_err(|_| ApiError::field("role_id", "is not a role"))?),
    };
    service::assign_role(&state.db, &principal, user, role, request_id.as_deref()).await?;
    Ok(done())
}

/// Adds a member to a team, creating the team on first use.
async fn add_team_member(
    State(state): State<AppState>,
    request_id: RequestId,
    SessionForm(principal, form): SessionForm<TeamForm>,
) -> Result<Response, ApiError> {
    require_admin(&principal)?;
    let user = member(&state, &principal, &form.email).await?;
    let name = Name::parse(&form.team).map_err(|message| ApiError::field("team", message))?;
    let team = service::team_by_name(&state.db, &principal, name, request_id.as_deref()).await?;
    service::add_to_team(&state.db, &principal, team, user, request_id.as_deref()).await?;
    Ok(done())
}

async fn set_field(
    State(state): State<AppState>,
    request_id: RequestId,
    SessionForm(principal, form): SessionForm<FieldForm>,
) -> Result<Response, ApiError> {
    let rule = match form.access.as_str() {
        "visible" => None,
        raw => Some(
            FieldRule::parse(raw).ok_or_else(|| ApiError::field("access", "is not hidden, read_only or visible"))?,
        ),
    };
    let key = |name: &str, raw: &str| {
        let raw = raw.trim();
        let valid =
            !raw.is_empty() && raw.len() <= 100 && raw.chars().all(|c| c.is_ascii_alphanumeric() || "_.:".contains(c));
        valid.then(|| raw.to_owned()).ok_or_else(|| ApiError::field(name, "must be a key of letters, digits, _ . or :"))
    };
    let (role, object, field) = (key("role", &form.role)?, key("object", &form.object)?, key("field", &form.field)?);
    service::set_field_rule(&state.db, &principal, (&role, &object, &field), rule, request_id.as_deref()).await?;
    Ok(done())
}
