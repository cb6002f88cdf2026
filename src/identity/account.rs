//! A signed-in user's own credentials: their live sessions (list, revoke one, revoke all
//! others), their password (changing it ends every other session) and their API tokens
//! (create with the secret shown once, list, revoke). Also the administrator's "sign this
//! member out everywhere". Each change is recorded as a `security.*` domain event in its own
//! transaction, for the security log.

use chrono::{Duration, Utc};
use rapport_core::{Actor, Timestamp, UserId, WorkspaceId};
use rapport_db::{Db, DbError};
use rapport_jobs::{NewDomainEvent, record_event};

use super::auth::{self, AuthError, CreatedToken, Principal};
use super::model::{Password, PasswordError, SCOPED_MODULES, Scope};
use super::{account_store as store, secret};

#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    #[error("not found")]
    NotFound,
    #[error("the current password is wrong")]
    WrongPassword,
    #[error("the new password {0}")]
    NewPassword(PasswordError),
    #[error("{message}")]
    Invalid { field: &'static str, message: String },
    #[error("{0}")]
    NotAllowed(&'static str),
    #[error("password hashing failed: {0}")]
    Hashing(String),
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<AuthError> for AccountError {
    fn from(err: AuthError) -> Self {
        match err {
            AuthError::Db(db) => Self::Db(db),
            _ => Self::NotAllowed("the credential is no longer valid"),
        }
    }
}

pub struct SessionView {
    /// Names the session in revoke requests: the stored hash, which cannot be turned back into
    /// a cookie.
    pub handle: String,
    pub created_at: Timestamp,
    pub last_seen_at: Timestamp,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub current: bool,
}

/// The caller's live sessions in this workspace, most recently used first.
pub async fn my_sessions(db: &Db, principal: &Principal, cookie: &str) -> Result<Vec<SessionView>, AccountError> {
    let current = secret::hash(cookie);
    let rows = store::live_sessions(db, principal.workspace_id, principal.user_id, Utc::now()).await?;
    Ok(rows
        .into_iter()
        .map(|row| SessionView {
            current: row.id_hash == current,
            handle: row.id_hash,
            created_at: row.created_at,
            last_seen_at: row.last_seen_at,
            ip: row.ip,
            user_agent: row.user_agent,
        })
        .collect())
}

/// Revokes one of the caller's sessions.
pub async fn revoke_my_session(db: &Db, principal: &Principal, handle: &str) -> Result<(), AccountError> {
    let revoked =
        revoke(db, principal.workspace_id, principal.user_id, Some(handle.to_owned()), None, principal.actor()).await?;
    if revoked == 0 {
        return Err(AccountError::NotFound);
    }
    Ok(())
}

/// Revokes every session of the caller in this workspace except the one making the request.
pub async fn revoke_other_sessions(db: &Db, principal: &Principal, cookie: &str) -> Result<u64, AccountError> {
    let keep = secret::hash(cookie);
    Ok(revoke(db, principal.workspace_id, principal.user_id, None, Some(keep), principal.actor()).await?)
}

/// Signs `user` out of `workspace` everywhere: every session they hold there is revoked and
/// its cookie is worthless from the next request on. Records `security.sessions_revoked`.
pub async fn revoke_all_sessions(db: &Db, workspace: WorkspaceId, user: UserId, actor: Actor) -> Result<u64, DbError> {
    revoke(db, workspace, user, None, None, actor).await
}

/// An owner or admin signs a member out everywhere.
pub async fn revoke_member_sessions(db: &Db, principal: &Principal, user: UserId) -> Result<u64, AccountError> {
    if !principal.role.can_administer() || !principal.may("workspace", true) {
        return Err(AccountError::NotAllowed("only owners and admins may sign members out"));
    }
    if !store::is_member(db, principal.workspace_id, user).await? {
        return Err(AccountError::NotFound);
    }
    Ok(revoke_all_sessions(db, principal.workspace_id, user, principal.actor()).await?)
}

async fn revoke(
    db: &Db,
    workspace: WorkspaceId,
    user: UserId,
    only: Option<String>,
    keep: Option<String>,
    actor: Actor,
) -> Result<u64, DbError> {
    db.write(move |tx| {
        Box::pin(async move {
            let now = Utc::now();
            let revoked = store::revoke_sessions(tx, workspace, user, only.as_deref(), keep.as_deref(), now).await?;
            if revoked > 0 {
                let payload = serde_json::json!({ "revoked": revoked, "kept_current": keep.is_some() });
                record_event(tx, &event(workspace, user, "security.sessions_revoked", payload, &actor)).await?;
            }
            Ok(revoked)
        })
    })
    .await
}

/// Changes the caller's password after checking the current one, and signs out every other
/// session of theirs (in every workspace): whoever knew the old password is out.
pub async fn change_password(
    db: &Db,
    principal: &Principal,
    cookie: &str,
    current: &str,
    new: &str,
) -> Result<(), AccountError> {
    let new = Password::parse(new).map_err(AccountError::NewPassword)?;
    if !auth::password_matches(db, principal.user_id, current).await? {
        return Err(AccountError::WrongPassword);
    }
    let hash = super::service::hash_password(&new).await.map_err(|e| AccountError::Hashing(e.to_string()))?;
    let (user, keep, workspace, actor) =
        (principal.user_id, secret::hash(cookie), principal.workspace_id, principal.actor());
    db.write(move |tx| {
        Box::pin(async move {
            let now = Utc::now();
            store::set_password(tx, user, &hash, now).await?;
            let revoked = store::revoke_sessions_everywhere(tx, user, &keep, now).await?;
            let payload = serde_json::json!({ "sessions_revoked": revoked });
            record_event(tx, &event(workspace, user, "security.password_changed", payload, &actor)).await?;
            Ok(())
        })
    })
    .await
}

pub struct TokenView {
    pub id: i64,
    pub name: String,
    pub prefix: String,
    pub scopes: Vec<String>,
    pub created_at: Timestamp,
    pub last_used_at: Option<Timestamp>,
    pub expires_at: Option<Timestamp>,
}

/// The caller's tokens in this workspace that are not revoked (expired ones included, marked
/// by their expiry).
pub async fn my_tokens(db: &Db, principal: &Principal) -> Result<Vec<TokenView>, AccountError> {
    let rows = store::live_tokens(db, principal.workspace_id, principal.user_id).await?;
    Ok(rows
        .into_iter()
        .map(|row| TokenView {
            id: row.id,
            name: row.name,
            prefix: row.prefix,
            scopes: row.scopes.0,
            created_at: row.created_at,
            last_used_at: row.last_used_at,
            expires_at: row.expires_at,
        })
        .collect())
}

/// A token request as typed: name, scopes and an optional lifetime.
pub struct NewToken {
    pub name: String,
    pub scopes: Vec<Scope>,
    pub expires_at: Option<Timestamp>,
}

impl NewToken {
    pub fn parse(name: &str, scopes: &[String], expires_in_days: Option<i64>) -> Result<Self, AccountError> {
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 100 {
            return Err(AccountError::Invalid { field: "name", message: "must be 1 to 100 characters".into() });
        }
        if scopes.is_empty() {
            return Err(AccountError::Invalid { field: "scopes", message: "choose at least one scope".into() });
        }
        let scopes = scopes
            .iter()
            .map(|raw| Scope::parse(raw))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|message| AccountError::Invalid { field: "scopes", message })?;
        let expires_at = match expires_in_days {
            None => None,
            Some(days @ 1..=3650) => Some(Utc::now() + Duration::days(days)),
            Some(_) => {
                return Err(AccountError::Invalid {
                    field: "expires_in_days",
                    message: "must be 1 to 3650 days".into(),
                });
            }
        };
        Ok(Self { name: name.to_owned(), scopes, expires_at })
    }
}

/// Creates a token for the caller. A token can never do more than its user: a scope that would
/// write what the caller's role cannot write is refused (a viewer gets only read scopes).
pub async fn create_my_token(db: &Db, principal: &Principal, new: NewToken) -> Result<CreatedToken, AccountError> {
    let may_write = |module: &str| principal.may(module, true);
    let beyond_role = new.scopes.iter().any(|scope| match scope {
        Scope::Read(_) => false,
        Scope::Write(module) => !may_write(module),
        Scope::All => !SCOPED_MODULES.iter().any(|module| may_write(module)),
    });
    if beyond_role {
        return Err(AccountError::Invalid {
            field: "scopes",
            message: "a token may only write what its user may write; use MODULE:read scopes".into(),
        });
    }
    let created = auth::insert_token(
        db,
        principal.workspace_id,
        principal.user_id,
        &new.name,
        new.scopes,
        new.expires_at,
        principal.actor(),
    )
    .await?;
    Ok(created)
}

pub async fn revoke_my_token(db: &Db, principal: &Principal, id: i64) -> Result<(), AccountError> {
    let (workspace, user, actor) = (principal.workspace_id, principal.user_id, principal.actor());
    db.write(move |tx| {
        Box::pin(async move {
            if !store::revoke_token(tx, workspace, user, id, Utc::now()).await? {
                return Err(AccountError::NotFound);
            }
            let mut event =
                event(workspace, user, "security.token_revoked", serde_json::json!({ "user_id": user }), &actor);
            event.entity_type = "api_token".into();
            event.entity_id = id;
            record_event(tx, &event).await?;
            Ok(())
        })
    })
    .await
}

/// A `security.*` event about one user's credentials, for the security log.
pub(super) fn event(
    workspace: WorkspaceId,
    user: UserId,
    kind: &str,
    payload: serde_json::Value,
    actor: &Actor,
) -> NewDomainEvent {
    NewDomainEvent {
        workspace_id: workspace,
        kind: kind.into(),
        entity_type: "user".into(),
        entity_id: user.get(),
        payload,
        actor: actor.to_string(),
        request_id: None,
    }
}
