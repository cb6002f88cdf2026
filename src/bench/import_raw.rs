//! `import-raw`: the raw-database baseline of contact import. The generator writes a contacts
//! CSV (eight columns, unique e-mail addresses), then the database's own bulk loader reads it
//! three ways: into a table without index, with the unique e-mail index built after the load,
//! and with it in place before. On SQLite the loader is the `sqlite3` program's `.import` (WAL,
//! `synchronous=FULL`, 256 MiB cache); on PostgreSQL it is `COPY … FROM STDIN`.
//!
//! Rapport's own import (a later scenario) reports its ratio against [`baselines`].

use std::path::Path;
use std::process::Stdio;
use std::str::FromStr;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use sqlx::postgres::PgConnectOptions;
use sqlx::{ConnectOptions, Connection};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::process::Command;

use super::report::{Measurement, Report, Run};
use super::system::peak_rss_bytes;
use super::{Context, Scenario};
use rapport_db::Backend;

pub const SCENARIO: Scenario = Scenario {
    name: "import-raw",
    summary: "sqlite3 .import or PostgreSQL COPY of a contacts CSV: no index, unique index after, before",
    run: |cx| Box::pin(run(cx)),
};

const SEED: u64 = 42;
const TABLE: &str = "CREATE TABLE contacts (first_name TEXT, last_name TEXT, email TEXT NOT NULL, phone TEXT, company TEXT, title TEXT, city TEXT, country TEXT)";
const INDEX: &str = "CREATE UNIQUE INDEX contacts_email ON contacts (email)";

#[derive(Clone, Copy, PartialEq, Eq)]
enum Index {
    Absent,
    After,
    Before,
}

const VARIANTS: [(Index, &str); 3] =
    [(Index::Absent, "no index"), (Index::After, "unique index built after"), (Index::Before, "unique index before")];

async fn run(cx: &Context) -> anyhow::Result<Report> {
    let (csv, rows) = contacts(cx).await?;
    let runs = baselines(cx, &csv, rows).await?.into_iter().map(Run::alone).collect();
    // The headline is the load with the unique index built after it: the baseline Rapport's own
    // import is measured against.
    Report::new(cx, SCENARIO.name, runs, 1)
}

