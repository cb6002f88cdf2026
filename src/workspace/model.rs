//! Workspace values.

use rapport_core::{Email, UserId, WorkspaceId};

use crate::identity::Password;

/// A workspace's display name: 1 to 100 characters after trimming, no control characters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WorkspaceName(String);

#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum WorkspaceNameError {
    #[error("must not be empty")]
    Empty,
    #[error("must be at most 100 characters")]
    TooLong,
    #[error("must not contain control characters")]
    ControlCharacters,
}

impl WorkspaceName {
    pub fn parse(raw: &str) -> Result<Self, WorkspaceNameError> {
        let name = raw.trim();
        if name.is_empty() {
            return Err(WorkspaceNameError::Empty);
        }
        if name.chars().count() > 100 {
            return Err(WorkspaceNameError::TooLong);
        }
        if name.chars().any(char::is_control) {
            return Err(WorkspaceNameError::ControlCharacters);
        }
        Ok(Self(name.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Everything needed to create a workspace with its first owner.
#[derive(Debug)]
pub struct NewWorkspace {
    pub name: WorkspaceName,
    pub owner_email: Email,
    pub owner_password: Password,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Created {
    pub workspace_id: WorkspaceId,
    pub owner_id: UserId,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_trimmed_and_checked() {
        assert_eq!(WorkspaceName::parse("  Acme  ").map(|n| n.as_str().to_string()), Ok("Acme".into()));
        assert_eq!(WorkspaceName::parse("   "), Err(WorkspaceNameError::Empty));
        assert_eq!(WorkspaceName::parse(&"x".repeat(101)), Err(WorkspaceNameError::TooLong));
        assert_eq!(WorkspaceName::parse("a\u{7}b"), Err(WorkspaceNameError::ControlCharacters));
    }
}
