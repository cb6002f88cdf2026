//! Workspaces: the tenants of Rapport. Every business row belongs to one; this module creates
//! them with their first owner, keeps their settings (currency, time zone, locale, country), and
//! runs the one-time setup of a fresh installation.

pub mod api;
mod model;
mod service;
mod settings;
mod store;
pub mod web;

pub use model::{Created, NewWorkspace, WorkspaceName};
pub use service::{
    SetupToken, WorkspaceError, complete_setup, create_with_owner, create_with_verified_owner, needs_setup, settings,
    setup_token_valid, start_setup, update_settings,
};
pub use settings::{Locale, WorkspaceSettings};
