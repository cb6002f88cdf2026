//! Bulk actions on people and companies: tag, untag, set the owner, set a field, delete to the
//! trash, or export, on explicit ids or on everything matching a list filter. Each request is
//! a durable job run in the requester's name, a batch at a time in id order, that changes every
//! record through its object's own use case (so reach, field rules, validation, audit rows and
//! domain events are those of a single edit) and saves its progress after each batch, so a
//! restarted server resumes it. An export is handed to the export module as one export of the
//! same selection. This module owns the `bulk_jobs` table. See `docs/bulk-actions.md`.

pub mod api;
mod model;
mod service;
mod store;
pub mod web;

use rapport_jobs::{JobContext, Registry};

pub use model::{Action, BulkJob, BulkRequest, NewBulk, Object, RecordError, Selection, Status};
pub use service::{BulkError, MAX_ATTEMPTS, cancel, get, request, run, step};

/// The job that runs one bulk action.
pub const RUN_JOB: &str = "bulk.run";

#[derive(serde::Deserialize)]
struct Planned {
    workspace_id: rapport_core::WorkspaceId,
    bulk_id: i64,
}

/// Registers the bulk job; `batch` records are changed between two saves of its progress.
pub fn register(registry: Registry, batch: i64) -> Registry {
    registry.handle(RUN_JOB, move |ctx: JobContext| async move {
        let planned: Planned = serde_json::from_value(ctx.payload)?;
        run(&ctx.db, (planned.workspace_id, planned.bulk_id), (batch, ctx.attempt), &ctx.cancelled).await?;
        Ok(())
    })
}
