//! Audit values: the entry a service hands in, the row a reader gets back, and the canonical
//! encoding the chain's hashes are computed over.

use rapport_core::{Actor, FieldChange, Timestamp, WorkspaceId};
use sha2::{Digest, Sha256};

/// Which chain a row belongs to. Each workspace has one chain per log.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Log {
    /// Changes to business records.
    Audit,
    /// Sign-ins, credentials, roles and permissions, exports.
    Security,
}

impl Log {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Audit => "audit",
            Self::Security => "security",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        [Self::Audit, Self::Security].into_iter().find(|log| log.as_str() == raw)
    }
}

macro_rules! actions {
    ($($variant:ident => $name:literal),* $(,)?) => {
        /// What happened to the entity; stored by its stable snake_case name.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
        #[serde(rename_all = "snake_case")]
        pub enum AuditAction {
            $($variant),*
        }

        impl AuditAction {
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $name),*
                }
            }

            pub fn parse(raw: &str) -> Option<Self> {
                match raw {
                    $($name => Some(Self::$variant),)*
                    _ => None,
                }
            }
        }
    };
}

actions! {
    Create => "create",
    Update => "update",
    Delete => "delete",
    Restore => "restore",
    Purge => "purge",
    Merge => "merge",
    Import => "import",
    Export => "export",
    Login => "login",
    LoginFailed => "login_failed",
    Logout => "logout",
    TokenCreated => "token_created",
    TokenRevoked => "token_revoked",
    RoleChanged => "role_changed",
    PermissionChanged => "permission_changed",
    TwoFactorEnabled => "two_factor_enabled",
    TwoFactorDisabled => "two_factor_disabled",
    InvitationCreated => "invitation_created",
    InvitationResent => "invitation_resent",
    InvitationRevoked => "invitation_revoked",
    InvitationAccepted => "invitation_accepted",
    MemberDeactivated => "member_deactivated",
    MemberReactivated => "member_reactivated",
}

/// One change to record, in the transaction that makes it.
pub struct AuditEntry<'a> {
    pub workspace: WorkspaceId,
    pub actor: &'a Actor,
    pub request_id: Option<&'a str>,
    /// The kind of record: `person`, `company`, `member`, `user`, `token` …
    pub entity: &'a str,
    pub entity_id: i64,
    pub action: AuditAction,
    pub changes: &'a [FieldChange],
}

/// A stored row, as the API, the history tab and verification read it.
#[derive(Clone, Debug, serde::Serialize, utoipa::ToSchema)]
pub struct AuditRow {
    /// Position in the workspace's chain; also the pagination cursor.
    pub seq: i64,
    #[schema(value_type = String, format = DateTime)]
    pub at: Timestamp,
    /// `user:ID`, `token:ID:user:ID` or `system:WHAT`.
    pub actor: String,
    pub request_id: Option<String>,
    pub entity: String,
    pub entity_id: i64,
    pub action: String,
    pub changes: Vec<FieldChange>,
}

/// Filters for listing rows; every one is optional and they combine with AND.
#[derive(Clone, Debug, Default)]
pub struct AuditFilter {
    pub entity: Option<String>,
    pub entity_id: Option<i64>,
    /// Rows caused by this user, through the UI or one of their tokens.
    pub actor_user_id: Option<i64>,
    pub action: Option<AuditAction>,
    pub from: Option<Timestamp>,
    pub to: Option<Timestamp>,
}

/// Where a page of rows continues: rows older than this position. Opaque to clients.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cursor(pub(super) i64);

impl Cursor {
    pub fn parse(raw: &str) -> Option<Self> {
        raw.parse().ok().filter(|seq| *seq > 0).map(Self)
    }
}

impl std::fmt::Display for Cursor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// Newest rows first; `next` continues with older ones and is absent on the last page.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next: Option<String>,
}

