//! Identity: the people who sign in to Rapport (users) and their credentials. Workspaces,
//! memberships and roles build on it; sessions, tokens and 2FA arrive here too.

mod model;
mod service;
mod store;

pub use model::{Password, PasswordError};
pub use service::{IdentityError, create_user, hash_password, verify_password};
