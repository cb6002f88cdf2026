//! Signing in and recognising callers: password login with per-account throttling, browser
//! sessions, and API tokens. A [`Principal`] is the result: who is calling, in which workspace,
//! with which role and (for tokens) which scopes.

use chrono::{Duration, Utc};
use rapport_core::{Actor, Email, FieldChange, Secret, Timestamp, UserId, WorkspaceId};
use rapport_db::{Db, DbError, Tx};
use serde_json::Value;

use super::model::{Action, Permissions, Reach, Role, Scope};
use super::{secret, store};
use crate::audit::{AuditAction, AuditEntry};

/// Failures before each further attempt must wait [`THROTTLE`].
const THROTTLE_AFTER: i32 = 5;
const THROTTLE: Duration = Duration::seconds(30);
/// Failures that lock the account for [`LOCK`].
const LOCK_AFTER: i32 = 10;
const LOCK: Duration = Duration::minutes(15);

/// A session ends after this long without a request, and in any case after [`SESSION_ABSOLUTE`].
pub const SESSION_IDLE: Duration = Duration::hours(12);
pub const SESSION_ABSOLUTE: Duration = Duration::days(14);

const SESSION_PREFIX: &str = "rps";
const TOKEN_PREFIX: &str = "rpt";

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// Wrong email or password, deliberately not saying which.
    #[error("the email or password is wrong")]
    BadCredentials,
    #[error("too many failed attempts; try again after {0}")]
    Throttled(Timestamp),
    #[error("this account has no workspace")]
    NoWorkspace,
    #[error("a missing, expired or revoked credential")]
    Unauthenticated,
    #[error(transparent)]
    Db(#[from] DbError),
}

/// How the caller authenticated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Credential {
    /// A browser session; state-changing requests must present this CSRF token.
    Session {
        csrf_token: Secret<String>,
    },
    Token {
        id: i64,
        name: String,
        scopes: Vec<Scope>,
    },
}

/// An authenticated caller inside one workspace. Handlers take the workspace from here, never
/// from the path or body of the request.
#[derive(Clone, Debug)]
pub struct Principal {
    pub user_id: UserId,
    pub email: String,
    pub workspace_id: WorkspaceId,
    pub workspace_name: String,
    pub role: Role,
    /// What the role allows: the built-in role's set, or the custom role assigned on top of it.
    pub permissions: Permissions,
    pub credential: Credential,
    /// The workspace requires two-factor authentication and this user has not enrolled: only
    /// enrolment and signing out are open to them.
    pub must_enrol_two_factor: bool,
}

impl Principal {
    pub fn actor(&self) -> Actor {
        match &self.credential {
            Credential::Session { .. } => Actor::User(self.user_id),
            Credential::Token { id, .. } => Actor::Token { user: self.user_id, token: *id },
        }
    }

    /// Whether the caller may read (or, with `write`, change at least some records of)
    /// `module`: [`Principal::can`] read or update it.
    pub fn may(&self, module: &str, write: bool) -> bool {
        self.can(module, if write { Action::Update } else { Action::Read }).is_some()
    }

    /// How far `action` on `module` reaches for the caller, or `None` when it is denied: the
    /// role must allow it and, for a token, one of its scopes too (any action but reading
    /// needs a write scope).
    pub fn can(&self, module: &str, action: Action) -> Option<Reach> {
        let write = action != Action::Read;
        let scope_allows = match &self.credential {
            Credential::Session { .. } => true,
            Credential::Token { scopes, .. } => scopes.iter().any(|s| s.allows(module, write)),
        };
        self.permissions.reach(module, action).filter(|_| scope_allows)
    }
}

/// Appends to the security log of `workspace` about a user's account or credential.
pub(super) async fn security_event(
    tx: &mut Tx,
    workspace: WorkspaceId,
    actor: &Actor,
    request_id: Option<&str>,
    (entity, entity_id): (&str, i64),
    action: AuditAction,
    changes: &[FieldChange],
) -> Result<(), DbError> {
    let entry = AuditEntry { workspace, actor, request_id, entity, entity_id, action, changes };
    crate::audit::record_security(tx, &entry).await
}

