//! `rapport bench` as CI runs it: every scenario once at `tiny` scale, on SQLite and, when
//! `RAPPORT_TEST_DATABASE_URL` names a server, on PostgreSQL, checking that each writes a report
//! of the documented shape. Figures are never compared with anything: this proves the scenarios
//! still work, not how fast they are.
//!
//! `import-raw` on SQLite needs the `sqlite3` program; without it the test says why it skips,
//! unless `RAPPORT_REQUIRE_SQLITE3=1` makes its absence a failure. `dedup-febrl` needs the Febrl
//! files (`shared/data/febrl` beside the checkout, or `RAPPORT_FEBRL_DIR`) and skips, saying
//! so, without them.

#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;

/// Every scenario `rapport bench list` must name; a new scenario adds its test below.
const SCENARIOS: [&str; 11] = [
    "write-durable",
    "api-health",
    "import-raw",
    "import-1m",
    "ingest",
    "api-get",
    "api-list",
    "api-create",
    "search",
    "dedup-febrl",
    "dedup-scan",
];

fn rapport(args: &[&str], dir: &Path) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_rapport"));
    command.args(args).current_dir(env!("CARGO_MANIFEST_DIR")).env("TMPDIR", dir);
    for (key, _) in std::env::vars() {
        if key.starts_with("RAPPORT_") && key != "RAPPORT_FEBRL_DIR" {
            command.env_remove(key);
        }
    }
    command.output().unwrap()
}

/// `(backend, extra arguments)` for each database the tests run against.
fn backends() -> Vec<(&'static str, Vec<String>)> {
    let mut backends = vec![("sqlite", Vec::new())];
    if let Ok(url) = std::env::var("RAPPORT_TEST_DATABASE_URL")
        && !url.is_empty()
    {
        backends.push(("postgres", vec!["--database-url".to_owned(), url]));
    }
    backends
}

fn sqlite3_available() -> bool {
    let present = Command::new("sqlite3").arg("--version").output().is_ok_and(|o| o.status.success());
    if !present {
        assert!(
            std::env::var("RAPPORT_REQUIRE_SQLITE3").as_deref() != Ok("1"),
            "RAPPORT_REQUIRE_SQLITE3=1 but the sqlite3 program is missing"
        );
        eprintln!("skipping the SQLite import baseline: the sqlite3 program is missing (apt-get install sqlite3)");
    }
    present
}

/// Whether the Febrl files are beside the checkout (or where `RAPPORT_FEBRL_DIR` says); the
/// test says why it skips without them.
fn febrl_available() -> bool {
    let present = match std::env::var_os("RAPPORT_FEBRL_DIR") {
        Some(dir) => Path::new(&dir).join("dataset1.csv").exists(),
        None => {
            Path::new(env!("CARGO_MANIFEST_DIR")).ancestors().any(|d| d.join("shared/data/febrl/dataset1.csv").exists())
        }
    };
    if !present {
        eprintln!("skipping dedup-febrl: the Febrl files are not in shared/data/febrl beside the checkout");
    }
    present
}

