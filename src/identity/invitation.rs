//! Invitations: an owner or admin invites an email address to the workspace with a built-in
//! role (and optionally a custom role). The emailed link carries a random token naming the
//! workspace (only its SHA-256 is stored) and works once, for [`INVITATION_VALID`]. Resending
//! gives the invitation a new token, so the old link is dead; revoking kills it; inviting the
//! same address again replaces a pending invitation.
//!
//! Accepting creates the account (a new password, under the same policy as everywhere) or, when
//! the address already has one, asks for its password; either way the member joins with the
//! invited role, their address counts as verified, and a session starts in the workspace (unless
//! the account has two-factor on: then they sign in normally). Creating, resending, revoking and
//! accepting each write a security-log row in the same transaction.

use askama::Template;
use chrono::{Duration, Utc};
use rapport_core::{Actor, Email, FieldChange, Timestamp, UserId, WorkspaceId};
use rapport_db::{Db, DbError, Tx};
use serde_json::Value;

use super::auth::{self, ClientInfo, NewSession, Principal, security_event};
use super::members::{MemberError, require_admin};
use super::model::{Password, Role};
use super::{invitation_store as store, members_store, secret};
use crate::audit::AuditAction;
use crate::mail::{self, Message};

/// How long an invitation link works.
pub const INVITATION_VALID: Duration = Duration::days(7);
const TOKEN_PREFIX: &str = "rpi";

/// An invitation as typed: the address and the role to join with.
pub struct NewInvitation {
    pub email: Email,
    pub role: Role,
    pub role_id: Option<i64>,
}

impl NewInvitation {
    pub fn parse(email: &str, role: &str, role_id: Option<i64>) -> Result<Self, MemberError> {
        let email = Email::parse(email.trim())
            .map_err(|err| MemberError::Invalid { field: "email", message: err.to_string() })?;
        let role = Role::parse(role).ok_or_else(|| MemberError::Invalid {
            field: "role",
            message: "must be owner, admin, manager, member or viewer".into(),
        })?;
        Ok(Self { email, role, role_id })
    }
}

pub struct InvitationView {
    pub id: i64,
    pub email: String,
    pub role: Role,
    pub role_id: Option<i64>,
    pub invited_by: Option<String>,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
    pub expired: bool,
}

async fn views(db: &Db, workspace: WorkspaceId, only: Option<i64>) -> Result<Vec<InvitationView>, DbError> {
    let now = Utc::now();
    store::pending(db, workspace, only)
        .await?
        .into_iter()
        .map(|row| {
            let role =
                Role::parse(&row.role).ok_or_else(|| DbError::Unavailable(format!("unknown role {}", row.role)))?;
            Ok(InvitationView {
                id: row.id,
                email: row.email,
                role,
                role_id: row.role_id,
                invited_by: row.inviter_email,
                created_at: row.created_at,
                expires_at: row.expires_at,
                expired: row.expires_at <= now,
            })
        })
        .collect()
}

/// The workspace's pending invitations, newest first (owners and admins).
pub async fn list_invitations(db: &Db, principal: &Principal) -> Result<Vec<InvitationView>, MemberError> {
    require_admin(principal)?;
    Ok(views(db, principal.workspace_id, None).await?)
}

#[derive(Template)]
#[template(path = "mail/invitation.txt")]
struct InvitationText<'a> {
    workspace: &'a str,
    inviter: &'a str,
    role: &'a str,
    link: &'a str,
    days: i64,
}

#[derive(Template)]
#[template(path = "mail/invitation.html")]
struct InvitationHtml<'a> {
    workspace: &'a str,
    inviter: &'a str,
    role: &'a str,
    link: &'a str,
    days: i64,
}

/// A fresh link for an invitation to `to` from `principal`: the token and the message
/// carrying it.
fn invitation_mail(
    principal: &Principal,
    to: &Email,
    role: Role,
    public_url: &str,
) -> Result<(String, Message), MemberError> {
    let token =
        secret::generate(TOKEN_PREFIX, principal.workspace_id).map_err(|e| DbError::Unavailable(e.to_string()))?;
    let link = secret::emailed_link(public_url, "/invitations/accept", &token);
    let (workspace, inviter, role, days) =
        (principal.workspace_name.as_str(), principal.email.as_str(), role.as_str(), INVITATION_VALID.num_days());
    let message = Message::render(
        to,
        format!("{inviter} invites you to {workspace} on Rapport"),
        &InvitationText { workspace, inviter, role, link: &link, days },
        &InvitationHtml { workspace, inviter, role, link: &link, days },
    )?;
    Ok((token, message))
}

