//! `rapport bench`: named, reproducible performance scenarios run against SQLite or
//! PostgreSQL, each printing a table and optionally writing JSON (see `docs/benchmarks.md`).
//!
//! The frame gives every scenario a fresh database ([`target`]), a scale, the real server as
//! a child process when it needs HTTP ([`server`]), a closed-loop load generator with HDR
//! latency histograms ([`load`]) and the report format ([`report`]). A scenario is one file
//! exposing a [`Scenario`] constant, registered by one line in [`SCENARIOS`]. Where the raw
//! database can do the same work, the scenario measures that too, in the same invocation, and
//! reports the ratio.
//!
//! Benchmarks never run as timed assertions in tests; tests run each scenario at `tiny` scale
//! only to prove it still works.

mod api_create;
mod api_get;
mod api_health;
mod api_list;
mod dedup_febrl;
mod dedup_scan;
mod import_1m;
mod import_raw;
mod ingest;
mod load;
mod people_api;
mod report;
mod search;
mod server;
pub mod system;
mod target;
mod write_durable;

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use anyhow::Context as _;
use clap::builder::{PossibleValue, PossibleValuesParser};
use clap::{Args, ValueEnum};
use futures::future::LocalBoxFuture;
use rapport_db::Backend;

use self::load::Period;
pub use self::report::Report;
use self::target::Target;

/// Every scenario, in the order `rapport bench all` runs them.
const SCENARIOS: &[Scenario] = &[
    write_durable::SCENARIO,
    api_health::SCENARIO,
    import_raw::SCENARIO,
    import_1m::SCENARIO,
    ingest::SCENARIO,
    api_get::SCENARIO,
    api_list::SCENARIO,
    api_create::SCENARIO,
    search::SCENARIO,
    dedup_febrl::SCENARIO,
    dedup_scan::SCENARIO,
];

pub const DEFAULT_SERVER: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// A named benchmark. Its future runs on the command's own task (it need not be `Send`: opening
/// a `Db` is not); the load it generates runs on spawned tasks.
pub struct Scenario {
    pub name: &'static str,
    pub summary: &'static str,
    pub run: for<'a> fn(&'a Context) -> LocalBoxFuture<'a, anyhow::Result<Report>>,
}

/// What a scenario runs with.
pub struct Context {
    pub scale: Scale,
    pub target: Target,
    /// What `import-1m` does with possible duplicates.
    pub import_duplicates: crate::import::DuplicatePolicy,
    started_at: String,
}

impl Context {
    fn backend_name(&self) -> &'static str {
        match self.target.backend() {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

#[derive(Debug, Args)]
pub struct BenchArgs {
    /// The scenario to run, `all` for every one, or `list` to describe them.
    #[arg(value_name = "SCENARIO", value_parser = scenario_names())]
    pub scenario: String,
    /// The database engine Rapport runs on.
    #[arg(long, value_enum, default_value_t = BackendArg::Sqlite)]
    pub backend: BackendArg,
    /// tiny (seconds, for CI), small, default (the published figures) or a row count.
    #[arg(long, default_value = "default")]
    pub scale: Scale,
    /// Also write the report as JSON (an array of reports for `all`).
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
    /// PostgreSQL server on which a fresh `rapport_bench_…` database is created and dropped.
    #[arg(long, value_name = "URL", default_value = DEFAULT_SERVER)]
    pub database_url: String,
    /// `import-1m` checks each row for possible duplicates: `off`, `flag` or `skip`.
    #[arg(long, value_name = "POLICY", default_value = "off", value_parser = import_duplicates)]
    pub import_duplicates: crate::import::DuplicatePolicy,
}

fn import_duplicates(raw: &str) -> Result<crate::import::DuplicatePolicy, String> {
    crate::import::DuplicatePolicy::parse(raw).ok_or_else(|| "must be off, flag, skip or merge".to_owned())
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum BackendArg {
    Sqlite,
    Postgres,
}

fn scenario_names() -> PossibleValuesParser {
    let named = SCENARIOS.iter().map(|s| PossibleValue::new(s.name).help(s.summary));
    PossibleValuesParser::new(named.chain([
        PossibleValue::new("all").help("every scenario in turn"),
        PossibleValue::new("list").help("describe the scenarios"),
    ]))
}

/// How big a scenario's data set is and how long load is applied.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scale {
    Tiny,
    Small,
    Default,
    /// Rows of data; load periods as at the default scale.
    Rows(u64),
}

impl Scale {
    /// Rows of the scenario's data set.
    pub fn rows(self) -> u64 {
        match self {
            Self::Tiny => 1_000,
            Self::Small => 100_000,
            Self::Default => 1_000_000,
            Self::Rows(rows) => rows,
        }
    }

    /// Warm-up and measured period of load scenarios.
    pub fn period(self) -> Period {
        let (warm_up, measure) = match self {
            Self::Tiny => (100, 300),
            Self::Small => (500, 2_000),
            Self::Default | Self::Rows(_) => (1_000, 5_000),
        };
        Period { warm_up: Duration::from_millis(warm_up), measure: Duration::from_millis(measure) }
    }
}

impl FromStr for Scale {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "tiny" => Ok(Self::Tiny),
            "small" => Ok(Self::Small),
            "default" => Ok(Self::Default),
            rows => match rows.replace('_', "").parse() {
                Ok(rows) if rows > 0 => Ok(Self::Rows(rows)),
                _ => Err(format!("{text:?} is not tiny, small, default or a positive row count")),
            },
        }
    }
}

