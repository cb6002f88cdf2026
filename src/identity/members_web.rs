//! The members page (`/members`, owners and admins): the member table with per-member role,
//! deactivate or reactivate and "sign out everywhere", the invite form and pending invitations
//! with resend and revoke. Also the public page an invitation link opens. Handlers parse the
//! form, call one function of `members`, `invitation` or `account`, and render or redirect.

use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use rapport_core::UserId;
use serde::Deserialize;

use super::account_web::Plain;
use super::invitation::{self, InvitationPreview, InvitationView, NewInvitation};
use super::members::{self, MemberError, MemberPatch, MemberView};
use super::web::{client_info, signed_in};
use super::{Principal, Role};
use crate::access::RoleSummary;
use crate::app::AppState;
use crate::http::auth::SessionForm;
use crate::http::ratelimit::{self, ClientIp};
use crate::http::{ApiError, Pages, RequestId};
use crate::web::{Layout, render};

pub fn router() -> Pages {
    Pages::new()
        .route("/members", get(show))
        .route("/members/invite", post(invite))
        .route("/members/{user_id}/role", post(change_role))
        .route("/members/{user_id}/deactivate", post(deactivate))
        .route("/members/{user_id}/reactivate", post(reactivate))
        .route("/members/{user_id}/sign-out", post(sign_out))
        .route("/invitations/{id}/resend", post(resend))
        .route("/invitations/{id}/revoke", post(revoke))
        .route("/invitations/accept", get(show_accept).post(accept))
}

#[derive(Template)]
#[template(path = "members.html")]
struct MembersPage {
    layout: Layout,
    csrf_token: String,
    me: UserId,
    members: Vec<MemberView>,
    invitations: Vec<InvitationView>,
    roles: Vec<&'static str>,
    custom_roles: Vec<RoleSummary>,
    error: Option<String>,
}

async fn page(
    state: &AppState,
    principal: &Principal,
    status: StatusCode,
    error: Option<String>,
) -> Result<Response, ApiError> {
    let members = members::list_members(&state.db, principal).await?;
    let page = MembersPage {
        layout: Layout::for_caller("Members", principal),
        csrf_token: crate::web::csrf_token(principal),
        me: principal.user_id,
        members,
        invitations: invitation::list_invitations(&state.db, principal).await?,
        roles: Role::ALL
            .iter()
            .filter(|role| **role != Role::Owner || principal.role == Role::Owner)
            .map(|r| r.as_str())
            .collect(),
        custom_roles: crate::access::roles(&state.db, principal.workspace_id).await?,
        error,
    };
    Ok(render(status, &page))
}

async fn show(State(state): State<AppState>, principal: Principal) -> Result<Response, ApiError> {
    page(&state, &principal, StatusCode::OK, None).await
}

/// Back to the list after a change, or the list again with the reason a change was refused.
async fn outcome<T>(
    state: &AppState,
    principal: &Principal,
    result: Result<T, MemberError>,
) -> Result<Response, ApiError> {
    match result {
        Ok(_) => Ok(Redirect::to("/members").into_response()),
        Err(err @ MemberError::Invalid { .. }) => {
            page(state, principal, StatusCode::UNPROCESSABLE_ENTITY, Some(err.to_string())).await
        }
        Err(err @ MemberError::LastOwner) => page(state, principal, StatusCode::CONFLICT, Some(err.to_string())).await,
        Err(other) => Err(other.into()),
    }
}

#[derive(Deserialize)]
struct InviteForm {
    csrf_token: String,
    email: String,
    role: String,
    #[serde(default)]
    role_id: String,
}

async fn invite(
    State(state): State<AppState>,
    request_id: RequestId,
    SessionForm(principal, form): SessionForm<InviteForm>,
) -> Result<Response, ApiError> {
    let role_id = match form.role_id.trim() {
        "" => Ok(None),
        raw => {
            raw.parse().map(Some).map_err(|_| MemberError::Invalid { field: "role_id", message: "not a role".into() })
        }
    };
    let result = match role_id.and_then(|role_id| NewInvitation::parse(&form.email, &form.role, role_id)) {
        Ok(new) => {
            let public_url = state.config.public_url();
            invitation::invite(&state.db, &principal, new, &public_url, request_id.as_deref()).await
        }
        Err(err) => Err(err),
    };
    state.waker.wake();
    let result = result.map_err(|err| match err {
        MemberError::Invalid { field, message } => {
            MemberError::Invalid { field, message: format!("{field}: {message}") }
        }
        other => other,
    });
    outcome(&state, &principal, result).await
}

#[derive(Deserialize)]
struct RoleForm {
    csrf_token: String,
    role: String,
    /// The custom role on top of the built-in one (empty for none); absent when the workspace
    /// has no custom roles, so the form leaves the assignment alone.
    role_id: Option<String>,
}

/// The custom role a form names: `None` to leave it, `Some(None)` to remove it.
fn custom_role(raw: Option<&str>) -> Result<Option<Option<i64>>, MemberError> {
    match raw.map(str::trim) {
        None => Ok(None),
        Some("") => Ok(Some(None)),
        Some(raw) => raw
            .parse()
            .map(|id| Some(Some(id)))
            .map_err(|_| MemberError::Invalid { field: "role_id", message: "not a role".into() }),
    }
}

