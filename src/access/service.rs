//! Access use cases. Each change checks `workspace` × `admin` on the caller, happens in one
//! transaction with its security log row, and names what changed in that row.

use std::collections::BTreeMap;

use rapport_core::{Actor, FieldChange, UserId, WorkspaceId};
use rapport_db::{Db, DbError, Tx};
use serde_json::Value;

use super::model::{FieldAccess, FieldRule, Name, OwnerFilter, RoleSummary};
use super::store;
use crate::audit::{AuditAction, AuditEntry};
use crate::identity::{Action, Grant, Principal, Reach};

#[derive(Debug, thiserror::Error)]
pub enum AccessError {
    #[error("only owners and admins may change roles, teams and field permissions")]
    Forbidden,
    #[error("a role or team with this name already exists")]
    NameTaken,
    #[error("no such role or member")]
    NotFound,
    #[error(transparent)]
    Db(#[from] DbError),
}

fn require_admin(principal: &Principal) -> Result<(), AccessError> {
    principal.can("workspace", Action::Admin).map(|_| ()).ok_or(AccessError::Forbidden)
}

fn taken(err: DbError) -> AccessError {
    if matches!(err, DbError::UniqueViolation { .. }) { AccessError::NameTaken } else { AccessError::Db(err) }
}

/// Who acted and where, carried into the transaction for the security log row.
struct Acting {
    workspace: WorkspaceId,
    actor: Actor,
    request_id: Option<String>,
}

impl Acting {
    fn of(principal: &Principal, request_id: Option<&str>) -> Self {
        Self { workspace: principal.workspace_id, actor: principal.actor(), request_id: request_id.map(str::to_owned) }
    }