/// Writes the scale's contacts CSV into the scenario's scratch directory; answers its path and
/// row count.
pub async fn contacts(cx: &Context) -> anyhow::Result<(std::path::PathBuf, u64)> {
    let rows = cx.scale.rows();
    let csv = cx.target.scratch().join("contacts.csv");
    let path = csv.clone();
    tokio::task::spawn_blocking(move || crate::r#gen::write_contacts(&path, rows, SEED))
        .await
        .context("the contacts generator panicked")?
        .context("writing the contacts file")?;
    Ok((csv, rows))
}

/// The raw loader reading `csv` (with a header line and `rows` rows of the contacts columns)
/// into a fresh table of the scenario's database, once per index variant.
pub async fn baselines(cx: &Context, csv: &Path, rows: u64) -> anyhow::Result<Vec<Measurement>> {
    let mut measurements = Vec::new();
    for (number, (index, label)) in VARIANTS.into_iter().enumerate() {
        let measurement = match cx.target.backend() {
            Backend::Sqlite => {
                let database = cx.target.scratch().join(format!("import-{number}.db"));
                sqlite3_import(&database, csv, rows, index).await?
            }
            Backend::Postgres => copy(&cx.target.database_url(), csv, rows, index).await?,
        };
        measurements.push(Measurement { label: label.to_owned(), ..measurement });
    }
    Ok(measurements)
}

async fn sqlite3_import(database: &Path, csv: &Path, rows: u64, index: Index) -> anyhow::Result<Measurement> {
    let version = match Command::new("sqlite3").arg("--version").output().await {
        Ok(output) => String::from_utf8_lossy(&output.stdout).split_whitespace().next().unwrap_or("").to_owned(),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
            anyhow::bail!("the sqlite3 program is missing; install it (Debian: apt-get install sqlite3)")
        }
        Err(err) => return Err(err).context("running sqlite3"),
    };
    let (before, after) = match index {
        Index::Absent => ("", ""),
        Index::After => ("", INDEX),
        Index::Before => (INDEX, ""),
    };
    let script = format!(
        "PRAGMA journal_mode=WAL;\nPRAGMA synchronous=FULL;\nPRAGMA cache_size=-262144;\n{TABLE};\n{before};\n\
         .mode csv\n.import --skip 1 \"{}\" contacts\n{after};\nSELECT count(*) FROM contacts;\n",
        csv.display()
    );
    let started = Instant::now();
    let mut child = Command::new("sqlite3")
        .arg("-bail")
        .arg(database)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .context("starting sqlite3")?;
    let pid = child.id().context("sqlite3 exited at once")?;
    let mut stdin = child.stdin.take().context("sqlite3's input")?;
    stdin.write_all(script.as_bytes()).await?;
    drop(stdin);
    // VmHWM only grows; the last reading before exit is the peak, to within one interval.
    let mut peak = None;
    let output = child.wait_with_output();
    tokio::pin!(output);
    let output = loop {
        tokio::select! {
            output = &mut output => break output?,
            () = tokio::time::sleep(Duration::from_millis(20)) => peak = peak.max(peak_rss_bytes(pid)),
        }
    };
    let seconds = started.elapsed().as_secs_f64();
    anyhow::ensure!(output.status.success(), "sqlite3 failed: {}", String::from_utf8_lossy(&output.stderr).trim());
    let stdout = String::from_utf8_lossy(&output.stdout);
    let imported: u64 = stdout.lines().last().unwrap_or("").trim().parse().unwrap_or(0);
    anyhow::ensure!(imported == rows, "sqlite3 imported {imported} rows of {rows}");
    Ok(Measurement::new("", format!("sqlite3 {version} .import"), "rows", rows, seconds).with_peak_rss(peak, "sqlite3"))
}

async fn copy(url: &str, csv: &Path, rows: u64, index: Index) -> anyhow::Result<Measurement> {
    // Index builds take seconds here; sqlx would log each as a slow statement.
    let mut conn = PgConnectOptions::from_str(url)?.disable_statement_logging().connect().await?;
    sqlx::query(TABLE).execute(&mut conn).await?;
    let backend_pid: i32 = sqlx::query_scalar("SELECT pg_backend_pid()").fetch_one(&mut conn).await?;
    let started = Instant::now();
    if index == Index::Before {
        sqlx::query(INDEX).execute(&mut conn).await?;
    }
    let mut copy = conn.copy_in_raw("COPY contacts FROM STDIN (FORMAT csv, HEADER true)").await?;
    let mut file = tokio::fs::File::open(csv).await.with_context(|| format!("opening {}", csv.display()))?;
    let mut buffer = vec![0; 1 << 20];
    loop {
        let read = file.read(&mut buffer).await?;
        if read == 0 {
            break;
        }
        copy.send(&buffer[..read]).await?;
    }
    let copied = copy.finish().await?;
    if index == Index::After {
        sqlx::query(INDEX).execute(&mut conn).await?;
    }
    let seconds = started.elapsed().as_secs_f64();
    anyhow::ensure!(copied == rows, "COPY loaded {copied} rows of {rows}");
    // The backend's memory can only be read when it runs on this machine.
    let peak = if is_local(url) { u32::try_from(backend_pid).ok().and_then(peak_rss_bytes) } else { None };
    sqlx::query("DROP TABLE contacts").execute(&mut conn).await?;
    conn.close().await?;
    Ok(Measurement::new("", "postgresql COPY", "rows", rows, seconds).with_peak_rss(peak, "postgresql backend"))
}

fn is_local(url: &str) -> bool {
    url::Url::parse(url).is_ok_and(|u| matches!(u.host_str(), None | Some("127.0.0.1" | "localhost" | "[::1]")))
}