/// Invites an address and emails it the link. Refuses an address that is already a member,
/// a custom role the workspace does not have, and (for admins) the owner role.
pub async fn invite(
    db: &Db,
    principal: &Principal,
    new: NewInvitation,
    public_url: &str,
    request_id: Option<&str>,
) -> Result<InvitationView, MemberError> {
    require_admin(principal)?;
    if new.role == Role::Owner && principal.role != Role::Owner {
        return Err(MemberError::Forbidden("only an owner may invite an owner"));
    }
    let workspace = principal.workspace_id;
    if super::store::user_id_by_email(db, workspace, &new.email.canonical()).await?.is_some() {
        return Err(MemberError::Invalid { field: "email", message: "already a member".into() });
    }
    if let Some(role_id) = new.role_id
        && !crate::access::roles(db, workspace).await?.iter().any(|role| role.id == role_id)
    {
        return Err(MemberError::Invalid { field: "role_id", message: "no such role in this workspace".into() });
    }
    let (token, message) = invitation_mail(principal, &new.email, new.role, public_url)?;
    let (actor, invited_by, request_id) = (principal.actor(), principal.user_id, request_id.map(str::to_owned));
    let id = db
        .write(move |tx| {
            Box::pin(async move {
                let now = Utc::now();
                let canonical = new.email.canonical();
                store::revoke_pending_for(tx, workspace, &canonical, now).await?;
                let id = store::insert_invitation(
                    tx,
                    &store::NewInvitation {
                        workspace,
                        email: new.email.as_str(),
                        email_canonical: &canonical,
                        role: new.role.as_str(),
                        role_id: new.role_id,
                        token_hash: &secret::hash(&token),
                        invited_by,
                        now,
                        expires_at: now + INVITATION_VALID,
                    },
                )
                .await?;
                mail::enqueue(tx, &message).await?;
                let changes: Vec<_> = [
                    FieldChange::between("email", Value::Null, new.email.as_str().into()),
                    FieldChange::between("role", Value::Null, new.role.as_str().into()),
                    FieldChange::between("role_id", Value::Null, new.role_id.into()),
                ]
                .into_iter()
                .flatten()
                .collect();
                let target = ("invitation", id);
                security_event(
                    tx,
                    workspace,
                    &actor,
                    request_id.as_deref(),
                    target,
                    AuditAction::InvitationCreated,
                    &changes,
                )
                .await?;
                Ok::<_, MemberError>(id)
            })
        })
        .await?;
    one(db, workspace, id).await
}

async fn one(db: &Db, workspace: WorkspaceId, id: i64) -> Result<InvitationView, MemberError> {
    views(db, workspace, Some(id)).await?.pop().ok_or(MemberError::NotFound)
}

/// Sends a pending invitation again with a new link and a new expiry; the old link is dead.
pub async fn resend(
    db: &Db,
    principal: &Principal,
    id: i64,
    public_url: &str,
    request_id: Option<&str>,
) -> Result<InvitationView, MemberError> {
    require_admin(principal)?;
    let workspace = principal.workspace_id;
    let current = one(db, workspace, id).await?;
    let email = Email::parse(&current.email)
        .map_err(|_| DbError::Unavailable(format!("invitation {id} has no valid email")))?;
    let (token, message) = invitation_mail(principal, &email, current.role, public_url)?;
    let (actor, request_id) = (principal.actor(), request_id.map(str::to_owned));
    db.write(move |tx| {
        Box::pin(async move {
            let now = Utc::now();
            let expires_at = now + INVITATION_VALID;
            store::renew(tx, workspace, id, &secret::hash(&token), expires_at).await?.ok_or(MemberError::NotFound)?;
            mail::enqueue(tx, &message).await?;
            let changes: Vec<_> = FieldChange::between(
                "expires_at",
                current.expires_at.to_rfc3339().into(),
                expires_at.to_rfc3339().into(),
            )
            .into_iter()
            .collect();
            security_event(
                tx,
                workspace,
                &actor,
                request_id.as_deref(),
                ("invitation", id),
                AuditAction::InvitationResent,
                &changes,
            )
            .await?;
            Ok::<_, MemberError>(())
        })
    })
    .await?;
    one(db, workspace, id).await
}

/// Revokes a pending invitation: its link stops working at once.
pub async fn revoke(db: &Db, principal: &Principal, id: i64, request_id: Option<&str>) -> Result<(), MemberError> {
    require_admin(principal)?;
    let (workspace, actor, request_id) = (principal.workspace_id, principal.actor(), request_id.map(str::to_owned));
    db.write(move |tx| {
        Box::pin(async move {
            let email = store::revoke(tx, workspace, id, Utc::now()).await?.ok_or(MemberError::NotFound)?;
            let changes: Vec<_> = FieldChange::between("email", email.into(), Value::Null).into_iter().collect();
            security_event(
                tx,
                workspace,
                &actor,
                request_id.as_deref(),
                ("invitation", id),
                AuditAction::InvitationRevoked,
                &changes,
            )
            .await?;
            Ok(())
        })
    })
    .await
}