/// Checks a password, counting failures per account: after five, each attempt waits 30 s;
/// after ten the account is locked for 15 minutes. While throttled or locked the password is
/// not even evaluated, so guessing costs the attacker time, not the server CPU.
pub async fn check_password(db: &Db, email: &str, password: &str) -> Result<UserId, AuthError> {
    let Ok(email) = Email::parse(email) else {
        return Err(AuthError::BadCredentials);
    };
    let Some(row) = store::login_row(db, &email.canonical()).await? else {
        // Spend the same time as a real check so that response times do not reveal accounts.
        super::service::verify_password(password, &dummy_hash().await).await;
        return Err(AuthError::BadCredentials);
    };
    let throttle = Throttle::check(row)?;
    if throttle.row.status != "active" || !super::service::verify_password(password, &throttle.row.password_hash).await
    {
        throttle.count_failure(db).await?;
        return Err(AuthError::BadCredentials);
    }
    throttle.clear(db).await?;
    Ok(throttle.row.id)
}

/// The per-account failure counter, read once the account is known not to be locked. The
/// second factor counts into it too, so a stolen password does not buy unlimited code guesses.
pub(super) struct Throttle {
    row: store::LoginRow,
}

impl Throttle {
    fn check(row: store::LoginRow) -> Result<Self, AuthError> {
        if let Some(until) = row.locked_until.filter(|until| *until > Utc::now()) {
            return Err(AuthError::Throttled(until));
        }
        Ok(Self { row })
    }

    pub(super) async fn count_failure(&self, db: &Db) -> Result<(), AuthError> {
        let failures = self.row.failed_logins + 1;
        let now = Utc::now();
        let locked_until = match failures {
            n if n >= LOCK_AFTER && (n - LOCK_AFTER) % LOCK_AFTER == 0 => Some(now + LOCK),
            n if n >= THROTTLE_AFTER => Some(now + THROTTLE),
            _ => None,
        };
        let user = self.row.id;
        // Every workspace the account belongs to sees the attempt in its security log.
        let workspaces = store::memberships(db, user).await?;
        let changes = FieldChange::between("failed_logins", self.row.failed_logins.into(), failures.into());
        db.write(move |tx| {
            Box::pin(async move {
                store::record_failure(tx, user, failures, locked_until).await?;
                let actor = Actor::System("sign-in".into());
                for (workspace, _) in workspaces {
                    let target = ("user", user.get());
                    let changes = changes.as_slice();
                    security_event(tx, workspace, &actor, None, target, AuditAction::LoginFailed, changes).await?;
                }
                Ok::<_, DbError>(())
            })
        })
        .await?;
        Ok(())
    }

    pub(super) async fn clear(&self, db: &Db) -> Result<(), AuthError> {
        if self.row.failed_logins > 0 {
            let user = self.row.id;
            db.write(move |tx| Box::pin(async move { store::clear_failures(tx, user).await })).await?;
        }
        Ok(())
    }
}

/// The throttle of `user`, refusing at once while the account is locked.
pub(super) async fn throttle_for(db: &Db, user: UserId) -> Result<Throttle, AuthError> {
    Throttle::check(store::login_row_by_id(db, user).await?.ok_or(AuthError::Unauthenticated)?)
}

/// Whether `password` is the account's current one; used where a signed-in user re-proves
/// who they are, so it does not touch the sign-in throttle.
pub(super) async fn password_matches(db: &Db, user: UserId, password: &str) -> Result<bool, DbError> {
    let Some(row) = store::login_row_by_id(db, user).await? else {
        return Ok(false);
    };
    Ok(super::service::verify_password(password, &row.password_hash).await)
}

/// A real argon2id hash, checked against when the account does not exist.
async fn dummy_hash() -> String {
    static HASH: tokio::sync::OnceCell<String> = tokio::sync::OnceCell::const_new();
    HASH.get_or_init(|| async {
        let password =
            super::Password::parse("no account has this password").unwrap_or_else(|_| unreachable!("long enough"));
        super::service::hash_password(&password).await.unwrap_or_default()
    })
    .await
    .clone()
}

/// A new browser session: the cookie value (shown once) and its CSRF token.
pub struct NewSession {
    pub cookie: Secret<String>,
    pub workspace_id: WorkspaceId,
}

pub struct ClientInfo {
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    /// The sign-in request's id, for the security log.
    pub request_id: Option<String>,
}