/// Every column of a row except its own hash, in the form the hash covers.
pub(super) struct Hashed<'a> {
    pub workspace: WorkspaceId,
    pub log: Log,
    pub seq: i64,
    pub at: Timestamp,
    pub actor: &'a str,
    pub actor_user_id: Option<i64>,
    pub request_id: Option<&'a str>,
    pub entity: &'a str,
    pub entity_id: i64,
    pub action: &'a str,
    pub changes: &'a str,
    pub prev_hash: &'a str,
}

impl Hashed<'_> {
    /// SHA-256 (hex) over a length-prefixed encoding of every column: no two different rows
    /// encode alike, and the timestamp is taken in microseconds, the precision both databases
    /// keep, so a row read back hashes as it was written.
    pub fn hash(&self) -> String {
        let mut hasher = Sha256::new();
        let mut field = |value: Option<&[u8]>| match value {
            None => hasher.update([0u8]),
            Some(bytes) => {
                hasher.update([1u8]);
                hasher.update((bytes.len() as u64).to_be_bytes());
                hasher.update(bytes);
            }
        };
        field(Some(b"rapport-audit-1"));
        field(Some(&self.workspace.get().to_be_bytes()));
        field(Some(self.log.as_str().as_bytes()));
        field(Some(&self.seq.to_be_bytes()));
        field(Some(&self.at.timestamp_micros().to_be_bytes()));
        field(Some(self.actor.as_bytes()));
        field(self.actor_user_id.map(i64::to_be_bytes).as_ref().map(|b| b.as_slice()));
        field(self.request_id.map(str::as_bytes));
        field(Some(self.entity.as_bytes()));
        field(Some(&self.entity_id.to_be_bytes()));
        field(Some(self.action.as_bytes()));
        field(Some(self.changes.as_bytes()));
        field(Some(self.prev_hash.as_bytes()));
        hex::encode(hasher.finalize())
    }
}

/// What verification found wrong with a chain, at the first row where it went wrong.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProblemKind {
    /// The row's content no longer matches its hash, or its link to the row before is broken.
    Changed,
    /// A row that should be there is missing.
    Deleted,
    /// A row the chain never recorded is present.
    Inserted,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    pub workspace: WorkspaceId,
    pub log: Log,
    pub seq: i64,
    pub kind: ProblemKind,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let what = match self.kind {
            ProblemKind::Changed => "was changed",
            ProblemKind::Deleted => "was deleted",
            ProblemKind::Inserted => "was inserted",
        };
        write!(f, "workspace {} {} log: row {} {what}", self.workspace, self.log.as_str(), self.seq)
    }
}

/// The outcome of [`super::verify`]: how much was checked and the first problem of each chain.
#[derive(Clone, Debug, Default)]
pub struct VerifyReport {
    pub chains: usize,
    pub rows: u64,
    pub problems: Vec<Problem>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row<'a>(changes: &'a str, request_id: Option<&'a str>) -> Hashed<'a> {
        Hashed {
            workspace: WorkspaceId::new(1),
            log: Log::Audit,
            seq: 1,
            at: chrono::DateTime::from_timestamp_micros(1_700_000_000_000_001).unwrap_or_default(),
            actor: "user:1",
            actor_user_id: Some(1),
            request_id,
            entity: "person",
            entity_id: 7,
            action: "update",
            changes,
            prev_hash: "",
        }
    }

    #[test]
    fn any_change_to_a_column_changes_the_hash() {
        let base = row("[]", None).hash();
        assert_eq!(base, row("[]", None).hash());
        assert_ne!(base, row("[ ]", None).hash());
        assert_ne!(base, row("[]", Some("")).hash(), "an empty request id differs from none");
    }

    #[test]
    fn every_action_round_trips_through_its_name() {
        for action in [AuditAction::Create, AuditAction::LoginFailed, AuditAction::TwoFactorDisabled] {
            assert_eq!(AuditAction::parse(action.as_str()), Some(action));
        }
        assert_eq!(AuditAction::parse("nothing"), None);
    }
}
