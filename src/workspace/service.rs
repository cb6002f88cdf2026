//! Creating workspaces, and the one-time setup of a fresh installation: while no workspace
//! exists, each server start issues a random setup token (only its SHA-256 is stored) and prints
//! the setup link; the first workspace created with it spends the token.

use rapport_core::{CountryCode, CurrencyCode, FieldChange, Secret, WorkspaceId};
use rapport_db::{Db, DbError};
use rapport_jobs::{NewDomainEvent, record_event};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::model::{Created, NewWorkspace, WorkspaceName};
use super::settings::{Locale, WorkspaceSettings};
use super::store;
use crate::audit::{AuditAction, AuditEntry};
use crate::identity::{self, Action, IdentityError, Principal};

#[derive(Debug, thiserror::Error)]
pub enum WorkspaceError {
    #[error("a user with this email already exists")]
    EmailTaken,
    #[error("the setup link is invalid or was already used")]
    SetupTokenInvalid,
    #[error("changing workspace settings needs an owner or admin")]
    NotAdmin,
    #[error("some settings are invalid")]
    InvalidSettings(std::collections::BTreeMap<String, Vec<String>>),
    #[error(transparent)]
    Identity(IdentityError),
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<IdentityError> for WorkspaceError {
    fn from(err: IdentityError) -> Self {
        match err {
            IdentityError::EmailTaken => Self::EmailTaken,
            other => Self::Identity(other),
        }
    }
}

/// Creates a workspace and its owner in one transaction, recording `workspace.created`.
pub async fn create_with_owner(db: &Db, new: NewWorkspace, actor: &str) -> Result<Created, WorkspaceError> {
    let hash = identity::hash_password(&new.owner_password).await?;
    let actor = actor.to_string();
    db.write(move |tx| Box::pin(async move { insert_with_owner(tx, &new, &hash, &actor).await })).await
}

/// The same, and the owner is sent a link to verify their address, as the owner created at
/// setup is: for workspaces an administrator creates on the command line.
pub async fn create_with_verified_owner(db: &Db, new: NewWorkspace, actor: &str) -> Result<Created, WorkspaceError> {
    let hash = identity::hash_password(&new.owner_password).await?;
    let actor = actor.to_string();
    db.write(move |tx| Box::pin(async move { insert_with_verified_owner(tx, &new, &hash, &actor).await })).await
}

/// Inserts the workspace and its owner and enqueues the owner's verification email.
async fn insert_with_verified_owner(
    tx: &mut rapport_db::Tx,
    new: &NewWorkspace,
    password_hash: &str,
    actor: &str,
) -> Result<Created, WorkspaceError> {
    let created = insert_with_owner(tx, new, password_hash, actor).await?;
    identity::verify::enqueue_verification(tx, created.owner_id).await?;
    Ok(created)
}

async fn insert_with_owner(
    tx: &mut rapport_db::Tx,
    new: &NewWorkspace,
    password_hash: &str,
    actor: &str,
) -> Result<Created, WorkspaceError> {
    let workspace_id = store::insert_workspace(tx, &new.name).await?;
    let owner_id = identity::create_user(tx, &new.owner_email, password_hash).await?;
    store::insert_membership(tx, workspace_id, owner_id, "owner").await?;
    record_event(tx, &created_event(workspace_id, new, owner_id, actor)).await?;
    Ok(Created { workspace_id, owner_id })
}

fn created_event(
    workspace_id: WorkspaceId,
    new: &NewWorkspace,
    owner: rapport_core::UserId,
    actor: &str,
) -> NewDomainEvent {
    NewDomainEvent {
        workspace_id,
        kind: "workspace.created".into(),
        entity_type: "workspace".into(),
        entity_id: workspace_id.get(),
        payload: serde_json::json!({ "name": new.name.as_str(), "owner_id": owner }),
        actor: actor.into(),
        request_id: None,
    }
}

/// Whether the installation still has no workspace.
pub async fn needs_setup(db: &Db) -> Result<bool, DbError> {
    Ok(!store::any_workspace(db).await?)
}

/// A freshly issued setup token; shown once, on the console.
#[derive(Debug)]
pub struct SetupToken(pub Secret<String>);

/// Issues a new setup token (replacing any earlier one) when no workspace exists yet.
pub async fn start_setup(db: &Db) -> Result<Option<SetupToken>, DbError> {
    if !needs_setup(db).await? {
        return Ok(None);
    }
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| DbError::Unavailable(format!("no randomness: {e}")))?;
    let token = hex::encode(bytes);
    let digest = digest(&token);
    db.write(move |tx| Box::pin(async move { store::set_setup_token(tx, &digest).await })).await?;
    Ok(Some(SetupToken(Secret::new(token))))
}

