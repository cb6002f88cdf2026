//! Import: CSV, XLSX and vCard files into people, from the pages, the API and the command line.
//! A file is uploaded once and kept under the data directory; its columns are mapped onto the
//! field vocabulary (suggested from the headers, saved as templates); a dry run reports what
//! would be refused; the run itself is a durable job that streams the file in constant memory
//! and commits a batch of rows per transaction together with its progress, so an interrupted
//! run resumes at the first uncommitted row and no row is written twice. Every refused row goes
//! to a downloadable error report. Rows that would create someone probably there already can
//! be flagged or skipped (`Duplicates`). A finished import can be undone. This module owns the
//! `imports`, `import_records`, `import_rejections`, `import_duplicates` and `import_templates`
//! tables. See `docs/import.md`.

pub mod api;
pub mod cli;
mod model;
pub mod read;
mod service;
mod store;
pub mod web;

use std::path::PathBuf;

use rapport_jobs::{JobContext, Registry};

pub use model::{
    Column, Counts, DuplicateOf, DuplicatePolicy, DuplicateWarning, Duplicates, Import, MatchOn, Mode, Object,
    Rejection, Settings, Status, suggested,
};
pub use service::{
    ImportError, MAX_ATTEMPTS, StartRequest, Upload, cancel, duplicate_warnings, error_report, file_path, get, preview,
    recent, rejected_rows, run, run_undo, start, templates, undo, upload, upload_file,
};

/// Whether a request uploads a file to import, whose body may be as large as
/// `imports.max_bytes`.
pub fn is_upload(method: &axum::http::Method, path: &str) -> bool {
    method == axum::http::Method::POST && (path == api::UPLOAD_PATH || path == web::UPLOAD_PATH)
}

/// The job that runs an import.
pub const RUN_JOB: &str = "import.run";
/// The job that undoes one.
pub const UNDO_JOB: &str = "import.undo";

#[derive(serde::Deserialize)]
struct Planned {
    workspace_id: rapport_core::WorkspaceId,
    import_id: i64,
    user_id: Option<rapport_core::UserId>,
}

/// Registers the import jobs; `batch` rows are committed per transaction.
pub fn register(registry: Registry, data_dir: PathBuf, batch: usize) -> Registry {
    registry
        .handle(RUN_JOB, move |ctx: JobContext| {
            let data_dir = data_dir.clone();
            async move {
                let planned: Planned = serde_json::from_value(ctx.payload)?;
                let job = (planned.workspace_id, planned.import_id);
                run(&ctx.db, &data_dir, job, (batch, ctx.attempt), &ctx.cancelled, &|_| {}).await?;
                Ok(())
            }
        })
        .handle(UNDO_JOB, |ctx: JobContext| async move {
            let planned: Planned = serde_json::from_value(ctx.payload)?;
            let user = planned.user_id.ok_or_else(|| anyhow::anyhow!("an undo job names the member who asked"))?;
            run_undo(&ctx.db, (planned.workspace_id, planned.import_id, user), &ctx.cancelled).await?;
            Ok(())
        })
}
