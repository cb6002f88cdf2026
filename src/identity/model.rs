//! Credentials as parsed values.

use rapport_core::Secret;

/// A password that satisfies the policy: 8 to 128 characters, not on the list of common
/// passwords, no composition rules (NIST SP 800-63B). Held in a [`Secret`] so it never reaches a
/// log.
#[derive(Clone, Debug)]
pub struct Password(Secret<String>);

#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PasswordError {
    #[error("must be at least 8 characters")]
    TooShort,
    #[error("must be at most 128 characters")]
    TooLong,
    #[error("is one of the most common passwords; choose one that is harder to guess")]
    Common,
}

/// Compared in lower case: capitalising a listed password does not make it harder to guess.
static COMMON_PASSWORDS: std::sync::LazyLock<std::collections::HashSet<&'static str>> =
    std::sync::LazyLock::new(|| {
        include_str!("common_passwords.txt").lines().filter(|line| !line.starts_with('#')).collect()
    });

impl Password {
    pub const MIN_CHARS: usize = 8;
    pub const MAX_CHARS: usize = 128;

    pub fn parse(raw: &str) -> Result<Self, PasswordError> {
        let chars = raw.chars().count();
        if chars < Self::MIN_CHARS {
            return Err(PasswordError::TooShort);
        }
        if chars > Self::MAX_CHARS {
            return Err(PasswordError::TooLong);
        }
        if COMMON_PASSWORDS.contains(raw.to_lowercase().as_str()) {
            return Err(PasswordError::Common);
        }
        Ok(Self(Secret::new(raw.to_string())))
    }

    pub fn expose(&self) -> &str {
        self.0.expose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_between_8_and_128_characters_are_accepted() {
        assert!(Password::parse("correct horse").is_ok());
        assert!(Password::parse(&"é".repeat(128)).is_ok());
        assert_eq!(Password::parse("short").err(), Some(PasswordError::TooShort));
        assert_eq!(Password::parse(&"a".repeat(129)).err(), Some(PasswordError::TooLong));
    }

    #[test]
    fn a_listed_common_password_is_refused_in_any_case() {
        assert_eq!(Password::parse("password1").err(), Some(PasswordError::Common));
        assert_eq!(Password::parse("QwErTyUiOp").err(), Some(PasswordError::Common));
        assert!(Password::parse("quietly purple kettle").is_ok());
    }

    #[test]
    fn a_password_never_shows_in_debug_output() {
        let password = Password::parse("hunter2hunter2").expect("valid");
        assert!(!format!("{password:?}").contains("hunter2"));
    }
}

/// A workspace member's role. Custom roles arrive with field-level permissions; these five are
/// built in and cannot be removed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Owner,
    Admin,
    Manager,
    Member,
    Viewer,
}

impl Role {
    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "owner" => Some(Self::Owner),
            "admin" => Some(Self::Admin),
            "manager" => Some(Self::Manager),
            "member" => Some(Self::Member),
            "viewer" => Some(Self::Viewer),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Owner => "owner",
            Self::Admin => "admin",
            Self::Manager => "manager",
            Self::Member => "member",
            Self::Viewer => "viewer",
        }
    }

    /// Whether the role may change workspace-wide settings and other members' access.
    pub fn can_administer(self) -> bool {
        matches!(self, Self::Owner | Self::Admin)
    }
}

/// What an API token may do: everything its user may, or only reading or writing some modules.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
#[serde(into = "String", try_from = "String")]
pub enum Scope {
    All,
    Read(String),
    Write(String),
}

/// The modules a scope can name; grows as modules arrive.
pub const SCOPED_MODULES: &[&str] = &["workspace", "people", "companies", "events", "orders", "segments", "audit"];

impl Scope {
    pub fn parse(raw: &str) -> Result<Self, String> {
        if raw == "all" {
            return Ok(Self::All);
        }
        let (module, access) =
            raw.split_once(':').ok_or_else(|| format!("{raw:?} is not `all` or MODULE:read|write"))?;
        if !SCOPED_MODULES.contains(&module) {
            return Err(format!("{module:?} is not a module ({})", SCOPED_MODULES.join(", ")));
        }
        match access {
            "read" => Ok(Self::Read(module.into())),
            "write" => Ok(Self::Write(module.into())),
            other => Err(format!("{other:?} is not read or write")),
        }
    }

    /// Whether this scope allows `write` (or reading, when false) of `module`. Write implies read.
    pub fn allows(&self, module: &str, write: bool) -> bool {
        match self {
            Self::All => true,
            Self::Read(m) => m == module && !write,
            Self::Write(m) => m == module,
        }
    }
}

impl From<Scope> for String {
    fn from(scope: Scope) -> Self {
        match scope {
            Scope::All => "all".into(),
            Scope::Read(m) => format!("{m}:read"),
            Scope::Write(m) => format!("{m}:write"),
        }
    }
}

impl TryFrom<String> for Scope {
    type Error = String;

    fn try_from(raw: String) -> Result<Self, Self::Error> {
        Self::parse(&raw)
    }
}

#[cfg(test)]
mod scope_tests {
    use super::*;

    #[test]
    fn scopes_parse_and_write_implies_read() {
        assert_eq!(Scope::parse("all"), Ok(Scope::All));
        let write = Scope::parse("people:write").expect("valid");
        assert!(write.allows("people", true) && write.allows("people", false));
        assert!(!write.allows("companies", false));
        let read = Scope::parse("people:read").expect("valid");
        assert!(read.allows("people", false) && !read.allows("people", true));
        assert!(Scope::parse("people:admin").is_err());
        assert!(Scope::parse("nothing:read").is_err());
    }
}

