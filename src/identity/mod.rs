//! Identity: the people who sign in to Rapport (users) and their credentials. Workspaces,
//! memberships and roles build on it; sessions, tokens and 2FA arrive here too, and so do the
//! workspace's members, their invitations and email verification.

/// Marks forms whose `csrf_token` field [`crate::http::auth::SessionForm`] checks.
macro_rules! csrf_protected {
    ($($form:ty),*) => {$(
        impl crate::http::auth::CsrfProtected for $form {
            fn csrf_token(&self) -> &str {
                &self.csrf_token
            }
        }
    )*};
}

mod account;
pub mod account_api;
mod account_store;
pub mod account_web;
pub mod api;
mod auth;
pub mod invitation;
mod invitation_store;
mod members;
pub mod members_api;
mod members_store;
pub mod members_web;
mod model;
pub mod reset;
pub(crate) mod secret;
mod service;
mod snapshot;
mod store;
pub mod two_factor;
mod two_factor_secret;
mod two_factor_store;
pub mod verify;
pub mod web;

pub use account::{AccountError, revoke_all_sessions};
pub use auth::{
    AuthError, ClientInfo, CreatedToken, Credential, NewSession, Principal, SESSION_ABSOLUTE, SESSION_IDLE,
    check_password, create_token, end_session, member_by_email, member_principal, session_principal, start_session,
    token_principal,
};
pub use model::{Action, Grant, Password, PasswordError, Permissions, Reach, Role, SCOPED_MODULES, Scope};
pub use service::{IdentityError, create_user, hash_password, member_email, password_evaluations, verify_password};
pub use snapshot::Snapshot;
