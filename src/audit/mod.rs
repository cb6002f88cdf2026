//! The audit trail and the security log: who changed what, and who signed in, created a token
//! or changed a permission. Other modules call [`record`] (business changes) or
//! [`record_security`] inside their own write transaction, so an entry exists exactly when the
//! change committed. Rows are append-only and hash-chained per workspace and log; [`verify`]
//! walks the chains and names the first changed, inserted or deleted row, and [`prune`] drops
//! rows past the retention period while keeping what remains verifiable.
//!
//! This module reads and writes only its own tables; it knows nothing of the records it
//! describes beyond an entity name and id.

pub mod api;
mod model;
mod service;
mod store;
pub mod web;

pub use model::{
    AuditAction, AuditEntry, AuditFilter, AuditRow, Cursor, Log, Page, Problem, ProblemKind, VerifyReport,
};
pub use service::{
    AuditError, PRUNE_AUDIT, SECURITY_SUBSCRIBER, history, list, prune, record, record_many, record_security,
    record_setting, retention_cutoff, schedule, subscribe, verify,
};
