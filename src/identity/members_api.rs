//! The JSON side of members and invitations, for owners and admins: list members, change a
//! member's role or deactivate them, and list, create, resend and revoke invitations. Anyone
//! else gets 403 `forbidden`; an id of another workspace answers like an unknown one (404).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use rapport_core::{Timestamp, UserId};
use serde::{Deserialize, Serialize};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::invitation::{self, InvitationView, NewInvitation};
use super::members::{self, MemberError, MemberPatch, MemberView};
use super::{Principal, Role};
use crate::app::AppState;
use crate::http::{ApiError, RequestId};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_members))
        .routes(routes!(update_member))
        .routes(routes!(list_invitations, create_invitation))
        .routes(routes!(revoke_invitation))
        .routes(routes!(resend_invitation))
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Member {
    pub user_id: i64,
    pub email: String,
    pub role: Role,
    /// A custom role held on top of the built-in one.
    pub role_id: Option<i64>,
    pub email_verified: bool,
    pub two_factor: bool,
    /// RFC 3339.
    #[schema(value_type = String)]
    pub joined_at: Timestamp,
    /// The last request of any of the member's sessions here.
    #[schema(value_type = Option<String>)]
    pub last_active_at: Option<Timestamp>,
    /// False once deactivated: their sessions and tokens no longer work here.
    pub active: bool,
}

impl From<MemberView> for Member {
    fn from(view: MemberView) -> Self {
        Self {
            user_id: view.user_id.get(),
            email: view.email,
            role: view.role,
            role_id: view.role_id,
            email_verified: view.email_verified,
            two_factor: view.two_factor,
            joined_at: view.joined_at,
            last_active_at: view.last_active_at,
            active: view.active,
        }
    }
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct MemberList {
    pub members: Vec<Member>,
}

/// The workspace's members, oldest first.
#[utoipa::path(
    get,
    path = "/members",
    tag = "members",
    security(("bearer" = [])),
    responses((status = 200, body = MemberList), (status = 403, body = crate::http::ErrorBody))
)]
async fn list_members(State(state): State<AppState>, principal: Principal) -> Result<Json<MemberList>, ApiError> {
    let members = members::list_members(&state.db, &principal).await?;
    Ok(Json(MemberList { members: members.into_iter().map(Member::from).collect() }))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct UpdateMember {
    /// A built-in role: owner, admin, manager, member or viewer. Only an owner changes an owner
    /// or makes someone one.
    pub role: Option<String>,
    /// False deactivates the membership (signing the member out at once); true reactivates it.
    pub active: Option<bool>,
}

/// Changes a member's built-in role or whether they are active. A change that would leave the
/// workspace without an active owner is refused with 409 `last_owner`.
#[utoipa::path(
    patch,
    path = "/members/{user_id}",
    tag = "members",
    security(("bearer" = [])),
    params(("user_id" = i64, Path)),
    request_body = UpdateMember,
    responses(
        (status = 200, body = Member),
        (status = 403, body = crate::http::ErrorBody),
        (status = 404, body = crate::http::ErrorBody),
        (status = 409, body = crate::http::ErrorBody),
        (status = 422, body = crate::http::ErrorBody)
    )
)]
async fn update_member(
    State(state): State<AppState>,
    principal: Principal,
    request_id: RequestId,
    Path(user_id): Path<i64>,
    Json(body): Json<UpdateMember>,
) -> Result<Json<Member>, ApiError> {
    let patch = MemberPatch::parse(body.role.as_deref(), body.active)?;
    let member =
        members::update_member(&state.db, &principal, UserId::new(user_id), patch, request_id.as_deref()).await?;
    Ok(Json(member.into()))
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Invitation {
    pub id: i64,
    pub email: String,
    pub role: Role,
    pub role_id: Option<i64>,
    /// The inviter's email.
    pub invited_by: Option<String>,
    /// RFC 3339.
    #[schema(value_type = String)]
    pub created_at: Timestamp,
    #[schema(value_type = String)]
    pub expires_at: Timestamp,
    /// The link no longer works; resend to send a new one.
    pub expired: bool,
}

impl From<InvitationView> for Invitation {
    fn from(view: InvitationView) -> Self {
        Self {
            id: view.id,
            email: view.email,
            role: view.role,
            role_id: view.role_id,
            invited_by: view.invited_by,
            created_at: view.created_at,
            expires_at: view.expires_at,
            expired: view.expired,
        }
    }
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct InvitationList {
    pub invitations: Vec<Invitation>,
}

/// The workspace's pending invitations, newest first.
#[utoipa::path(
    get,
    path = "/invitations",
    tag = "members",
    security(("bearer" = [])),
    responses((status = 200, body = InvitationList), (status = 403, body = crate::http::ErrorBody))
)]
async fn list_invitations(
    State(state): State<AppState>,
    principal: Principal,
) -> Result<Json<InvitationList>, ApiError> {
    let invitations = invitation::list_invitations(&state.db, &principal).await?;
    Ok(Json(InvitationList { invitations: invitations.into_iter().map(Invitation::from).collect() }))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct CreateInvitation {
    pub email: String,
    /// A built-in role: owner (owners only), admin, manager, member or viewer.
    pub role: String,
    /// A custom role of this workspace to hold on top of the built-in one.
    pub role_id: Option<i64>,
}

/// Invites an address: it is emailed a link that works once, for 7 days. An address that is
/// already a member is refused (422 on `email`); a pending invitation of the same address is
/// replaced.
#[utoipa::path(
    post,
    path = "/invitations",
    tag = "members",
    security(("bearer" = [])),
    request_body = CreateInvitation,
    responses(
        (status = 201, body = Invitation),
        (status = 403, body = crate::http::ErrorBody),
        (status = 422, body = crate::http::ErrorBody)
    )
)]
async fn create_invitation(
    State(state): State<AppState>,
    principal: Principal,
    request_id: RequestId,
    Json(body): Json<CreateInvitation>,
) -> Result<(StatusCode, Json<Invitation>), ApiError> {
    let new = NewInvitation::parse(&body.email, &body.role, body.role_id)?;
    let public_url = state.config.public_url();
    let created = invitation::invite(&state.db, &principal, new, &public_url, request_id.as_deref()).await?;
    state.waker.wake();
    Ok((StatusCode::CREATED, Json(created.into())))
}