async fn change_role(
    State(state): State<AppState>,
    request_id: RequestId,
    Path(user_id): Path<i64>,
    SessionForm(principal, form): SessionForm<RoleForm>,
) -> Result<Response, ApiError> {
    let user = UserId::new(user_id);
    let parsed =
        MemberPatch::parse(Some(&form.role), None).and_then(|patch| Ok((patch, custom_role(form.role_id.as_deref())?)));
    let result = match parsed {
        Ok((patch, custom)) => {
            match members::update_member(&state.db, &principal, user, patch, request_id.as_deref()).await {
                Ok(_) if custom.is_some() => {
                    let role = custom.flatten();
                    match crate::access::assign_role(&state.db, &principal, user, role, request_id.as_deref()).await {
                        Ok(()) => Ok(()),
                        Err(crate::access::AccessError::NotFound) => {
                            Err(MemberError::Invalid { field: "role_id", message: "no such custom role".into() })
                        }
                        Err(crate::access::AccessError::Db(err)) => Err(MemberError::Db(err)),
                        Err(_) => Err(MemberError::Forbidden("only owners and admins may change roles")),
                    }
                }
                other => other.map(drop),
            }
        }
        Err(err) => Err(err),
    };
    outcome(&state, &principal, result).await
}

async fn set_active(
    state: &AppState,
    principal: &Principal,
    user_id: i64,
    active: bool,
    request_id: &RequestId,
) -> Result<Response, ApiError> {
    let patch = MemberPatch { role: None, active: Some(active) };
    let result = members::update_member(&state.db, principal, UserId::new(user_id), patch, request_id.as_deref()).await;
    outcome(state, principal, result).await
}

async fn deactivate(
    State(state): State<AppState>,
    request_id: RequestId,
    Path(user_id): Path<i64>,
    SessionForm(principal, _form): SessionForm<Plain>,
) -> Result<Response, ApiError> {
    set_active(&state, &principal, user_id, false, &request_id).await
}

async fn reactivate(
    State(state): State<AppState>,
    request_id: RequestId,
    Path(user_id): Path<i64>,
    SessionForm(principal, _form): SessionForm<Plain>,
) -> Result<Response, ApiError> {
    set_active(&state, &principal, user_id, true, &request_id).await
}

async fn sign_out(
    State(state): State<AppState>,
    Path(user_id): Path<i64>,
    SessionForm(principal, _form): SessionForm<Plain>,
) -> Result<Response, ApiError> {
    super::account::revoke_member_sessions(&state.db, &principal, UserId::new(user_id)).await?;
    Ok(Redirect::to("/members").into_response())
}

async fn resend(
    State(state): State<AppState>,
    request_id: RequestId,
    Path(id): Path<i64>,
    SessionForm(principal, _form): SessionForm<Plain>,
) -> Result<Response, ApiError> {
    let public_url = state.config.public_url();
    let result = invitation::resend(&state.db, &principal, id, &public_url, request_id.as_deref()).await;
    state.waker.wake();
    outcome(&state, &principal, result).await
}

async fn revoke(
    State(state): State<AppState>,
    request_id: RequestId,
    Path(id): Path<i64>,
    SessionForm(principal, _form): SessionForm<Plain>,
) -> Result<Response, ApiError> {
    let result = invitation::revoke(&state.db, &principal, id, request_id.as_deref()).await;
    outcome(&state, &principal, result).await
}

#[derive(Template)]
#[template(path = "invitation_accept.html")]
struct AcceptPage {
    layout: Layout,
    token: String,
    invitation: Option<InvitationPreview>,
    error: Option<String>,
}

fn accept_page(
    status: StatusCode,
    token: String,
    invitation: Option<InvitationPreview>,
    error: Option<String>,
) -> Response {
    render(status, &AcceptPage { layout: Layout::new("Invitation"), token, invitation, error })
}

#[derive(Deserialize)]
struct TokenQuery {
    #[serde(default)]
    token: String,
}

async fn show_accept(State(state): State<AppState>, Query(query): Query<TokenQuery>) -> Result<Response, ApiError> {
    Ok(match invitation::preview(&state.db, &query.token).await? {
        Some(preview) => accept_page(StatusCode::OK, query.token, Some(preview), None),
        None => accept_page(StatusCode::GONE, String::new(), None, None),
    })
}

#[derive(Deserialize)]
struct AcceptForm {
    #[serde(default)]
    token: String,
    #[serde(default)]
    password: String,
}

async fn accept(
    State(state): State<AppState>,
    client_ip: ClientIp,
    request_id: RequestId,
    headers: HeaderMap,
    Form(form): Form<AcceptForm>,
) -> Result<Response, ApiError> {
    crate::web::require_same_origin(&headers)?;
    ratelimit::check(&state.db, ratelimit::LOGIN, client_ip.0).await?;
    let client = client_info(&headers, client_ip, request_id);
    let (status, error) = match invitation::accept(&state.db, &form.token, &form.password, client).await {
        Ok(session) => {
            let Some(session) = session else { return Ok(Redirect::to("/login").into_response()) };
            return Ok(signed_in(&state, &session, "/"));
        }
        Err(MemberError::LinkInvalid) => return Ok(accept_page(StatusCode::GONE, String::new(), None, None)),
        Err(MemberError::WrongPassword) => (StatusCode::UNAUTHORIZED, "The password is wrong.".to_owned()),
        Err(MemberError::Invalid { message, .. }) => {
            (StatusCode::UNPROCESSABLE_ENTITY, format!("The password {message}."))
        }
        Err(err @ MemberError::Throttled(_)) => (StatusCode::TOO_MANY_REQUESTS, format!("{err}.")),
        Err(other) => return Err(other.into()),
    };
    let preview = invitation::preview(&state.db, &form.token).await?;
    Ok(accept_page(status, form.token, preview, Some(error)))
}

csrf_protected!(InviteForm, RoleForm);
