//! Access control beyond the built-in roles: custom roles (module × action × reach grants),
//! teams (what reach `team` means) and field-level rules (a field hidden from or read-only for
//! a role). Identity builds each caller's [`crate::identity::Principal`] with the permissions
//! found here; every other module asks the principal (`can`, `may`), learns which records an
//! action reaches through [`record_filter`], and projects and checks records through
//! [`FieldAccess`].
//!
//! Every change here is an administrative act: it needs `workspace` × `admin` and lands in the
//! security log.

mod model;
mod service;
mod store;
pub mod web;

pub use model::{FieldAccess, FieldRule, ForbiddenField, Name, OwnerFilter, RoleSummary, owner_allowed};
pub use service::{
    AccessError, add_to_team, assign_role, create_role, create_team, field_access, grants, record_filter, roles,
    set_field_rule, set_grants, team_by_name, team_mates,
};
