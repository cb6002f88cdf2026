//! `rapport import`: uploads a file from this machine into a workspace and runs the import in
//! this process with a progress bar (rows/s, ETA), acting as a member (the first owner unless
//! `--as` names one). The import is a durable job like one started from the pages: interrupted
//! (Ctrl-C, a crash), it resumes from the first uncommitted row with `--resume ID`, or in a
//! running server's worker.

use std::path::PathBuf;
use std::time::Duration;

use clap::Args;
use rapport_core::{Email, WorkspaceId};
use rapport_db::Db;
use tokio_util::sync::CancellationToken;

use super::model::{Column, DuplicatePolicy, Duplicates, Import, MatchOn, Mode, Object, Status};
use super::service::{self, ImportError, StartRequest};
use crate::config::Config;

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The workspace id.
    #[arg(long)]
    pub workspace: i64,
    /// What the rows are.
    #[arg(long, default_value = "people")]
    pub object: String,
    /// The CSV, XLSX or vCard file (required unless --resume).
    #[arg(long, required_unless_present = "resume")]
    pub file: Option<PathBuf>,
    /// Fill FIELD from COLUMN (a vocabulary name or custom field key; empty FIELD skips the
    /// column); repeatable. Columns not named keep the suggested field.
    #[arg(long = "map", value_name = "COLUMN=FIELD")]
    pub map: Vec<String>,
    /// The column holding the id another system knows each row by; rows are matched by it.
    #[arg(long, value_name = "COLUMN")]
    pub external_id_column: Option<String>,
    /// `create` new records, only `update` matched ones, or `upsert`.
    #[arg(long, default_value = "create")]
    pub mode: String,
    /// What finds an existing record: `email` or `external_id` (the default with
    /// --external-id-column).
    #[arg(long = "match")]
    pub match_on: Option<String>,
    /// `iso`, `yyyymmdd`, `dd/mm/yyyy` or `mm/dd/yyyy`, when the dates do not tell.
    #[arg(long)]
    pub date_format: Option<String>,
    /// Columns that fill no field become new text custom fields.
    #[arg(long)]
    pub create_fields: bool,
    /// Rows that would create someone probably there already (or created by an earlier row):
    /// `flag` creates them with a warning, `skip` refuses them into the error report, `merge`
    /// fills in the person already there instead.
    #[arg(long, value_name = "flag|skip|merge")]
    pub duplicates: Option<String>,
    /// The probability (0–1) from which someone counts as a possible duplicate.
    #[arg(long, value_name = "P", requires = "duplicates")]
    pub duplicate_threshold: Option<f64>,
    /// Check every row and report, writing nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Act as this member (default: the workspace's first owner).
    #[arg(long = "as", value_name = "EMAIL")]
    pub as_member: Option<String>,
    /// Continue an interrupted import instead of starting one.
    #[arg(long, value_name = "ID", conflicts_with = "file")]
    pub resume: Option<i64>,
}

/// A column header as a custom field key: lower-case letters, digits and `_`, starting with a
/// letter.
fn field_key(header: &str) -> String {
    use unicode_normalization::UnicodeNormalization;
    let mut key: String = header
        .nfd()
        .filter(|c| !unicode_normalization::char::is_combining_mark(*c))
        .map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '_' })
        .collect();
    while key.contains("__") {
        key = key.replace("__", "_");
    }
    let key = key.trim_matches('_').to_owned();
    if key.starts_with(|c: char| c.is_ascii_alphabetic()) { key } else { format!("f_{key}") }
}

/// The mapping the arguments ask for, over the one suggested for the file's headers.
fn mapping(import: &Import, args: &ImportArgs) -> anyhow::Result<Vec<Column>> {
    let mut mapping = import.settings.mapping.clone();
    let mut set = |column: &str, field: Option<String>, create: bool| -> anyhow::Result<()> {
        let found = mapping.iter_mut().find(|c| c.column == column).ok_or_else(|| {
            anyhow::anyhow!("the file has no column {column:?}; its columns: {}", import.headers.join(", "))
        })?;
        found.field = field;
        found.create = create;
        Ok(())
    };
    if let Some(column) = &args.external_id_column {
        set(column, Some("external_id".into()), false)?;
    }
    for pair in &args.map {
        let (column, field) =
            pair.split_once('=').ok_or_else(|| anyhow::anyhow!("--map {pair:?}: write COLUMN=FIELD"))?;
        set(column.trim(), Some(field.trim().to_owned()).filter(|f| !f.is_empty()), false)?;
    }
    if args.create_fields {
        let named: Vec<&str> = args.map.iter().filter_map(|p| p.split_once('=').map(|(c, _)| c.trim())).collect();
        for column in mapping.iter_mut().filter(|c| c.field.is_none() && !named.contains(&c.column.as_str())) {
            column.field = Some(field_key(&column.column));
            column.create = true;
        }
    }
    Ok(mapping)
}

pub async fn run(args: ImportArgs, config: &Config) -> anyhow::Result<()> {
    let _lock = crate::app::DataLock::shared(config)?;
    let db = Db::connect(&config.db_options()).await?;
    let result = import(&db, &args, config).await;
    db.close().await;
    result
}

