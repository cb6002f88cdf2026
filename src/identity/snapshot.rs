//! The access a caller had when they asked for work a job does later (an export, a bulk
//! action): the role, the custom role and the token's scopes, stored with the work so the job
//! acts as them. The custom role's grants and the field rules are read again when the job runs,
//! so an administrator's tightening applies to work already queued.

use rapport_core::{Email, Secret, UserId, WorkspaceId};
use rapport_db::{Db, DbError};
use serde::{Deserialize, Serialize};

use super::auth::{Credential, Principal};
use super::model::{Permissions, Role, Scope};

/// A principal's access, as stored for a job.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Snapshot {
    role: String,
    role_id: Option<i64>,
    token: Option<TokenSnapshot>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
struct TokenSnapshot {
    id: i64,
    name: String,
    scopes: Vec<Scope>,
}

impl Snapshot {
    pub fn of(principal: &Principal) -> Self {
        let role_id = match &principal.permissions {
            Permissions::Custom { role_id, .. } => Some(*role_id),
            Permissions::Builtin(_) => None,
        };
        let token = match &principal.credential {
            Credential::Token { id, name, scopes } => {
                Some(TokenSnapshot { id: *id, name: name.clone(), scopes: scopes.clone() })
            }
            Credential::Session { .. } => None,
        };
        Self { role: principal.role.as_str().to_owned(), role_id, token }
    }

    pub fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or(serde_json::Value::Null)
    }

    pub fn from_json(raw: serde_json::Value) -> Result<Self, DbError> {
        serde_json::from_value(raw).map_err(|e| DbError::from(sqlx::Error::Decode(Box::new(e))))
    }

    /// The principal a job acts as, for the member `user` (whose address is `email`). A
    /// session's CSRF token has no use in a job and is left empty.
    pub async fn principal(
        self,
        db: &Db,
        (workspace, user, email): (WorkspaceId, UserId, Email),
    ) -> Result<Principal, DbError> {
        let role = Role::parse(&self.role)
            .ok_or_else(|| DbError::from(sqlx::Error::Decode(format!("unknown role {}", self.role).into())))?;
        let permissions = match self.role_id {
            Some(role_id) => {
                Permissions::Custom { role_id, grants: crate::access::grants(db, workspace, role_id).await? }
            }
            None => Permissions::Builtin(role),
        };
        let credential = match self.token {
            Some(token) => Credential::Token { id: token.id, name: token.name, scopes: token.scopes },
            None => Credential::Session { csrf_token: Secret::new(String::new()) },
        };
        Ok(Principal {
            user_id: user,
            email: email.as_str().to_owned(),
            workspace_id: workspace,
            workspace_name: String::new(),
            role,
            permissions,
            credential,
            must_enrol_two_factor: false,
        })
    }
}