/// Starts a session for `user` in their first workspace. A new random id every time, so a
/// session id planted before login is worthless afterwards.
pub async fn start_session(db: &Db, user: UserId, client: ClientInfo) -> Result<NewSession, AuthError> {
    start_session_in(db, user, first_workspace(db, user).await?, client).await
}

/// Starts a session for `user` in `workspace`, which the caller knows them to be a member of.
pub(super) async fn start_session_in(
    db: &Db,
    user: UserId,
    workspace: WorkspaceId,
    client: ClientInfo,
) -> Result<NewSession, AuthError> {
    let cookie = secret::generate(SESSION_PREFIX, workspace).map_err(|e| DbError::Unavailable(e.to_string()))?;
    let csrf = secret::generate("csrf", workspace).map_err(|e| DbError::Unavailable(e.to_string()))?;
    let id_hash = secret::hash(&cookie);
    let now = Utc::now();
    db.write(move |tx| {
        Box::pin(async move {
            store::insert_session(
                tx,
                &store::NewSession {
                    workspace,
                    user,
                    id_hash: &id_hash,
                    csrf_token: &csrf,
                    now,
                    idle_expires_at: now + SESSION_IDLE,
                    expires_at: now + SESSION_ABSOLUTE,
                    ip: client.ip.as_deref(),
                    user_agent: client.user_agent.as_deref(),
                },
            )
            .await?;
            let seen =
                |field: &str, value: &Option<String>| FieldChange::between(field, Value::Null, value.clone().into());
            let changes: Vec<_> =
                [seen("ip", &client.ip), seen("user_agent", &client.user_agent)].into_iter().flatten().collect();
            let actor = Actor::User(user);
            let target = ("user", user.get());
            security_event(tx, workspace, &actor, client.request_id.as_deref(), target, AuditAction::Login, &changes)
                .await
        })
    })
    .await?;
    Ok(NewSession { cookie: Secret::new(cookie), workspace_id: workspace })
}

/// The workspace a sign-in lands in: the user's oldest membership.
pub(super) async fn first_workspace(db: &Db, user: UserId) -> Result<WorkspaceId, AuthError> {
    let (workspace, _) = store::memberships(db, user).await?.into_iter().next().ok_or(AuthError::NoWorkspace)?;
    Ok(workspace)
}

/// The principal behind a session cookie, sliding its idle expiry forward.
pub async fn session_principal(db: &Db, cookie: &str) -> Result<Principal, AuthError> {
    let workspace = secret::workspace_of(SESSION_PREFIX, cookie).ok_or(AuthError::Unauthenticated)?;
    let id_hash = secret::hash(cookie);
    let now = Utc::now();
    let row = store::live_session(db, workspace, &id_hash, now).await?.ok_or(AuthError::Unauthenticated)?;
    // Refresh at most once a minute: a page view should not always cost a write.
    if row.idle_expires_at.is_some_and(|idle| idle - SESSION_IDLE < now - Duration::minutes(1)) {
        db.write(move |tx| {
            Box::pin(async move { store::touch_session(tx, workspace, &id_hash, now, now + SESSION_IDLE).await })
        })
        .await?;
    }
    let csrf_token = Secret::new(row.secret.clone());
    principal(db, row, workspace, Credential::Session { csrf_token }).await
}

/// Ends a session on the server; the cookie is worthless afterwards.
pub async fn end_session(db: &Db, cookie: &str, request_id: Option<&str>) -> Result<(), AuthError> {
    let workspace = secret::workspace_of(SESSION_PREFIX, cookie).ok_or(AuthError::Unauthenticated)?;
    let id_hash = secret::hash(cookie);
    let request_id = request_id.map(str::to_owned);
    db.write(move |tx| {
        Box::pin(async move {
            let Some(user) = store::revoke_session(tx, workspace, &id_hash, Utc::now()).await? else {
                return Ok(());
            };
            let target = ("user", user.get());
            security_event(tx, workspace, &Actor::User(user), request_id.as_deref(), target, AuditAction::Logout, &[])
                .await
        })
    })
    .await?;
    Ok(())
}

/// A newly created API token; `secret` is shown once and never stored.
pub struct CreatedToken {
    pub id: i64,
    pub secret: Secret<String>,
    pub prefix: String,
}

pub async fn create_token(
    db: &Db,
    workspace: WorkspaceId,
    user: UserId,
    name: &str,
    scopes: Vec<Scope>,
    expires_at: Option<Timestamp>,
) -> Result<CreatedToken, AuthError> {
    insert_token(db, workspace, user, name, scopes, expires_at, Actor::User(user)).await
}