/// What the accept page shows: where the link leads and who sent it.
pub struct InvitationPreview {
    pub workspace_name: String,
    pub inviter: Option<String>,
    pub email: String,
    pub role: Role,
    /// The address has an account already: accepting asks for its password.
    pub has_account: bool,
}

async fn live(db: &Db, token: &str) -> Result<Option<(WorkspaceId, store::LiveInvitation)>, DbError> {
    let Some(workspace) = secret::workspace_of(TOKEN_PREFIX, token) else { return Ok(None) };
    Ok(store::live(db, workspace, &secret::hash(token), Utc::now()).await?.map(|row| (workspace, row)))
}

/// The invitation behind `token` if its link still works.
pub async fn preview(db: &Db, token: &str) -> Result<Option<InvitationPreview>, DbError> {
    let Some((_, row)) = live(db, token).await? else { return Ok(None) };
    let role = Role::parse(&row.role).ok_or_else(|| DbError::Unavailable(format!("unknown role {}", row.role)))?;
    Ok(Some(InvitationPreview {
        workspace_name: row.workspace_name,
        inviter: row.inviter_email,
        email: row.email,
        role,
        has_account: row.existing_user.is_some(),
    }))
}

/// Accepts an invitation with a new password (no account yet) or the account's password, and
/// starts a session in the workspace joined, unless the account's second factor must be asked
/// for first (then `None`: the member signs in as usual).
#[tracing::instrument(skip_all)]
pub async fn accept(
    db: &Db,
    token: &str,
    password: &str,
    client: ClientInfo,
) -> Result<Option<NewSession>, MemberError> {
    let (workspace, row) = live(db, token).await?.ok_or(MemberError::LinkInvalid)?;
    let token_hash = secret::hash(token);
    let request_id = client.request_id.clone();
    let user = match row.existing_user {
        Some(existing) => {
            let user = auth::check_password(db, &row.email, password).await?;
            if user != existing {
                return Err(MemberError::WrongPassword);
            }
            db.write(move |tx| Box::pin(async move { join(tx, workspace, &token_hash, user, request_id).await }))
                .await?;
            user
        }
        None => {
            let password = Password::parse(password)
                .map_err(|err| MemberError::Invalid { field: "password", message: err.to_string() })?;
            let hash =
                super::service::hash_password(&password).await.map_err(|e| MemberError::Hashing(e.to_string()))?;
            let email = Email::parse(&row.email)
                .map_err(|_| DbError::Unavailable("an invitation without a valid email".into()))?;
            db.write(move |tx| {
                Box::pin(async move {
                    let user = super::service::create_user(tx, &email, &hash).await.map_err(|err| match err {
                        super::IdentityError::Db(db) => MemberError::Db(db),
                        // Someone created the account since the page was shown: the link stays
                        // good for signing in with it.
                        _ => MemberError::Invalid {
                            field: "password",
                            message: "cannot be set: an account with this address was just created; reload the page \
                                      and sign in with it"
                                .into(),
                        },
                    })?;
                    join(tx, workspace, &token_hash, user, request_id).await?;
                    Ok::<_, MemberError>(user)
                })
            })
            .await?
        }
    };
    if super::two_factor::is_enabled(db, user).await? {
        return Ok(None);
    }
    Ok(Some(auth::start_session_in(db, user, workspace, client).await?))
}

/// Spends the link for `user` and makes them a member with the invited role, in one
/// transaction with the security-log row.
async fn join(
    tx: &mut Tx,
    workspace: WorkspaceId,
    token_hash: &str,
    user: UserId,
    request_id: Option<String>,
) -> Result<(), MemberError> {
    let now = Utc::now();
    let (id, role, role_id) =
        store::accept(tx, workspace, token_hash, user, now).await?.ok_or(MemberError::LinkInvalid)?;
    members_store::insert_membership(tx, workspace, user, (&role, role_id), now).await?;
    super::verify::mark_verified(tx, user, now).await?;
    let changes: Vec<_> = [
        FieldChange::between("user_id", Value::Null, user.get().into()),
        FieldChange::between("role", Value::Null, role.into()),
    ]
    .into_iter()
    .flatten()
    .collect();
    let actor = Actor::User(user);
    security_event(
        tx,
        workspace,
        &actor,
        request_id.as_deref(),
        ("invitation", id),
        AuditAction::InvitationAccepted,
        &changes,
    )
    .await?;
    Ok(())
}