/// Runs `rapport bench SCENARIO --scale tiny` on every backend and returns each JSON report.
fn bench_tiny(scenario: &str) -> Vec<(&'static str, Value)> {
    let mut reports = Vec::new();
    for (backend, extra) in backends() {
        if scenario.starts_with("import") && backend == "sqlite" && !sqlite3_available() {
            continue;
        }
        if scenario == "dedup-febrl" && !febrl_available() {
            continue;
        }
        let dir = tempfile::tempdir().unwrap();
        let json = dir.path().join("report.json");
        let mut args = vec!["bench", scenario, "--scale", "tiny", "--backend", backend, "--json"];
        let json_arg = json.to_str().unwrap().to_owned();
        args.push(&json_arg);
        args.extend(extra.iter().map(String::as_str));
        let output = rapport(&args, dir.path());
        assert!(
            output.status.success(),
            "{scenario} on {backend} failed:\n{}\n{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(stdout.contains(scenario) && stdout.contains("ops/s"), "a table is printed: {stdout}");
        let report: Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
        assert_report_shape(&report, scenario, backend);
        reports.push((backend, report));
    }
    reports
}

fn assert_measurement_shape(run: &Value, context: &str) {
    assert!(run["label"].is_string(), "{context}: label");
    assert!(run["system"].is_string(), "{context}: system");
    assert!(run["operations"].as_u64().is_some_and(|n| n > 0), "{context}: operations");
    assert!(run["seconds"].as_f64().is_some_and(|s| s > 0.0), "{context}: seconds");
    assert!(run["throughput"].as_f64().is_some_and(|t| t > 0.0), "{context}: throughput");
    assert!(run["unit"].is_string(), "{context}: unit");
    let latency = &run["latency_ms"];
    if !latency.is_null() {
        let at = |q: &str| latency[q].as_f64().unwrap();
        assert!(at("p50") <= at("p95") && at("p95") <= at("p99") && at("p99") <= at("max"), "{context}: {latency}");
    }
    let rss = &run["peak_rss_bytes"];
    assert!(rss.is_null() || rss.as_u64().is_some_and(|b| b > 0), "{context}: peak_rss_bytes");
}

fn assert_report_shape(report: &Value, scenario: &str, backend: &str) {
    let context = format!("{scenario} on {backend}");
    assert_eq!(report["scenario"], scenario);
    assert_eq!(report["backend"], backend);
    assert_eq!(report["scale"]["name"], "tiny");
    assert_eq!(report["scale"]["rows"], 1_000);
    assert!(report["database"].as_str().is_some_and(|d| !d.is_empty()), "{context}: database");
    assert_measurement_shape(report, &context);
    let runs = report["runs"].as_array().unwrap();
    assert!(!runs.is_empty(), "{context}: runs");
    for run in runs {
        assert_measurement_shape(run, &context);
        if !run["baseline"].is_null() {
            assert_measurement_shape(&run["baseline"], &format!("{context} baseline"));
            assert!(run["ratio"].as_f64().is_some_and(|r| r > 0.0), "{context}: ratio");
        }
    }
    assert!(report["machine"]["cores"].as_u64().is_some_and(|c| c >= 1), "{context}: cores");
    assert!(report["machine"]["memory_bytes"].as_u64().is_some_and(|m| m > 0), "{context}: memory");
    assert!(report["git_revision"].as_str().is_some_and(|r| !r.is_empty()), "{context}: git revision");
    assert!(report["started_at"].is_string(), "{context}: started_at");
}

#[test]
fn the_scenario_list_names_exactly_the_scenarios_tested_here() {
    let dir = tempfile::tempdir().unwrap();
    let output = rapport(&["bench", "list"], dir.path());
    assert!(output.status.success());
    let listed: Vec<String> = String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|l| l.split_whitespace().next().map(str::to_owned))
        .collect();
    assert_eq!(listed, SCENARIOS);
}

#[test]
fn an_unknown_scenario_is_refused_with_the_names_of_the_known_ones() {
    let dir = tempfile::tempdir().unwrap();
    let output = rapport(&["bench", "no-such-scenario"], dir.path());
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("write-durable"));
}

#[test]
fn write_durable_at_tiny_scale_reports_every_level_against_raw_inserts() {
    for (backend, report) in bench_tiny("write-durable") {
        let runs = report["runs"].as_array().unwrap();
        assert!(runs.len() >= 2, "{backend}: several concurrency levels");
        assert!(runs.iter().all(|r| r["baseline"].is_object()), "{backend}: each level has its raw baseline");
        assert_eq!(report["concurrency"], 32, "{backend}: the headline is 32 writers");
    }
}

#[test]
fn api_health_at_tiny_scale_measures_the_real_server() {
    for (backend, report) in bench_tiny("api-health") {
        assert_eq!(report["system"], "rapport serve", "{backend}");
        assert_eq!(report["concurrency"], 32, "{backend}");
        assert!(report["peak_rss_bytes"].as_u64().is_some_and(|b| b > 0), "{backend}: the server's memory");
    }
}

#[test]
fn import_raw_at_tiny_scale_loads_the_file_three_ways() {
    for (backend, report) in bench_tiny("import-raw") {
        let labels: Vec<&str> =
            report["runs"].as_array().unwrap().iter().map(|r| r["label"].as_str().unwrap()).collect();
        assert_eq!(labels, ["no index", "unique index built after", "unique index before"], "{backend}");
        assert!(report["runs"].as_array().unwrap().iter().all(|r| r["operations"] == 1_000), "{backend}");
    }
}

