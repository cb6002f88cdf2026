//! Exports of the people and companies lists to CSV, JSON Lines, XLSX and vCard 4.0. An export
//! takes the list's own filter, runs as a durable job in the requester's name (their reach and
//! field rules decide what it holds, exactly as on the list), streams the list a page at a time
//! into a file in the data directory, and offers it behind a signed link that expires after
//! [`LINK_TTL`]; a recurring sweep removes expired files. This module owns the `exports` table;
//! each request lands in the security log. See `docs/export.md`.

pub mod api;
mod format;
mod model;
mod service;
mod store;
mod vcard;
pub mod web;

use std::path::PathBuf;

use rapport_jobs::{JobContext, NewJob, Registry, Schedule};

pub use format::neutralised;
pub use model::{CompaniesFilter, Export, ExportRequest, Format, ListFilter, NewExport, Object, PeopleFilter, Status};
pub use service::{ExportError, LINK_TTL, MAX_ATTEMPTS, download_url, file_path, get, mine, request, sweep};

/// The job that writes one export's file.
pub const RUN_JOB: &str = "export.run";
/// The recurring job that removes expired exports' files.
pub const SWEEP_JOB: &str = "export.sweep";

/// The key export links are signed with, for this installation.
pub fn link_key(data_dir: &std::path::Path) -> std::io::Result<[u8; 32]> {
    crate::app::installation_key(data_dir, "export-link")
}

#[derive(serde::Deserialize)]
struct Planned {
    workspace_id: rapport_core::WorkspaceId,
    export_id: i64,
}

/// Registers the export job and the hourly sweep; files live under `data_dir`.
pub fn register(registry: Registry, schedules: &mut Vec<Schedule>, data_dir: PathBuf) -> Registry {
    schedules.push(Schedule::new(SWEEP_JOB, std::time::Duration::from_secs(3600), |_| {
        NewJob::new(SWEEP_JOB, serde_json::Value::Null).queue("maintenance")
    }));
    let sweep_dir = data_dir.clone();
    registry
        .handle(RUN_JOB, move |ctx: JobContext| {
            let data_dir = data_dir.clone();
            async move {
                let planned: Planned = serde_json::from_value(ctx.payload)?;
                let export = (planned.workspace_id, planned.export_id);
                service::run(&ctx.db, &data_dir, export, (ctx.attempt, &ctx.cancelled)).await?;
                Ok(())
            }
        })
        .handle(SWEEP_JOB, move |ctx: JobContext| {
            let data_dir = sweep_dir.clone();
            async move {
                let swept = sweep(&ctx.db, &data_dir).await?;
                tracing::info!(swept, "removed the files of expired exports");
                Ok(())
            }
        })
}