async fn import(db: &Db, args: &ImportArgs, config: &Config) -> anyhow::Result<()> {
    let workspace = WorkspaceId::new(args.workspace);
    let email = args.as_member.as_deref().map(Email::parse).transpose().map_err(|e| anyhow::anyhow!("--as {e}"))?;
    let principal = crate::identity::member_principal(db, workspace, email.as_ref())
        .await?
        .ok_or_else(|| anyhow::anyhow!("no such active member in workspace {workspace}"))?;
    let object = Object::parse(&args.object).ok_or_else(|| anyhow::anyhow!("--object must be people"))?;
    let data_dir = config.data_dir.as_path();
    let import = match (args.resume, &args.file) {
        (Some(id), _) => service::get(db, &principal, id).await.map_err(explain)?,
        (None, Some(file)) => {
            let storage = (data_dir, config.imports.max_bytes);
            let uploaded = service::upload_file(db, storage, &principal, object, file).await.map_err(explain)?;
            eprintln!(
                "import {}: {} rows, {} columns ({})",
                uploaded.id,
                uploaded.estimated_rows,
                uploaded.headers.len(),
                super::store::format_name(uploaded.format)
            );
            let mode =
                Mode::parse(&args.mode).ok_or_else(|| anyhow::anyhow!("--mode must be create, update or upsert"))?;
            let match_on = match args.match_on.as_deref() {
                Some(raw) => {
                    MatchOn::parse(raw).ok_or_else(|| anyhow::anyhow!("--match must be email or external_id"))?
                }
                None if args.external_id_column.is_some() => MatchOn::ExternalId,
                None => MatchOn::Email,
            };
            let policy = match args.duplicates.as_deref() {
                Some(raw) => DuplicatePolicy::parse(raw)
                    .filter(|p| *p != DuplicatePolicy::Off)
                    .ok_or_else(|| anyhow::anyhow!("--duplicates must be flag, skip or merge"))?,
                None => DuplicatePolicy::Off,
            };
            let duplicates = Duplicates::new(policy, args.duplicate_threshold)
                .map_err(|_| anyhow::anyhow!("--duplicate-threshold must be a probability between 0 and 1"))?;
            let request = StartRequest {
                mapping: Some(mapping(&uploaded, args)?),
                mode,
                match_on,
                date_format: args.date_format.clone(),
                dry_run: args.dry_run,
                template: None,
                duplicates,
            };
            let started =
                service::start(db, data_dir, &principal, uploaded.id, request, None).await.map_err(explain)?;
            for column in &started.settings.mapping {
                eprintln!("  {:<24} -> {}", column.column, column.field.as_deref().unwrap_or("(not imported)"));
            }
            started
        }
        (None, None) => anyhow::bail!("--file is required"),
    };
    if !matches!(import.status, Status::Queued | Status::Running) {
        anyhow::bail!("import {} is {}: nothing to run", import.id, import.status.as_str());
    }
    let bar = indicatif::ProgressBar::new(u64::try_from(import.estimated_rows).unwrap_or(0));
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] {wide_bar} {pos}/{len} rows {per_sec} ETA {eta} {msg}",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    bar.enable_steady_tick(Duration::from_millis(200));
    bar.set_position(u64::try_from(import.rows_done()).unwrap_or(0));
    bar.reset_eta();
    let cancelled = CancellationToken::new();
    let on_signal = cancelled.clone();
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            on_signal.cancel();
        }
    });
    let shown = bar.clone();
    let progress = move |now: &Import| {
        shown.set_position(u64::try_from(now.rows_done()).unwrap_or(0));
        shown.set_message(format!("{} refused", now.counts.rejected));
    };
    let ran =
        service::run(db, data_dir, (workspace, import.id), (config.imports.batch_rows, 1), &cancelled, &progress).await;
    bar.finish_and_clear();
    let after = service::get(db, &principal, import.id).await.map_err(explain)?;
    match ran {
        Err(ImportError::Interrupted) => {
            anyhow::bail!(
                "import {} interrupted after {} rows; continue with `rapport import --workspace {} --resume {}`",
                after.id,
                after.rows_done(),
                workspace,
                after.id
            )
        }
        Err(err) => return Err(explain(err)),
        Ok(()) => {}
    }
    let c = after.counts;
    let verb = if after.dry_run { "would create" } else { "created" };
    let flagged = match after.settings.duplicates.policy {
        DuplicatePolicy::Off => String::new(),
        DuplicatePolicy::Flag | DuplicatePolicy::Skip | DuplicatePolicy::Merge => {
            format!(", possible duplicates {}", after.possible_duplicates)
        }
    };
    println!(
        "import {}: {}: {} rows, {verb} {}, updated {}, unchanged {}, refused {}{flagged}",
        after.id,
        after.status.as_str(),
        after.rows_done(),
        c.created,
        c.updated,
        c.unchanged,
        c.rejected
    );
    if let Some(error) = &after.error {
        anyhow::bail!("import {} failed: {error}", after.id);
    }
    if c.rejected > 0 || after.possible_duplicates > 0 {
        let report = service::error_report(db, &principal, after.id).await.map_err(explain)?;
        let path = std::env::temp_dir().join(format!("rapport-import-{}-errors.csv", after.id));
        std::fs::write(&path, report)?;
        println!("error report: {}", path.display());
    }
    Ok(())
}

fn explain(err: ImportError) -> anyhow::Error {
    match err {
        ImportError::Invalid(fields) => {
            let lines: Vec<String> =
                fields.iter().map(|(field, messages)| format!("{field}: {}", messages.join("; "))).collect();
            anyhow::anyhow!("{}", lines.join("\n"))
        }
        other => anyhow::anyhow!("{other}"),
    }
}