/// What a permission allows doing to a module's records.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    Read,
    Create,
    Update,
    Delete,
    Import,
    Export,
    /// Settings of the module itself, and for `workspace` the workspace's members and roles.
    Admin,
}

impl Action {
    pub const ALL: [Self; 7] =
        [Self::Read, Self::Create, Self::Update, Self::Delete, Self::Import, Self::Export, Self::Admin];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Read => "read",
            Self::Create => "create",
            Self::Update => "update",
            Self::Delete => "delete",
            Self::Import => "import",
            Self::Export => "export",
            Self::Admin => "admin",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|action| action.as_str() == raw)
    }
}

/// Which records a permission reaches: the caller's own, those owned by a member of one of the
/// caller's teams (own included), or all of the workspace's. Ordered from narrow to wide.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reach {
    Own,
    Team,
    All,
}

impl Reach {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Own => "own",
            Self::Team => "team",
            Self::All => "all",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        [Self::Own, Self::Team, Self::All].into_iter().find(|reach| reach.as_str() == raw)
    }
}

/// One permission of a custom role: `module` × `action` × `reach`.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Grant {
    pub module: String,
    pub action: Action,
    pub reach: Reach,
}

impl Grant {
    /// `MODULE:ACTION:REACH`, e.g. `people:update:team`.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let mut parts = raw.trim().splitn(3, ':');
        let (module, action, reach) = (parts.next(), parts.next(), parts.next());
        let module = module.filter(|m| SCOPED_MODULES.contains(m)).ok_or_else(|| format!("{raw:?}: unknown module"))?;
        let action = action.and_then(Action::parse).ok_or_else(|| format!("{raw:?}: unknown action"))?;
        let reach = reach.and_then(Reach::parse).ok_or_else(|| format!("{raw:?}: reach must be own, team or all"))?;
        Ok(Self { module: module.to_owned(), action, reach })
    }
}

impl std::fmt::Display for Grant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}:{}", self.module, self.action.as_str(), self.reach.as_str())
    }
}

/// A member's effective permissions: a built-in role's fixed set, or a custom role's grants.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Permissions {
    Builtin(Role),
    Custom { role_id: i64, grants: Vec<Grant> },
}

impl Permissions {
    /// How far `action` on `module` reaches, or `None` when it is not allowed.
    pub fn reach(&self, module: &str, action: Action) -> Option<Reach> {
        match self {
            Self::Builtin(role) => role.reach(action),
            Self::Custom { grants, .. } => {
                grants.iter().filter(|g| g.module == module && g.action == action).map(|g| g.reach).max()
            }
        }
    }

    /// The key field-level rules are stored under: the built-in role's name or `role:ID`.
    pub fn role_key(&self) -> String {
        match self {
            Self::Builtin(role) => role.as_str().to_owned(),
            Self::Custom { role_id, .. } => format!("role:{role_id}"),
        }
    }
}

impl Role {
    pub const ALL: [Self; 5] = [Self::Owner, Self::Admin, Self::Manager, Self::Member, Self::Viewer];

    /// The fixed permission set of a built-in role, the same for every module: viewers read;
    /// members read and create, and change or delete their own records; managers change and
    /// delete their teams' records and import and export; admins and owners do everything.
    fn reach(self, action: Action) -> Option<Reach> {
        use Action::{Admin, Create, Delete, Export, Import, Read, Update};
        match (self, action) {
            (Self::Owner | Self::Admin, _) | (_, Read) => Some(Reach::All),
            (Self::Viewer, _) | (Self::Member | Self::Manager, Admin) | (Self::Member, Import | Export) => None,
            (Self::Member | Self::Manager, Create) | (Self::Manager, Import | Export) => Some(Reach::All),
            (Self::Member, Update | Delete) => Some(Reach::Own),
            (Self::Manager, Update | Delete) => Some(Reach::Team),
        }
    }
}

#[cfg(test)]
mod permission_tests {
    use super::*;

    #[test]
    fn built_in_roles_map_to_their_fixed_sets() {
        let reach = |role, action| Permissions::Builtin(role).reach("people", action);
        assert_eq!(reach(Role::Viewer, Action::Read), Some(Reach::All));
        assert_eq!(reach(Role::Viewer, Action::Create), None);
        assert_eq!(reach(Role::Member, Action::Create), Some(Reach::All));
        assert_eq!(reach(Role::Member, Action::Update), Some(Reach::Own));
        assert_eq!(reach(Role::Member, Action::Export), None);
        assert_eq!(reach(Role::Manager, Action::Delete), Some(Reach::Team));
        assert_eq!(reach(Role::Manager, Action::Admin), None);
        assert_eq!(reach(Role::Admin, Action::Admin), Some(Reach::All));
    }

    #[test]
    fn a_custom_role_allows_only_its_grants_at_their_widest() {
        let grants = vec![Grant::parse("people:update:own").unwrap(), Grant::parse("people:update:team").unwrap()];
        let custom = Permissions::Custom { role_id: 3, grants };
        assert_eq!(custom.reach("people", Action::Update), Some(Reach::Team));
        assert_eq!(custom.reach("people", Action::Read), None);
        assert_eq!(custom.reach("companies", Action::Update), None);
        assert_eq!(custom.role_key(), "role:3");
        assert!(Grant::parse("people:fly:all").is_err() && Grant::parse("nowhere:read:all").is_err());
    }
}
