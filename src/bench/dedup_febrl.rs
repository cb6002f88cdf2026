//! `dedup-febrl`: duplicate detection quality on the Febrl data sets. Each file is loaded into a
//! workspace of its own through `person::insert_many` (given name, surname, street number and
//! address lines, suburb, postcode, state, country AU, a valid date of birth as the birthday,
//! otherwise as text in a custom field, the social security number in a custom field, `rec_id`
//! as external id), then `dedup::scan` runs at its default threshold and its pairs are checked
//! against the true pairs beside the file: precision, recall and F1 (goal, issue #6: F1 ≥ 0.99
//! with precision ≥ 0.99 on both).
//!
//! The files are looked for in `RAPPORT_FEBRL_DIR`, else in `shared/data/febrl` beside the
//! working directory or the checkout. At `tiny` scale only `dataset1` runs.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Context as _;
use rapport_core::WorkspaceId;
use rapport_db::{Db, DbOptions};
use serde::Serialize;

use super::report::{Measurement, Report, Run, round};
use super::system::peak_rss_bytes;
use super::{Context, Scale, Scenario};
use crate::person::{NewPerson, PersonInput};
use crate::profile::AddressInput;

pub const SCENARIO: Scenario = Scenario {
    name: "dedup-febrl",
    summary: "duplicate scan of the Febrl data sets: precision, recall and F1 against their true pairs",
    run: |cx| Box::pin(run(cx)),
};

const DATASETS: [&str; 2] = ["dataset1", "dataset2"];

/// Where the Febrl files are, if anywhere.
pub fn data_dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("RAPPORT_FEBRL_DIR") {
        return Some(PathBuf::from(dir));
    }
    let here = std::env::current_dir().ok();
    let checkout = Path::new(env!("CARGO_MANIFEST_DIR"));
    here.iter()
        .flat_map(|dir| dir.ancestors())
        .chain(checkout.ancestors())
        .map(|dir| dir.join("shared/data/febrl"))
        .find(|dir| dir.join("dataset1.csv").exists())
}

/// How well a scan's pairs match the truth.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct Quality {
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
    pub reported: usize,
    pub true_pairs: usize,
}

impl Quality {
    pub fn of(found: &HashSet<(String, String)>, truth: &HashSet<(String, String)>) -> Self {
        let hits = found.intersection(truth).count() as f64;
        let precision = if found.is_empty() { 1.0 } else { hits / found.len() as f64 };
        let recall = if truth.is_empty() { 1.0 } else { hits / truth.len() as f64 };
        let f1 = if precision + recall > 0.0 { 2.0 * precision * recall / (precision + recall) } else { 0.0 };
        Self {
            precision: round(precision, 4),
            recall: round(recall, 4),
            f1: round(f1, 4),
            reported: found.len(),
            true_pairs: truth.len(),
        }
    }

    pub fn summary(&self) -> String {
        format!("P {:.4} R {:.4} F1 {:.4}", self.precision, self.recall, self.f1)
    }
}

/// An unordered pair as a set member.
pub fn unordered(a: String, b: String) -> (String, String) {
    if a <= b { (a, b) } else { (b, a) }
}

async fn run(cx: &Context) -> anyhow::Result<Report> {
    let dir = data_dir()
        .context("the Febrl files are missing: set RAPPORT_FEBRL_DIR or put shared/data/febrl beside the checkout")?;
    let db = Db::connect(&DbOptions::new(cx.target.database_url())).await?;
    let datasets = if cx.scale == Scale::Tiny { &DATASETS[..1] } else { &DATASETS[..] };
    let mut runs = Vec::new();
    for name in datasets {
        let (workspace, people) = load(&db, &dir.join(format!("{name}.csv")), name).await?;
        let truth = true_pairs(&dir.join(format!("{name}_true_pairs.csv")))?;
        let started = Instant::now();
        let scan = crate::dedup::scan(&db, workspace, crate::dedup::DEFAULT_THRESHOLD).await?;
        let seconds = started.elapsed().as_secs_f64();
        let found: HashSet<(String, String)> = scan
            .pairs
            .iter()
            .filter_map(|p| Some(unordered(p.a.external_id.clone()?, p.b.external_id.clone()?)))
            .collect();
        let quality = Quality::of(&found, &truth);
        eprintln!(
            "{name}: {people} people, {} candidate pairs, {} reported, {} true; EM {} iterations, prior 2^{:.1}",
            scan.candidates, quality.reported, quality.true_pairs, scan.model.iterations, scan.model.prior
        );
        let label = format!("{name} {}", quality.summary());
        let measured = Measurement::new(label, "rapport dedup scan", "people", people, seconds)
            .with_peak_rss(peak_rss_bytes(std::process::id()), "rapport bench")
            .with_quality(quality);
        runs.push(Run::alone(measured));
    }
    db.close().await;
    let headline = runs.len() - 1;
    Report::new(cx, SCENARIO.name, runs, headline)
}

