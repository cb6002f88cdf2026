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

    /// Whether the role may change data at all; viewers only read.
    pub fn can_write(self) -> bool {
        !matches!(self, Self::Viewer)
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
pub const SCOPED_MODULES: &[&str] = &["workspace", "people", "companies", "events", "orders", "segments"];

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