impl fmt::Display for Scale {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Tiny => f.write_str("tiny"),
            Self::Small => f.write_str("small"),
            Self::Default => f.write_str("default"),
            Self::Rows(rows) => write!(f, "{rows}"),
        }
    }
}

pub async fn run(args: BenchArgs) -> anyhow::Result<()> {
    let chosen: Vec<&Scenario> = match args.scenario.as_str() {
        "list" => {
            for scenario in SCENARIOS {
                println!("{:<16} {}", scenario.name, scenario.summary);
            }
            return Ok(());
        }
        "all" => SCENARIOS.iter().collect(),
        name => SCENARIOS.iter().filter(|s| s.name == name).collect(),
    };
    let backend = match args.backend {
        BackendArg::Sqlite => Backend::Sqlite,
        BackendArg::Postgres => Backend::Postgres,
    };
    let mut reports = Vec::new();
    let mut failed = Vec::new();
    for scenario in chosen {
        match run_one(scenario, backend, &args).await {
            Ok(report) => {
                report.print();
                reports.push(report);
            }
            Err(err) => {
                eprintln!("error: {} failed: {err:#}", scenario.name);
                failed.push(scenario.name);
            }
        }
    }
    if let Some(path) = &args.json {
        let json = if args.scenario == "all" {
            serde_json::to_string_pretty(&reports)?
        } else {
            reports.first().map(serde_json::to_string_pretty).transpose()?.unwrap_or_default()
        };
        if !json.is_empty() {
            std::fs::write(path, json + "\n").with_context(|| format!("writing {}", path.display()))?;
        }
    }
    anyhow::ensure!(failed.is_empty(), "{} failed", failed.join(", "));
    Ok(())
}

async fn run_one(scenario: &Scenario, backend: Backend, args: &BenchArgs) -> anyhow::Result<Report> {
    let target = Target::create(backend, &args.database_url).await?;
    let started_at = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let cx = Context { scale: args.scale, target, import_duplicates: args.import_duplicates, started_at };
    let report = (scenario.run)(&cx).await;
    if let Err(err) = cx.target.remove().await {
        eprintln!("warning: {err:#}");
    }
    report
}

#[cfg(test)]
mod tests {
    use super::{SCENARIOS, Scale};

    #[test]
    fn scales_parse_by_name_or_row_count() {
        assert_eq!("tiny".parse(), Ok(Scale::Tiny));
        assert_eq!("default".parse(), Ok(Scale::Default));
        assert_eq!("250_000".parse(), Ok(Scale::Rows(250_000)));
        assert!("0".parse::<Scale>().is_err());
        assert!("huge".parse::<Scale>().is_err());
    }

    #[test]
    fn scenario_names_are_unique_and_not_reserved() {
        let mut names: Vec<&str> = SCENARIOS.iter().map(|s| s.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), SCENARIOS.len());
        assert!(!names.contains(&"all") && !names.contains(&"list"));
    }
}
