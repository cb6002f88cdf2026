//! Workspace members as administrators see and manage them: the list (role, two-factor, when
//! they joined and were last active, whether they are active), changing a member's built-in
//! role, and deactivating or reactivating a membership. Deactivation keeps the membership (its
//! history still points at the member) but ends it at once: the member's sessions in the
//! workspace are revoked, their tokens stop working, and signing in no longer lands there.
//!
//! Owners are protected: only an owner changes an owner or makes someone one, and no change may
//! leave the workspace without an active owner. Each change is one transaction with its
//! security-log row. Invitations (`invitation`) share this module's error type.

use chrono::Utc;
use rapport_core::{FieldChange, Timestamp, UserId, WorkspaceId};
use rapport_db::{Db, DbError};
use serde_json::Value;

use super::auth::{AuthError, Principal, security_event};
use super::model::{Action, Role};
use super::{account_store, members_store as store};
use crate::audit::AuditAction;
use crate::mail::MailError;

#[derive(Debug, thiserror::Error)]
pub enum MemberError {
    #[error("{0}")]
    Forbidden(&'static str),
    #[error("not found")]
    NotFound,
    #[error("{message}")]
    Invalid { field: &'static str, message: String },
    #[error("the workspace needs an active owner: make another member owner first")]
    LastOwner,
    #[error("this invitation is invalid, has expired, was revoked or was already used")]
    LinkInvalid,
    #[error("the password is wrong")]
    WrongPassword,
    #[error("too many failed attempts; try again after {0}")]
    Throttled(Timestamp),
    #[error("password hashing failed: {0}")]
    Hashing(String),
    #[error(transparent)]
    Mail(#[from] MailError),
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<AuthError> for MemberError {
    fn from(err: AuthError) -> Self {
        match err {
            AuthError::BadCredentials => Self::WrongPassword,
            AuthError::Throttled(until) => Self::Throttled(until),
            AuthError::Db(db) => Self::Db(db),
            AuthError::NoWorkspace | AuthError::Unauthenticated => Self::LinkInvalid,
        }
    }
}

pub(super) fn require_admin(principal: &Principal) -> Result<(), MemberError> {
    principal
        .can("workspace", Action::Admin)
        .map(|_| ())
        .ok_or(MemberError::Forbidden("only owners and admins may manage members and invitations"))
}

pub struct MemberView {
    pub user_id: UserId,
    pub email: String,
    pub role: Role,
    /// A custom role held on top of the built-in one.
    pub role_id: Option<i64>,
    pub email_verified: bool,
    pub two_factor: bool,
    pub joined_at: Timestamp,
    /// The last request of any of the member's sessions in this workspace.
    pub last_active_at: Option<Timestamp>,
    pub active: bool,
}

async fn views(db: &Db, workspace: WorkspaceId, only: Option<UserId>) -> Result<Vec<MemberView>, DbError> {
    store::members(db, workspace, only)
        .await?
        .into_iter()
        .map(|row| {
            let role =
                Role::parse(&row.role).ok_or_else(|| DbError::Unavailable(format!("unknown role {}", row.role)))?;
            Ok(MemberView {
                user_id: row.user_id,
                email: row.email,
                role,
                role_id: row.role_id,
                email_verified: row.email_verified_at.is_some(),
                two_factor: row.two_factor,
                joined_at: row.joined_at,
                last_active_at: row.last_active_at,
                active: row.deactivated_at.is_none(),
            })
        })
        .collect()
}

/// Every member of the caller's workspace, oldest first (owners and admins).
pub async fn list_members(db: &Db, principal: &Principal) -> Result<Vec<MemberView>, MemberError> {
    require_admin(principal)?;
    Ok(views(db, principal.workspace_id, None).await?)
}

/// A change to a membership; absent fields stay as they are.
#[derive(Clone, Copy, Debug, Default)]
pub struct MemberPatch {
    pub role: Option<Role>,
    pub active: Option<bool>,
}

impl MemberPatch {
    pub fn parse(role: Option<&str>, active: Option<bool>) -> Result<Self, MemberError> {
        let role = role
            .map(|raw| {
                Role::parse(raw).ok_or_else(|| MemberError::Invalid {
                    field: "role",
                    message: "must be owner, admin, manager, member or viewer".into(),
                })
            })
            .transpose()?;
        Ok(Self { role, active })
    }
}

/// Changes a member's built-in role and whether they are active, refusing any change that
/// would leave the workspace without an active owner. Deactivating revokes the member's
/// sessions here in the same transaction.
pub async fn update_member(
    db: &Db,
    principal: &Principal,
    user: UserId,
    patch: MemberPatch,
    request_id: Option<&str>,
) -> Result<MemberView, MemberError> {
    require_admin(principal)?;
    let (workspace, actor, caller_role) = (principal.workspace_id, principal.actor(), principal.role);
    let request_id = request_id.map(str::to_owned);
    db.write(move |tx| {
        Box::pin(async move {
            let (role, deactivated_at) = store::membership(tx, workspace, user).await?.ok_or(MemberError::NotFound)?;
            let role = Role::parse(&role).ok_or_else(|| DbError::Unavailable(format!("unknown role {role}")))?;
            let new_role = patch.role.filter(|new| *new != role);
            let new_active = patch.active.filter(|active| *active != deactivated_at.is_none());
            let changes_owner = role == Role::Owner || new_role == Some(Role::Owner);
            if caller_role != Role::Owner && changes_owner && (new_role.is_some() || new_active.is_some()) {
                return Err(MemberError::Forbidden("only an owner may change an owner or make someone one"));
            }
            let (target, request_id) = (("member", user.get()), request_id.as_deref());
            if let Some(new) = new_role {
                store::set_role(tx, workspace, user, new.as_str()).await?;
                let changes: Vec<_> =
                    FieldChange::between("role", role.as_str().into(), new.as_str().into()).into_iter().collect();
                security_event(tx, workspace, &actor, request_id, target, AuditAction::RoleChanged, &changes).await?;
            }
            if let Some(active) = new_active {
                let now = Utc::now();
                store::set_deactivated(tx, workspace, user, (!active).then_some(now)).await?;
                let (action, changes) = if active {
                    (AuditAction::MemberReactivated, Vec::new())
                } else {
                    let revoked = account_store::revoke_sessions(tx, workspace, user, None, None, now).await?;
                    let changes = FieldChange::between("sessions_revoked", Value::Null, revoked.into());
                    (AuditAction::MemberDeactivated, changes.into_iter().collect())
                };
                security_event(tx, workspace, &actor, request_id, target, action, &changes).await?;
            }
            if store::active_owners(tx, workspace).await? == 0 {
                return Err(MemberError::LastOwner);
            }
            Ok(())
        })
    })
    .await?;
    views(db, workspace, Some(user)).await?.pop().ok_or(MemberError::NotFound)
}
