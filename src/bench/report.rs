//! The result of a scenario, as a table for people and as JSON for tools and the history in
//! `docs/benchmarks.md`.
//!
//! A report holds one or more runs (concurrency levels, index variants, …); one of them is the
//! headline and its figures are repeated at the top level of the JSON, so that every report can
//! be read the same way. A run may carry the raw-database baseline measured in the same
//! invocation and the ratio of Rapport's throughput to it.

use serde::Serialize;

use super::Context;
use super::system::{Machine, git_revision};

#[derive(Clone, Debug, Serialize)]
pub struct Latency {
    pub p50: f64,
    pub p95: f64,
    pub p99: f64,
    pub max: f64,
}

/// One timed measurement of one system.
#[derive(Clone, Debug, Serialize)]
pub struct Measurement {
    pub label: String,
    /// What was measured: `rapport`, `sqlite3 3.40.1 .import`, `postgresql COPY`, ….
    pub system: String,
    pub concurrency: Option<usize>,
    pub operations: u64,
    /// What an operation is: `requests`, `writes`, `rows`.
    pub unit: &'static str,
    pub seconds: f64,
    /// Operations per second.
    pub throughput: f64,
    /// Per-operation latency; absent when one operation is the whole run (a bulk import).
    pub latency_ms: Option<Latency>,
    pub peak_rss_bytes: Option<u64>,
    /// Whose memory `peak_rss_bytes` is.
    pub peak_rss_of: Option<String>,
    /// For duplicate detection: how well the pairs found match the truth.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quality: Option<super::dedup_febrl::Quality>,
}

impl Measurement {
    pub fn new(
        label: impl Into<String>,
        system: impl Into<String>,
        unit: &'static str,
        operations: u64,
        seconds: f64,
    ) -> Self {
        Self {
            label: label.into(),
            system: system.into(),
            concurrency: None,
            operations,
            unit,
            seconds: round(seconds, 3),
            throughput: if seconds > 0.0 { round(operations as f64 / seconds, 1) } else { 0.0 },
            latency_ms: None,
            peak_rss_bytes: None,
            peak_rss_of: None,
            quality: None,
        }
    }

    pub fn with_concurrency(mut self, concurrency: usize) -> Self {
        self.concurrency = Some(concurrency);
        self
    }

    pub fn with_latency(mut self, latency: Latency) -> Self {
        self.latency_ms = Some(latency);
        self
    }

    pub fn with_quality(mut self, quality: super::dedup_febrl::Quality) -> Self {
        self.quality = Some(quality);
        self
    }

    pub fn with_peak_rss(mut self, bytes: Option<u64>, of: &str) -> Self {
        self.peak_rss_bytes = bytes;
        self.peak_rss_of = bytes.map(|_| of.to_owned());
        self
    }
}

/// A measurement, and the raw database doing the same work where such a baseline exists.
#[derive(Clone, Debug, Serialize)]
pub struct Run {
    #[serde(flatten)]
    pub measured: Measurement,
    pub baseline: Option<Measurement>,
    /// `measured.throughput / baseline.throughput`.
    pub ratio: Option<f64>,
}

impl Run {
    pub fn alone(measured: Measurement) -> Self {
        Self { measured, baseline: None, ratio: None }
    }

    pub fn against(measured: Measurement, baseline: Measurement) -> Self {
        let ratio = (baseline.throughput > 0.0).then(|| round(measured.throughput / baseline.throughput, 3));
        Self { measured, baseline: Some(baseline), ratio }
    }
}

#[derive(Debug, Serialize)]
pub struct ScaleInfo {
    pub name: String,
    pub rows: u64,
}

#[derive(Debug, Serialize)]
pub struct Report {
    pub scenario: &'static str,
    pub backend: &'static str,
    pub scale: ScaleInfo,
    /// The database engine and version Rapport ran on.
    pub database: String,
    #[serde(flatten)]
    pub headline: Run,
    pub runs: Vec<Run>,
    pub machine: Machine,
    pub git_revision: String,
    /// Whether tracked files differed from `git_revision`.
    pub git_modified: bool,
    pub rapport_version: &'static str,
    pub started_at: String,
}

impl Report {
    /// A report whose headline is `runs[headline]`.
    pub fn new(cx: &Context, scenario: &'static str, runs: Vec<Run>, headline: usize) -> anyhow::Result<Self> {
        let Some(head) = runs.get(headline).cloned() else {
            anyhow::bail!("{scenario} measured nothing");
        };
        let (git_revision, git_modified) = git_revision();
        Ok(Self {
            scenario,
            backend: cx.backend_name(),
            scale: ScaleInfo { name: cx.scale.to_string(), rows: cx.scale.rows() },
            database: cx.target.description().to_owned(),
            headline: head,
            runs,
            machine: Machine::describe(),
            git_revision,
            git_modified,
            rapport_version: env!("CARGO_PKG_VERSION"),
            started_at: cx.started_at.clone(),
        })
    }

    /// The report as a table on standard output.
    pub fn print(&self) {
        let revision: String = self.git_revision.chars().take(10).collect();
        println!();
        println!(
            "{} on {} (scale {}, {}) · {} · rev {}{}",
            self.scenario,
            self.backend,
            self.scale.name,
            self.database,
            self.machine.summary(),
            revision,
            if self.git_modified { " modified" } else { "" }
        );
        println!(
            "{:<26} {:<32} {:>10} {:>12} {:>8} {:>8} {:>8} {:>9} {:>12} {:>6}",
            "run", "system", "ops", "ops/s", "p50 ms", "p95 ms", "p99 ms", "peak RSS", "baseline/s", "ratio"
        );
        for run in &self.runs {
            let m = &run.measured;
            print_row(m, run.baseline.as_ref().map(|b| b.throughput), run.ratio);
            if let Some(baseline) = &run.baseline {
                print_row(baseline, None, None);
            }
        }
    }
}

fn print_row(m: &Measurement, baseline: Option<f64>, ratio: Option<f64>) {
    let latency =
        |pick: fn(&Latency) -> f64| m.latency_ms.as_ref().map_or("-".to_owned(), |l| format!("{:.2}", pick(l)));
    println!(
        "{:<26} {:<32} {:>10} {:>12.1} {:>8} {:>8} {:>8} {:>9} {:>12} {:>6}",
        m.label,
        m.system,
        m.operations,
        m.throughput,
        latency(|l| l.p50),
        latency(|l| l.p95),
        latency(|l| l.p99),
        m.peak_rss_bytes.map_or("-".to_owned(), |b| format!("{:.0} MiB", b as f64 / (1024.0 * 1024.0))),
        baseline.map_or("-".to_owned(), |b| format!("{b:.1}")),
        ratio.map_or("-".to_owned(), |r| format!("{r:.2}")),
    );
}

pub fn round(value: f64, decimals: i32) -> f64 {
    let factor = 10f64.powi(decimals);
    (value * factor).round() / factor
}
