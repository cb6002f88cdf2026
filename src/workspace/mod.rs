//! Workspaces: the tenants of Rapport. Every business row belongs to one; this module creates
//! them with their first owner, and runs the one-time setup of a fresh installation.

mod model;
mod service;
mod store;
pub mod web;

pub use model::{Created, NewWorkspace, WorkspaceName};
pub use service::{
    SetupToken, WorkspaceError, complete_setup, create_with_owner, needs_setup, setup_token_valid, start_setup,
};