/// A new workspace of its own for one benchmark data set, with an owner who may create fields.
pub async fn workspace(db: &Db, name: &str) -> anyhow::Result<(WorkspaceId, crate::identity::Principal)> {
    let new = crate::workspace::NewWorkspace {
        name: crate::workspace::WorkspaceName::parse(name).map_err(|e| anyhow::anyhow!("{e}"))?,
        owner_email: rapport_core::Email::parse(&format!("bench-{}@example.com", uuid::Uuid::new_v4().simple()))
            .map_err(|e| anyhow::anyhow!("{e}"))?,
        owner_password: crate::identity::Password::parse("a benchmark passphrase")?,
    };
    let created = crate::workspace::create_with_owner(db, new, "system:bench").await?;
    let token = crate::identity::create_token(
        db,
        created.workspace_id,
        created.owner_id,
        "bench",
        vec![crate::identity::Scope::All],
        None,
    )
    .await?;
    let owner = crate::identity::token_principal(db, token.secret.expose())
        .await
        .map_err(|e| anyhow::anyhow!("the benchmark token: {e}"))?;
    Ok((created.workspace_id, owner))
}

#[derive(serde::Deserialize)]
struct FebrlRow {
    rec_id: String,
    given_name: String,
    surname: String,
    street_number: String,
    address_1: String,
    address_2: String,
    suburb: String,
    postcode: String,
    state: String,
    date_of_birth: String,
    soc_sec_id: String,
}

const SOC_SEC_ID: &str = "soc_sec_id";
const DATE_OF_BIRTH: &str = "date_of_birth_text";

/// Loads one Febrl file into a new workspace; returns it and the people loaded.
async fn load(db: &Db, path: &Path, name: &str) -> anyhow::Result<(WorkspaceId, u64)> {
    let (workspace, owner) = workspace(db, &format!("Febrl {name}")).await?;
    for (key, label) in [(SOC_SEC_ID, "Social security number"), (DATE_OF_BIRTH, "Date of birth as written")] {
        let spec = crate::field::FieldSpec {
            key: Some(key.to_owned()),
            label: Some(label.to_owned()),
            kind: Some("text".to_owned()),
            ..crate::field::FieldSpec::default()
        };
        crate::field::create(db, &owner, crate::field::Object::Person, spec)
            .await
            .map_err(|e| anyhow::anyhow!("creating the custom field {key}: {e}"))?;
    }
    let defs = crate::field::definitions(db, workspace, crate::field::Object::Person).await?;
    let ctx = crate::field::context(db, workspace).await?;
    let region = crate::profile::phone_region(db, workspace).await?;
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_path(path)
        .with_context(|| format!("reading {}", path.display()))?;
    let mut people = Vec::new();
    for row in reader.deserialize() {
        let row: FebrlRow = row.with_context(|| format!("a row of {}", path.display()))?;
        let given = |text: &str| Some(text.trim().to_owned()).filter(|t| !t.is_empty());
        let birthday = chrono::NaiveDate::parse_from_str(&row.date_of_birth, "%Y%m%d").ok();
        let mut custom = BTreeMap::new();
        if let Some(id) = given(&row.soc_sec_id) {
            custom.insert(SOC_SEC_ID.to_owned(), serde_json::json!(id));
        }
        if let (None, Some(text)) = (birthday, given(&row.date_of_birth)) {
            custom.insert(DATE_OF_BIRTH.to_owned(), serde_json::json!(text));
        }
        let input = PersonInput {
            first_name: given(&row.given_name),
            last_name: given(&row.surname),
            birthday: birthday.map(|d| d.format("%Y-%m-%d").to_string()),
            address: AddressInput {
                street: given(&format!("{} {}", row.street_number, row.address_1)),
                street2: given(&row.address_2),
                city: given(&row.suburb),
                region: given(&row.state),
                postal_code: given(&row.postcode),
                country: Some("AU".to_owned()),
            },
            external_id: Some(row.rec_id.clone()),
            ..PersonInput::default()
        };
        let refused = |errors| anyhow::anyhow!("{} is refused: {errors:?}", row.rec_id);
        let mut new = match NewPerson::parse(&input, region) {
            Ok(new) => new,
            // A record with neither name is still a record: the id stands in for the name.
            Err(_) => NewPerson::parse(&PersonInput { first_name: Some(row.rec_id.clone()), ..input.clone() }, region)
                .map_err(refused)?,
        };
        new.custom = crate::field::checked(&defs, &custom, None, ctx).map_err(refused)?;
        people.push(new);
    }
    let loaded = crate::person::insert_many(db, workspace, people).await?;
    Ok((workspace, loaded))
}

fn true_pairs(path: &Path) -> anyhow::Result<HashSet<(String, String)>> {
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_path(path)
        .with_context(|| format!("reading {}", path.display()))?;
    let mut pairs = HashSet::new();
    for record in reader.records() {
        let record = record?;
        pairs.insert(unordered(record[0].to_owned(), record[1].to_owned()));
    }
    Ok(pairs)
}