#[test]
fn import_1m_at_tiny_scale_imports_every_row_beside_the_raw_loader() {
    for (backend, report) in bench_tiny("import-1m") {
        assert_eq!((report["system"].as_str(), report["unit"].as_str()), (Some("rapport"), Some("rows")), "{backend}");
        assert_eq!(report["operations"], 1_000, "{backend}");
        assert_eq!(report["baseline"]["label"], "unique index built after", "{backend}: {report}");
        assert!(report["ratio"].as_f64().is_some_and(|r| r > 0.0), "{backend}: {report}");
    }
}

#[test]
fn ingest_at_tiny_scale_stores_every_acknowledged_event() {
    for (backend, report) in bench_tiny("ingest") {
        assert_eq!((report["unit"].as_str(), report["concurrency"].as_u64()), (Some("events"), Some(16)), "{backend}");
        assert!(report["operations"].as_u64().is_some_and(|n| n >= 100 && n % 100 == 0), "{backend}: {report}");
    }
}

/// A people API scenario's report: the real server against its raw-database baseline.
fn assert_people_api_report(scenario: &str, unit: &str) {
    for (backend, report) in bench_tiny(scenario) {
        assert_eq!(report["system"], "rapport serve", "{scenario} on {backend}");
        assert_eq!((report["unit"].as_str(), report["concurrency"].as_u64()), (Some(unit), Some(32)), "{backend}");
        assert!(report["label"].as_str().unwrap().contains("1000 people"), "{backend}: {}", report["label"]);
        assert!(report["baseline"].is_object(), "{scenario} on {backend}: the raw figure beside it");
        assert!(report["peak_rss_bytes"].as_u64().is_some_and(|b| b > 0), "{backend}: the server's memory");
    }
}

#[test]
fn api_get_at_tiny_scale_reads_people_by_id_beside_a_raw_point_select() {
    assert_people_api_report("api-get", "requests");
}

#[test]
fn api_list_at_tiny_scale_lists_filtered_pages_beside_the_raw_queries() {
    assert_people_api_report("api-list", "requests");
}

#[test]
fn api_create_at_tiny_scale_creates_people_beside_raw_inserts() {
    assert_people_api_report("api-create", "requests");
}

#[test]
fn search_at_tiny_scale_searches_names_beside_the_raw_text_index() {
    assert_people_api_report("search", "requests");
}

#[test]
fn dedup_febrl_at_tiny_scale_reports_quality_on_the_first_data_set() {
    for (backend, report) in bench_tiny("dedup-febrl") {
        let runs = report["runs"].as_array().unwrap();
        assert_eq!(runs.len(), 1, "{backend}: dataset1 only at tiny scale");
        assert_eq!(
            (report["operations"].as_u64(), report["unit"].as_str()),
            (Some(1_000), Some("people")),
            "{backend}"
        );
        let quality = &report["quality"];
        for measure in ["precision", "recall", "f1"] {
            assert!(quality[measure].as_f64().is_some_and(|q| (0.0..=1.0).contains(&q)), "{backend}: {quality}");
        }
        assert_eq!(quality["true_pairs"], 500, "{backend}");
    }
}

#[test]
fn dedup_scan_at_tiny_scale_times_the_scan_and_the_single_record_check() {
    for (backend, report) in bench_tiny("dedup-scan") {
        assert_eq!(report["operations"], 1_000, "{backend}: every generated person scanned");
        assert!(report["quality"]["f1"].as_f64().is_some(), "{backend}: {report}");
        let check = &report["runs"][1];
        assert_eq!(check["unit"], "checks", "{backend}");
        assert!(check["latency_ms"]["p99"].as_f64().is_some(), "{backend}: {check}");
    }
}

#[test]
fn bench_all_writes_one_report_per_scenario() {
    if !sqlite3_available() || !febrl_available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("all.json");
    let output = rapport(&["bench", "all", "--scale", "tiny", "--json", json.to_str().unwrap()], dir.path());
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let reports: Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    let names: Vec<&str> = reports.as_array().unwrap().iter().map(|r| r["scenario"].as_str().unwrap()).collect();
    assert_eq!(names, SCENARIOS);
}