/// Revokes a pending invitation; its link stops working.
#[utoipa::path(
    delete,
    path = "/invitations/{id}",
    tag = "members",
    security(("bearer" = [])),
    params(("id" = i64, Path)),
    responses(
        (status = 204),
        (status = 403, body = crate::http::ErrorBody),
        (status = 404, body = crate::http::ErrorBody)
    )
)]
async fn revoke_invitation(
    State(state): State<AppState>,
    principal: Principal,
    request_id: RequestId,
    Path(id): Path<i64>,
) -> Result<StatusCode, ApiError> {
    invitation::revoke(&state.db, &principal, id, request_id.as_deref()).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Emails a pending invitation again with a new link and a new 7-day expiry; the old link
/// stops working.
#[utoipa::path(
    post,
    path = "/invitations/{id}/resend",
    tag = "members",
    security(("bearer" = [])),
    params(("id" = i64, Path)),
    responses(
        (status = 200, body = Invitation),
        (status = 403, body = crate::http::ErrorBody),
        (status = 404, body = crate::http::ErrorBody)
    )
)]
async fn resend_invitation(
    State(state): State<AppState>,
    principal: Principal,
    request_id: RequestId,
    Path(id): Path<i64>,
) -> Result<Json<Invitation>, ApiError> {
    let public_url = state.config.public_url();
    let resent = invitation::resend(&state.db, &principal, id, &public_url, request_id.as_deref()).await?;
    state.waker.wake();
    Ok(Json(resent.into()))
}

impl From<MemberError> for ApiError {
    fn from(err: MemberError) -> Self {
        match err {
            MemberError::Forbidden(message) => Self::Forbidden(message.into()),
            MemberError::NotFound => Self::NotFound,
            MemberError::Invalid { field, message } => Self::field(field, message),
            MemberError::LastOwner => Self::Conflict { code: "last_owner", message: err.to_string() },
            MemberError::LinkInvalid => Self::Conflict { code: "link_invalid", message: err.to_string() },
            MemberError::WrongPassword => Self::field("password", err.to_string()),
            MemberError::Throttled(until) => {
                Self::RateLimited { retry_after_secs: (until - chrono::Utc::now()).num_seconds().max(1) }
            }
            MemberError::Hashing(detail) => Self::Internal(detail),
            MemberError::Mail(mail) => Self::Internal(mail.to_string()),
            MemberError::Db(db) => db.into(),
        }
    }
}