    async fn log(
        &self,
        tx: &mut Tx,
        (entity, entity_id): (&str, i64),
        action: AuditAction,
        changes: &[FieldChange],
    ) -> Result<(), DbError> {
        let entry = AuditEntry {
            workspace: self.workspace,
            actor: &self.actor,
            request_id: self.request_id.as_deref(),
            entity,
            entity_id,
            action,
            changes,
        };
        crate::audit::record_security(tx, &entry).await
    }
}

fn grants_text(grants: &[Grant]) -> Value {
    Value::from(grants.iter().map(ToString::to_string).collect::<Vec<_>>())
}

fn encode(grants: &[Grant]) -> Result<String, DbError> {
    serde_json::to_string(grants).map_err(|e| DbError::from(sqlx::Error::Encode(Box::new(e))))
}

fn decode(raw: &str) -> Result<Vec<Grant>, DbError> {
    serde_json::from_str(raw).map_err(|e| DbError::from(sqlx::Error::Decode(Box::new(e))))
}

/// A custom role's grants, for building the principal of a member who holds it. A role that
/// has gone grants nothing.
pub async fn grants(db: &Db, workspace: WorkspaceId, role: i64) -> Result<Vec<Grant>, DbError> {
    store::grants_json(db, workspace, role).await?.map_or(Ok(Vec::new()), |raw| decode(&raw))
}

pub async fn roles(db: &Db, workspace: WorkspaceId) -> Result<Vec<RoleSummary>, DbError> {
    store::roles(db, workspace)
        .await?
        .into_iter()
        .map(|(id, name, grants)| Ok(RoleSummary { id, name, grants: decode(&grants)? }))
        .collect()
}

pub async fn create_role(
    db: &Db,
    principal: &Principal,
    name: Name,
    grants: Vec<Grant>,
    request_id: Option<&str>,
) -> Result<i64, AccessError> {
    require_admin(principal)?;
    if name.is_builtin_role() {
        return Err(AccessError::NameTaken);
    }
    let acting = Acting::of(principal, request_id);
    let encoded = encode(&grants)?;
    db.write(move |tx| {
        Box::pin(async move {
            let id = store::insert_role(tx, acting.workspace, name.as_str(), &encoded).await.map_err(taken)?;
            let changes: Vec<_> = [
                FieldChange::between("name", Value::Null, name.as_str().into()),
                FieldChange::between("grants", Value::Null, grants_text(&grants)),
            ]
            .into_iter()
            .flatten()
            .collect();
            acting.log(tx, ("role", id), AuditAction::PermissionChanged, &changes).await?;
            Ok(id)
        })
    })
    .await
}

/// Replaces a custom role's grants; members holding it get them on their next request.
pub async fn set_grants(
    db: &Db,
    principal: &Principal,
    role: i64,
    grants: Vec<Grant>,
    request_id: Option<&str>,
) -> Result<(), AccessError> {
    require_admin(principal)?;
    let acting = Acting::of(principal, request_id);
    let encoded = encode(&grants)?;
    db.write(move |tx| {
        Box::pin(async move {
            let old =
                store::replace_grants(tx, acting.workspace, role, &encoded).await?.ok_or(AccessError::NotFound)?;
            let changes: Vec<_> =
                FieldChange::between("grants", grants_text(&decode(&old)?), grants_text(&grants)).into_iter().collect();
            acting.log(tx, ("role", role), AuditAction::PermissionChanged, &changes).await?;
            Ok(())
        })
    })
    .await
}

/// Gives a member a custom role on top of their built-in one, or with `None` takes it away.
pub async fn assign_role(
    db: &Db,
    principal: &Principal,
    user: UserId,
    role: Option<i64>,
    request_id: Option<&str>,
) -> Result<(), AccessError> {
    require_admin(principal)?;
    let acting = Acting::of(principal, request_id);
    if let Some(role) = role
        && store::grants_json(db, acting.workspace, role).await?.is_none()
    {
        return Err(AccessError::NotFound);
    }
    db.write(move |tx| {
        Box::pin(async move {
            let old = store::set_member_role(tx, acting.workspace, user, role).await?.ok_or(AccessError::NotFound)?;
            let changes: Vec<_> = FieldChange::between("role_id", old.into(), role.into()).into_iter().collect();
            acting.log(tx, ("member", user.get()), AuditAction::RoleChanged, &changes).await?;
            Ok(())
        })
    })
    .await
}

pub async fn create_team(
    db: &Db,
    principal: &Principal,
    name: Name,
    request_id: Option<&str>,
) -> Result<i64, AccessError> {
    require_admin(principal)?;
    let acting = Acting::of(principal, request_id);
    db.write(move |tx| {
        Box::pin(async move {
            let id = store::insert_team(tx, acting.workspace, name.as_str()).await.map_err(taken)?;
            let changes: Vec<_> = FieldChange::between("name", Value::Null, name.as_str().into()).into_iter().collect();
            acting.log(tx, ("team", id), AuditAction::Create, &changes).await?;
            Ok(id)
        })
    })
    .await
}

/// The team of this name, created (and logged) when it does not exist yet.
pub async fn team_by_name(
    db: &Db,
    principal: &Principal,
    name: Name,
    request_id: Option<&str>,
) -> Result<i64, AccessError> {
    match store::team_id(db, principal.workspace_id, name.as_str()).await? {
        Some(id) => Ok(id),
        None => create_team(db, principal, name, request_id).await,
    }
}

pub async fn add_to_team(
    db: &Db,
    principal: &Principal,
    team: i64,
    user: UserId,
    request_id: Option<&str>,
) -> Result<(), AccessError> {
    require_admin(principal)?;
    let acting = Acting::of(principal, request_id);
    db.write(move |tx| {
        Box::pin(async move {
            store::add_team_member(tx, acting.workspace, team, user).await.map_err(|err| match err {
                DbError::ForeignKeyViolation => AccessError::NotFound,
                other => AccessError::Db(other),
            })?;
            let changes: Vec<_> = FieldChange::between("team_id", Value::Null, team.into()).into_iter().collect();
            acting.log(tx, ("member", user.get()), AuditAction::RoleChanged, &changes).await?;
            Ok(())
        })
    })
    .await
}

/// The users whose records reach `team` covers for `user`: everyone sharing one of their
/// teams, and `user`.
pub async fn team_mates(db: &Db, workspace: WorkspaceId, user: UserId) -> Result<Vec<UserId>, DbError> {
    store::team_mates(db, workspace, user).await
}

/// Which records of `module` the caller's `action` reaches, or `None` when the action is not
/// theirs at all. Every module with owned records decides through this one function, on the
/// API and the pages alike: stores turn the answer into an `owner_id IN (…)` condition for
/// lists, and services test single records with [`OwnerFilter::covers`].
pub async fn record_filter(
    db: &Db,
    principal: &Principal,
    module: &str,
    action: Action,
) -> Result<Option<OwnerFilter>, DbError> {
    Ok(match principal.can(module, action) {
        None => None,
        Some(Reach::All) => Some(OwnerFilter::Any),
        Some(Reach::Team) => {
            Some(OwnerFilter::OwnedBy(team_mates(db, principal.workspace_id, principal.user_id).await?))
        }
        Some(Reach::Own) => Some(OwnerFilter::OwnedBy(vec![principal.user_id])),
    })
}

/// Sets how `role_key` (a built-in role's name or `role:ID`) sees `field` of `object`; `None`
/// makes the field visible and writable again.
pub async fn set_field_rule(
    db: &Db,
    principal: &Principal,
    (role_key, object, field): (&str, &str, &str),
    rule: Option<FieldRule>,
    request_id: Option<&str>,
) -> Result<(), AccessError> {
    require_admin(principal)?;
    let acting = Acting::of(principal, request_id);
    let (role_key, object, field) = (role_key.to_owned(), object.to_owned(), field.to_owned());
    db.write(move |tx| {
        Box::pin(async move {
            let key = (role_key.as_str(), object.as_str(), field.as_str());
            let old = store::set_field_rule(tx, acting.workspace, key, rule.map(FieldRule::as_str)).await?;
            let name = format!("{role_key}/{object}.{field}");
            let changes: Vec<_> =
                FieldChange::between(&name, old.into(), rule.map(FieldRule::as_str).into()).into_iter().collect();
            acting.log(tx, ("field_rule", 0), AuditAction::PermissionChanged, &changes).await?;
            Ok(())
        })
    })
    .await
}

/// The caller's field rules for `object` (`person`, `company` …), read once per request.
pub async fn field_access(db: &Db, principal: &Principal, object: &str) -> Result<FieldAccess, DbError> {
    let rules = store::field_rules(db, principal.workspace_id, &principal.permissions.role_key(), object).await?;
    let rules: BTreeMap<_, _> =
        rules.into_iter().filter_map(|(field, access)| FieldRule::parse(&access).map(|rule| (field, rule))).collect();
    Ok(FieldAccess::new(rules))
}
