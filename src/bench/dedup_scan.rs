//! `dedup-scan`: the full duplicate scan of a workspace of generated people (the scale's row
//! count), timed from the first read to the stored pairs. The generator plants about 2 %
//! near-duplicates (typos, nicknames, swapped names, another email domain, transliterations);
//! their ground truth, written by the same generator from the same seed, gives precision,
//! recall and F1 beside the time. A second run times the single-record check (what a create
//! or an import asks) for people spread over the workspace, each with a typo. Goals (issue
//! #6): a million people scanned in 60 s or less; a check's p99 5 ms or less.

use std::collections::HashSet;
use std::time::Instant;

use anyhow::Context as _;
use rapport_db::{Db, DbOptions, sql};

use super::dedup_febrl::{Quality, unordered, workspace};
use super::report::{Latency, Measurement, Report, Run, round};
use super::system::peak_rss_bytes;
use super::{Context, Scenario};

pub const SCENARIO: Scenario = Scenario {
    name: "dedup-scan",
    summary: "full duplicate scan of generated people with planted duplicates: time and quality",
    run: |cx| Box::pin(run(cx)),
};

async fn run(cx: &Context) -> anyhow::Result<Report> {
    let people = cx.scale.rows();
    let db = Db::connect(&DbOptions::new(cx.target.database_url())).await?;
    let (workspace, owner) = workspace(&db, "Duplicates").await?;
    eprintln!("loading {people} generated people");
    crate::r#gen::load_into(&db, workspace, people, 0).await?;
    let (first, last, count): (i64, i64, i64) = sql!(db.exec(), c => sqlx::query_as(
        "SELECT min(id), max(id), count(*) FROM people WHERE workspace_id = $1"
    ).bind(workspace).fetch_one(c).await)?;
    anyhow::ensure!(
        u64::try_from(count).ok() == Some(people) && last - first + 1 == count,
        "the generated people were not stored with consecutive ids"
    );
    let truth = planted(cx, people, first).await?;
    let started = Instant::now();
    let scan = crate::dedup::scan(&db, workspace, crate::dedup::DEFAULT_THRESHOLD).await?;
    let seconds = started.elapsed().as_secs_f64();
    let checked = checks(&db, &owner, (first, last)).await?;
    db.close().await;
    let found: HashSet<(String, String)> =
        scan.pairs.iter().map(|p| unordered(p.a.id.to_string(), p.b.id.to_string())).collect();
    let quality = Quality::of(&found, &truth);
    eprintln!(
        "{} candidate pairs, {} reported, {} planted; EM {} iterations, prior 2^{:.1}",
        scan.candidates, quality.reported, quality.true_pairs, scan.model.iterations, scan.model.prior
    );
    let label = format!("scan, {}", quality.summary());
    let measured = Measurement::new(label, "rapport dedup scan", "people", scan.people, seconds)
        .with_peak_rss(peak_rss_bytes(std::process::id()), "rapport bench")
        .with_quality(quality);
    Report::new(cx, SCENARIO.name, vec![Run::alone(measured), Run::alone(checked)], 0)
}

/// People checked one at a time after the scan.
const CHECKS: u64 = 500;

/// The single-record check as a create or an import runs it: stored people spread over the
/// workspace, each with a typo in the last name, checked one after the other; the share that
/// finds the person it was made from is in the label.
async fn checks(db: &Db, owner: &crate::identity::Principal, (first, last): (i64, i64)) -> anyhow::Result<Measurement> {
    let region = crate::profile::phone_region(db, owner.workspace_id).await?;
    let step = ((last - first + 1) / CHECKS as i64).max(1);
    let mut took = Vec::new();
    let mut found = 0;
    let started = Instant::now();
    for id in (first..=last).step_by(step as usize).take(CHECKS as usize) {
        let person = crate::person::get(db, owner, rapport_core::PersonId::new(id)).await?;
        let mut input = person.fields.clone();
        input.external_id = None;
        input.last_name = input.last_name.map(|name| {
            let mut letters: Vec<char> = name.chars().collect();
            if letters.len() >= 4 {
                letters.swap(1, 2);
            }
            letters.into_iter().collect()
        });
        let Ok(probe) = crate::person::NewPerson::parse(&input, region) else { continue };
        let asked = Instant::now();
        let pairs = crate::dedup::candidates(db, owner.workspace_id, &probe, None).await?;
        took.push(asked.elapsed().as_secs_f64() * 1000.0);
        found += usize::from(pairs.iter().any(|p| p.a.id == id || p.b.id == id));
    }
    let seconds = started.elapsed().as_secs_f64();
    took.sort_by(f64::total_cmp);
    let at = |q: f64| round(took[((took.len() as f64 * q) as usize).min(took.len() - 1)], 3);
    anyhow::ensure!(!took.is_empty(), "no person to check");
    let label = format!("single-record check, {:.1}% found", 100.0 * found as f64 / took.len() as f64);
    Ok(Measurement::new(label, "rapport dedup::candidates", "checks", took.len() as u64, seconds)
        .with_latency(Latency { p50: at(0.50), p95: at(0.95), p99: at(0.99), max: at(1.0) }))
}

/// The planted duplicate pairs as stored ids: the generator writes the same people to files
/// from the same seed and sizes as `gen::load_into` loads, with their ground truth, and a
/// person generated as number `n` is stored as `first + n - 1`.
async fn planted(cx: &Context, people: u64, first: i64) -> anyhow::Result<HashSet<(String, String)>> {
    let out = cx.target.scratch().join("generated");
    let args = crate::r#gen::GenArgs {
        people,
        companies: (people / 50).max(1),
        products: 200,
        events: 0,
        seed: 42,
        end: chrono::NaiveDate::parse_from_str(crate::r#gen::DEFAULT_END, "%Y-%m-%d")?,
        out: out.clone(),
        workspace: None,
    };
    tokio::task::spawn_blocking(move || crate::r#gen::run(&args)).await.context("the generator panicked")??;
    let mut reader = csv::Reader::from_path(out.join("duplicates.csv")).context("reading duplicates.csv")?;
    let mut pairs = HashSet::new();
    for record in reader.records() {
        let record = record?;
        let id = |n: &str| -> anyhow::Result<String> { Ok((first - 1 + n.parse::<i64>()?).to_string()) };
        pairs.insert(unordered(id(&record[0])?, id(&record[1])?));
    }
    Ok(pairs)
}