/// Whether `token` is the current setup token (constant-time).
pub async fn setup_token_valid(db: &Db, token: &str) -> Result<bool, DbError> {
    let Some(stored) = store::setup_token_digest(db).await? else {
        return Ok(false);
    };
    Ok(bool::from(stored.as_bytes().ct_eq(digest(token).as_bytes())))
}

/// Creates the first workspace, spending the setup token in the same transaction so that two
/// concurrent submissions cannot both succeed, and has the owner's address verified by email.
pub async fn complete_setup(db: &Db, token: &str, new: NewWorkspace) -> Result<Created, WorkspaceError> {
    if !setup_token_valid(db, token).await? {
        return Err(WorkspaceError::SetupTokenInvalid);
    }
    let hash = identity::hash_password(&new.owner_password).await?;
    let token_digest = digest(token);
    db.write(move |tx| {
        Box::pin(async move {
            if !store::take_setup_token(tx, &token_digest).await? {
                return Err(WorkspaceError::SetupTokenInvalid);
            }
            insert_with_verified_owner(tx, &new, &hash, "system:setup").await
        })
    })
    .await
}

fn digest(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// The workspace's settings. A stored value this build cannot read (edited by hand) is an
/// error rather than a silent default.
pub async fn settings(db: &Db, workspace: WorkspaceId) -> Result<WorkspaceSettings, WorkspaceError> {
    let row = store::settings(db, workspace).await?.ok_or(DbError::NotFound)?;
    let unreadable = |what: &str| DbError::Unavailable(format!("workspace {workspace} has an unreadable {what}"));
    Ok(WorkspaceSettings {
        name: WorkspaceName::parse(&row.name).map_err(|_| unreadable("name"))?,
        default_currency: CurrencyCode::parse(&row.default_currency).map_err(|_| unreadable("currency"))?,
        time_zone: row.time_zone.parse().map_err(|_| unreadable("time zone"))?,
        locale: Locale::parse(&row.locale).map_err(|_| unreadable("locale"))?,
        country: CountryCode::parse(&row.country).map_err(|_| unreadable("country"))?,
    })
}

/// Changes some settings (owners and admins), recording each changed value in the audit trail
/// in the same transaction.
pub async fn update_settings(
    db: &Db,
    principal: &Principal,
    patch: &serde_json::Map<String, serde_json::Value>,
) -> Result<WorkspaceSettings, WorkspaceError> {
    if principal.can("workspace", Action::Admin).is_none() {
        return Err(WorkspaceError::NotAdmin);
    }
    let workspace = principal.workspace_id;
    let before = settings(db, workspace).await?;
    let after = before.patched(patch).map_err(WorkspaceError::InvalidSettings)?;
    let changes: Vec<FieldChange> = [
        ("name", before.name.as_str(), after.name.as_str()),
        ("default_currency", before.default_currency.as_str(), after.default_currency.as_str()),
        ("time_zone", before.time_zone.name(), after.time_zone.name()),
        ("locale", before.locale.as_str(), after.locale.as_str()),
        ("country", before.country.as_str(), after.country.as_str()),
    ]
    .into_iter()
    .filter_map(|(field, old, new)| FieldChange::between(field, old.into(), new.into()))
    .collect();
    let row = store::SettingsRow {
        name: after.name.as_str().to_owned(),
        default_currency: after.default_currency.as_str().to_owned(),
        time_zone: after.time_zone.name().to_owned(),
        locale: after.locale.as_str().to_owned(),
        country: after.country.as_str().to_owned(),
    };
    let actor = principal.actor();
    db.write(move |tx| {
        Box::pin(async move {
            store::update_settings(tx, workspace, &row).await?;
            let entry = AuditEntry {
                workspace,
                actor: &actor,
                request_id: None,
                entity: "workspace",
                entity_id: workspace.get(),
                action: AuditAction::Update,
                changes: &changes,
            };
            crate::audit::record(tx, &entry).await
        })
    })
    .await?;
    Ok(after)
}