/// Creates a token and records its creation, by `actor`, in the security log.
pub(super) async fn insert_token(
    db: &Db,
    workspace: WorkspaceId,
    user: UserId,
    name: &str,
    scopes: Vec<Scope>,
    expires_at: Option<Timestamp>,
    actor: Actor,
) -> Result<CreatedToken, AuthError> {
    let secret_value = secret::generate(TOKEN_PREFIX, workspace).map_err(|e| DbError::Unavailable(e.to_string()))?;
    let prefix = secret::visible_prefix(&secret_value);
    let secret_hash = secret::hash(&secret_value);
    let scopes: Vec<String> = scopes.into_iter().map(String::from).collect();
    let (name, stored_prefix) = (name.to_owned(), prefix.clone());
    let id = db
        .write(move |tx| {
            Box::pin(async move {
                let id = store::insert_token(
                    tx,
                    &store::NewToken {
                        workspace,
                        user,
                        name: &name,
                        prefix: &stored_prefix,
                        secret_hash: &secret_hash,
                        scopes: &scopes,
                        expires_at,
                        now: Utc::now(),
                    },
                )
                .await?;
                let changes: Vec<_> = [
                    FieldChange::between("name", Value::Null, name.into()),
                    FieldChange::between("scopes", Value::Null, scopes.into()),
                ]
                .into_iter()
                .flatten()
                .collect();
                security_event(tx, workspace, &actor, None, ("token", id), AuditAction::TokenCreated, &changes).await?;
                Ok::<_, DbError>(id)
            })
        })
        .await?;
    Ok(CreatedToken { id, secret: Secret::new(secret_value), prefix })
}

/// The principal behind a bearer token, recording when it was last used (at most once a minute).
pub async fn token_principal(db: &Db, token: &str) -> Result<Principal, AuthError> {
    let workspace = secret::workspace_of(TOKEN_PREFIX, token).ok_or(AuthError::Unauthenticated)?;
    let now = Utc::now();
    let row = store::live_token(db, workspace, &secret::hash(token), now).await?.ok_or(AuthError::Unauthenticated)?;
    let id = row.credential_id;
    db.write(move |tx| Box::pin(async move { store::touch_token(tx, workspace, id, now).await })).await?;
    let scopes =
        row.scopes.as_ref().map(|s| s.0.iter().filter_map(|raw| Scope::parse(raw).ok()).collect()).unwrap_or_default();
    let name = row.name.clone().unwrap_or_default();
    principal(db, row, workspace, Credential::Token { id, name, scopes }).await
}

/// Finds a member of `workspace` by email, for the command line.
pub async fn member_by_email(db: &Db, workspace: WorkspaceId, email: &Email) -> Result<Option<UserId>, AuthError> {
    Ok(store::user_id_by_email(db, workspace, &email.canonical()).await?)
}

/// The principal the command line acts as for an active member of `workspace` (its first
/// owner without `email`): their role and field rules, as a session of theirs would have.
pub async fn member_principal(
    db: &Db,
    workspace: WorkspaceId,
    email: Option<&Email>,
) -> Result<Option<Principal>, AuthError> {
    let canonical = email.map(Email::canonical);
    let Some(row) = store::member_credential(db, workspace, canonical.as_deref()).await? else { return Ok(None) };
    let credential = Credential::Session { csrf_token: rapport_core::Secret::new(String::new()) };
    Ok(Some(principal(db, row, workspace, credential).await?))
}

async fn principal(
    db: &Db,
    row: store::CredentialRow,
    workspace: WorkspaceId,
    credential: Credential,
) -> Result<Principal, AuthError> {
    let role = Role::parse(&row.role).ok_or_else(|| DbError::Unavailable(format!("unknown role {}", row.role)))?;
    let permissions = match row.role_id {
        Some(role_id) => Permissions::Custom { role_id, grants: crate::access::grants(db, workspace, role_id).await? },
        None => Permissions::Builtin(role),
    };
    Ok(Principal {
        user_id: row.user_id,
        email: row.email,
        workspace_id: workspace,
        workspace_name: row.workspace_name,
        role,
        permissions,
        credential,
        must_enrol_two_factor: row.must_enrol_two_factor,
    })
}
