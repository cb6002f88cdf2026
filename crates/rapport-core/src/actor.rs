//! Who caused a change: recorded with every domain event and audit row, so that history can
//! always answer "who did this, and through what".

use std::fmt;

use crate::UserId;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Actor {
    /// A person in the web UI.
    User(UserId),
    /// A person through one of their API tokens.
    Token { user: UserId, token: i64 },
    /// Rapport itself: a job, the scheduler, the command line or setup (`job:contact.merge`).
    System(String),
}

impl fmt::Display for Actor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::User(user) => write!(f, "user:{user}"),
            Self::Token { user, token } => write!(f, "token:{token}:user:{user}"),
            Self::System(what) => write!(f, "system:{what}"),
        }
    }
}
