//! `import-1m`: Rapport importing the contacts CSV of `import-raw` (eight columns, unique
//! e-mail addresses) into a workspace, as `rapport import` does: the file copied into the data
//! directory and counted, then the run with every row checked and stored with its audit row,
//! domain event, custom values and search document, matched by e-mail (create mode), a batch
//! per transaction. The two columns without a built-in field (company, title) go into text
//! custom fields created for them. `--import-duplicates flag` (or `skip`) also checks every
//! row for possible duplicates, of the people already imported and of its batch. The baseline is the raw loader with the unique index built
//! after the load, measured on the same file in the same invocation.

use std::time::Instant;

use anyhow::Context as _;
use rapport_db::{Db, DbOptions, sql};
use tokio_util::sync::CancellationToken;

use super::report::{Measurement, Report, Run};
use super::system::peak_rss_bytes;
use super::{Context, Scenario};
use crate::import::{Column, DuplicatePolicy, Duplicates, MatchOn, Mode, Object, StartRequest};

pub const SCENARIO: Scenario = Scenario {
    name: "import-1m",
    summary: "Rapport importing the import-raw contacts CSV; ratio to the raw loader with the index built after",
    run: |cx| Box::pin(run(cx)),
};

/// Rows committed per transaction, as the default configuration does.
const BATCH: usize = 5000;

/// The contacts file's columns and the fields they fill.
const MAPPING: [(&str, &str, bool); 8] = [
    ("first_name", "first_name", false),
    ("last_name", "last_name", false),
    ("email", "email", false),
    ("phone", "phone", false),
    ("company", "company_name", true),
    ("title", "job_title", true),
    ("address.city", "address.city", false),
    ("address.country", "address.country", false),
];

async fn run(cx: &Context) -> anyhow::Result<Report> {
    let (csv, rows) = super::import_raw::contacts(cx).await?;

    let db = Db::connect(&DbOptions::new(cx.target.database_url())).await?;
    let new = crate::workspace::NewWorkspace {
        name: crate::workspace::WorkspaceName::parse("Benchmark").map_err(|e| anyhow::anyhow!("{e}"))?,
        owner_email: rapport_core::Email::parse("bench@example.com").map_err(|e| anyhow::anyhow!("{e}"))?,
        owner_password: crate::identity::Password::parse("a benchmark passphrase")?,
    };
    let workspace = crate::workspace::create_with_owner(&db, new, "system:bench").await?.workspace_id;
    let owner = crate::identity::member_principal(&db, workspace, None)
        .await?
        .context("the benchmark workspace has no owner")?;
    let data_dir = cx.target.scratch().join("data");
    tokio::fs::create_dir_all(&data_dir).await?;

    eprintln!("importing {rows} contacts");
    let started = Instant::now();
    let import = crate::import::upload_file(&db, (&data_dir, u64::MAX), &owner, Object::People, &csv)
        .await
        .map_err(|e| anyhow::anyhow!("uploading: {e}"))?;
    let mapping = MAPPING
        .iter()
        .map(|(column, field, create)| Column {
            column: (*column).into(),
            field: Some((*field).into()),
            create: *create,
        })
        .collect();
    let request = StartRequest {
        mapping: Some(mapping),
        mode: Mode::Create,
        match_on: MatchOn::Email,
        duplicates: Duplicates { policy: cx.import_duplicates, ..Duplicates::default() },
        ..StartRequest::default()
    };
    crate::import::start(&db, &data_dir, &owner, import.id, request, None)
        .await
        .map_err(|e| anyhow::anyhow!("starting: {e:?}"))?;
    crate::import::run(&db, &data_dir, (workspace, import.id), (BATCH, 1), &CancellationToken::new(), &|_| {})
        .await
        .map_err(|e| anyhow::anyhow!("running: {e}"))?;
    let seconds = started.elapsed().as_secs_f64();
    let done = crate::import::get(&db, &owner, import.id).await.map_err(|e| anyhow::anyhow!("{e}"))?;
    let stored: i64 = sql!(db.exec(), c => sqlx::query_scalar("SELECT count(*) FROM people WHERE workspace_id = $1")
        .bind(workspace).fetch_one(c).await)?;
    // About 1 % of the generated phone numbers are outside the ranges libphonenumber accepts:
    // those rows are refused into the error report, as any import would refuse them.
    anyhow::ensure!(
        done.counts.created + done.counts.rejected == i64::try_from(rows)? && stored == done.counts.created,
        "the import created {} people and refused {} of {rows} rows, and {stored} are stored",
        done.counts.created,
        done.counts.rejected
    );
    eprintln!(
        "created {}, refused {} (phone numbers outside the numbering plans), possible duplicates {}",
        done.counts.created, done.counts.rejected, done.possible_duplicates
    );
    db.close().await;
    let peak = peak_rss_bytes(std::process::id());
    let label = match cx.import_duplicates {
        DuplicatePolicy::Off => "import, unique e-mails, create mode",
        DuplicatePolicy::Flag => "import, unique e-mails, create mode, duplicates flagged",
        DuplicatePolicy::Skip => "import, unique e-mails, create mode, duplicates skipped",
        DuplicatePolicy::Merge => "import, unique e-mails, create mode, duplicates merged",
    };
    let measured = Measurement::new(label, "rapport", "rows", rows, seconds).with_peak_rss(peak, "rapport");

    let baselines = super::import_raw::baselines(cx, &csv, rows).await?;
    let after = baselines
        .into_iter()
        .find(|b| b.label == "unique index built after")
        .context("the raw loader's index-after variant")?;
    Report::new(cx, SCENARIO.name, vec![Run::against(measured, after)], 0)
}
