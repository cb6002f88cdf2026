//! Use cases of duplicate detection: the full scan of a workspace (read a page at a time,
//! normalise, block, compare on every core, learn the model, keep the pairs for review), the
//! check of a single record against the people sharing one of its keys, the same check for a
//! batch of new records at once (which also compares them with each other), and the upkeep of
//! the stored keys as people are written.

use std::collections::HashMap;

use chrono::Utc;
use rapport_core::{PersonId, WorkspaceId};
use rapport_db::{Db, DbError, Tx};

use super::blocking;
use super::compare::{self, Pattern, SLOTS, levels_only};
use super::fellegi::Model;
use super::model::{Duplicate, Pair, PairEnd, Possible, Record, Source};
use super::store;
use crate::field::{CustomKind, Object};
use crate::person::{NewPerson, Person};

/// The probability from which a pair is reported, unless the caller says otherwise.
pub const DEFAULT_THRESHOLD: f64 = 0.9;
/// People read per query of a scan.
const PAGE: i64 = 20_000;
/// Random pairs `u` is learnt from.
const RANDOM_PAIRS: usize = 400_000;
/// People a single-record check reads per key it shares, at most.
const CHECK_PER_KEY: i64 = 50;
/// The workspace size an untrained model's prior assumes.
const UNTRAINED_PEOPLE: u64 = 100_000;
/// The people a workspace needs before a scan learns its own model: with fewer, random pairs
/// are too few to tell how often strangers agree (two people are one random pair: themselves),
/// and the built-in model, the one single-record checks start with, judges better.
const MIN_TRAINED: usize = 20;

#[derive(Debug, thiserror::Error)]
pub enum DedupError {
    #[error("the threshold must be a probability between 0 and 1")]
    Threshold,
    #[error("a scan worker failed: {0}")]
    Worker(String),
    #[error(transparent)]
    Db(#[from] DbError),
}

/// What a scan found and learnt.
#[derive(Debug)]
pub struct Scan {
    pub people: u64,
    /// Pairs compared after blocking.
    pub candidates: u64,
    /// The pairs at or above the threshold, highest score first.
    pub pairs: Vec<Pair>,
    pub model: Model,
}

/// Scans every live person of `workspace` for duplicates, learns the workspace's model, keeps
/// both for review and single-record checks, and returns the pairs scoring `threshold` or more.
pub async fn scan(db: &Db, workspace: WorkspaceId, threshold: f64) -> Result<Scan, DedupError> {
    if !(0.0..=1.0).contains(&threshold) {
        return Err(DedupError::Threshold);
    }
    let started = std::time::Instant::now();
    let (extras, labels) = extras(db, workspace).await?;
    let mut records: Vec<Record> = Vec::new();
    let mut after = 0;
    // Each page is normalised on a blocking thread while the next one is read.
    let mut normalising: Option<tokio::task::JoinHandle<Vec<Record>>> = None;
    loop {
        let page = store::people_after(db, workspace, after, PAGE).await?;
        if let Some(done) = normalising.take() {
            records.extend(done.await.map_err(worker)?);
        }
        let Some(last) = page.last() else { break };
        after = last.id;
        let extras = extras.clone();
        normalising = Some(tokio::task::spawn_blocking(move || page.iter().map(|s| Record::new(s, &extras)).collect()));
    }
    let read = started.elapsed();
    let detected = tokio::task::spawn_blocking(move || {
        let found = detect(&records, extras, labels, threshold);
        (records.len() as u64, found)
    })
    .await
    .map_err(worker)?;
    let (people, (model, pairs, candidates)) = detected;
    let compared = started.elapsed() - read;
    let (kept, stored) = (pairs.clone(), model.clone());
    db.write(move |tx| {
        Box::pin(async move {
            store::save_model(tx, workspace, &stored, Utc::now()).await?;
            store::replace_pairs(tx, workspace, &kept).await
        })
    })
    .await?;
    tracing::info!(
        %workspace, people, candidates, pairs = pairs.len(),
        read_s = read.as_secs_f64(), compared_s = compared.as_secs_f64(), total_s = started.elapsed().as_secs_f64(),
        "duplicate scan"
    );
    Ok(Scan { people, candidates, pairs, model })
}

fn worker(err: tokio::task::JoinError) -> DedupError {
    DedupError::Worker(err.to_string())
}

/// The workspace's custom text fields on people that take part in comparisons (identifiers
/// such as a membership or social security number), by id, with their labels.
async fn extras(db: &Db, workspace: WorkspaceId) -> Result<(Vec<String>, Vec<String>), DbError> {
    let mut defs = crate::field::definitions(db, workspace, Object::Person).await?;
    defs.retain(|def| def.active() && def.kind == CustomKind::Text);
    defs.sort_by_key(|def| def.id.get());
    defs.truncate(compare::MAX_EXTRAS);
    Ok(defs.into_iter().map(|def| (def.id.get().to_string(), def.label)).unzip())
}

/// The scan's work on normalised records, without the database: candidate pairs, their
/// patterns, the model learnt from them, and the pairs at or above `threshold`, highest
/// first. Returns the model, the pairs and how many candidates were compared.
pub fn detect(records: &[Record], extras: Vec<String>, labels: Vec<String>, threshold: f64) -> (Model, Vec<Pair>, u64) {
    let started = std::time::Instant::now();
    let candidates = blocking::candidate_pairs(records);
    let blocked = started.elapsed();
    let patterns =
        on_every_core(&candidates, |&(i, j, _)| compare::compare(&records[i as usize], &records[j as usize]));
    let random = on_every_core(&random_pairs(records.len()), |&(i, j)| {
        levels_only(compare::compare(&records[i as usize], &records[j as usize]))
    });
    let count = |found_by: blocking::Kinds| {
        let mut counts: HashMap<Pattern, u64> = HashMap::new();
        for ((_, _, kinds), pattern) in candidates.iter().zip(&patterns) {
            if kinds & found_by != 0 {
                *counts.entry(levels_only(*pattern)).or_default() += 1;
            }
        }
        counts
    };
    let sessions: Vec<(HashMap<Pattern, u64>, &[usize])> =
        blocking::Kind::training().into_iter().map(|(kind, fixed)| (count(kind.bit()), fixed)).collect();
    let counts = count(blocking::Kinds::MAX);
    let model = if records.len() < MIN_TRAINED {
        Model::untrained(UNTRAINED_PEOPLE, extras, labels)
    } else {
        Model::fit(&sessions, &counts, &random, records.len() as u64, (extras, labels))
    };
    tracing::debug!(
        blocking_s = blocked.as_secs_f64(),
        learnt_s = (started.elapsed() - blocked).as_secs_f64(),
        "duplicate detection: candidates compared and model learnt"
    );
    let scores: HashMap<Pattern, f64> = counts.keys().map(|p| (*p, model.probability(*p))).collect();
    let mut pairs: Vec<Pair> = candidates
        .iter()
        .zip(&patterns)
        .filter_map(|(&(i, j, _), pattern)| {
            let score = scores.get(&levels_only(*pattern)).copied().unwrap_or_default();
            (score >= threshold).then(|| pair(&records[i as usize], &records[j as usize], *pattern, score, &model))
        })
        .collect();
    sort(&mut pairs);
    (model, pairs, candidates.len() as u64)
}

fn sort(pairs: &mut [Pair]) {
    pairs.sort_by(|x, y| y.score.total_cmp(&x.score).then(x.a.id.cmp(&y.a.id)).then(x.b.id.cmp(&y.b.id)));
}

/// `f` over `items`, split across the machine's cores, in order.
fn on_every_core<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let chunk = items.len().div_ceil(threads).max(1);
    std::thread::scope(|scope| {
        let f = &f;
        let running: Vec<_> =
            items.chunks(chunk).map(|part| scope.spawn(move || part.iter().map(f).collect::<Vec<R>>())).collect();
        running
            .into_iter()
            .flat_map(|done| done.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic)))
            .collect()
    })
}

/// Random pairs of two different records out of `n`, the same ones on every run for the same
/// `n`.
fn random_pairs(n: usize) -> Vec<(u32, u32)> {
    if n < 2 {
        return Vec::new();
    }
    let all = n as u64 * (n as u64 - 1) / 2;
    let wanted = (RANDOM_PAIRS as u64).min(all) as usize;
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15 ^ n as u64;
    let mut next = || {
        // xorshift64*: a fixed sequence is all a sample needs.
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        state.wrapping_mul(0x2545_F491_4F6C_DD1D)
    };
    let mut pairs = Vec::with_capacity(wanted);
    while pairs.len() < wanted {
        let (i, j) = ((next() % n as u64) as u32, (next() % n as u64) as u32);
        if i != j {
            pairs.push((i.min(j), i.max(j)));
        }
    }
    pairs
}

/// A reported pair, lower id first, with its reasons strongest first.
fn pair(a: &Record, b: &Record, pattern: Pattern, score: f64, model: &Model) -> Pair {
    let (a, b) = if a.id <= b.id { (a, b) } else { (b, a) };
    Pair {
        a: PairEnd { id: a.id.get(), external_id: a.external_id.clone() },
        b: PairEnd { id: b.id.get(), external_id: b.external_id.clone() },
        score: rounded(score),
        reasons: reasons(a, b, pattern, model),
    }
}

fn rounded(score: f64) -> f64 {
    (score * 10_000.0).round() / 10_000.0
}

/// The comparisons behind a pair's score, strongest evidence first, naming `a`'s value first.
fn reasons(a: &Record, b: &Record, pattern: Pattern, model: &Model) -> Vec<String> {
    let mut weighed: Vec<(f64, String)> = (0..SLOTS)
        .filter_map(|slot| {
            let label = slot.checked_sub(compare::EXTRA).and_then(|n| model.labels.get(n)).map_or("", String::as_str);
            let reason = compare::reason(a, b, pattern, slot, label)?;
            Some((model.slot_weight(slot, compare::level(pattern, slot)), reason))
        })
        .collect();
    weighed.sort_by(|x, y| y.0.abs().total_cmp(&x.0.abs()));
    compare::swapped_reason(pattern).map(str::to_owned).into_iter().chain(weighed.into_iter().map(|(_, r)| r)).collect()
}

/// The people of `workspace` who are probably `person` (scoring [`DEFAULT_THRESHOLD`] or
/// more), best first: for a "possible duplicate of …" warning on create, update or import.
/// `itself` is left out (the person being updated). It reads only the people sharing one of
/// the person's keys, through indexes, never the whole workspace.
pub async fn candidates(
    db: &Db,
    workspace: WorkspaceId,
    person: &NewPerson,
    itself: Option<PersonId>,
) -> Result<Vec<Pair>, DedupError> {
    probe(db, workspace, &Source::of_new(person, itself), itself).await
}

/// The same for a stored person: "possible duplicate of …" on their page.
pub async fn candidates_of(db: &Db, workspace: WorkspaceId, person: &Person) -> Result<Vec<Pair>, DedupError> {
    probe(db, workspace, &Source::of_person(person), Some(person.id)).await
}

async fn probe(
    db: &Db,
    workspace: WorkspaceId,
    source: &Source,
    itself: Option<PersonId>,
) -> Result<Vec<Pair>, DedupError> {
    let model = workspace_model(db, workspace).await?;
    let probe = Record::new(source, &model.extras);
    let keys = blocking::stored_keys(&probe);
    let found = store::sharing(db, workspace, &keys, blocking::indexed_values(&probe), CHECK_PER_KEY).await?;
    let mut pairs: Vec<Pair> = found
        .iter()
        .filter(|other| Some(PersonId::new(other.id)) != itself)
        .filter_map(|other| {
            let other = Record::new(other, &model.extras);
            let pattern = compare::compare(&probe, &other);
            let score = model.probability(levels_only(pattern));
            (score >= DEFAULT_THRESHOLD).then(|| pair(&probe, &other, pattern, score, &model))
        })
        .collect();
    sort(&mut pairs);
    Ok(pairs)
}

/// The model checks score with: the one the last scan learnt, or before any scan an
/// untrained one. A batched check takes it from the caller, who reads it once for many batches.
pub async fn workspace_model(db: &Db, workspace: WorkspaceId) -> Result<Model, DbError> {
    Ok(match store::model(db, workspace).await? {
        Some(model) => model,
        None => {
            let (extras, labels) = extras(db, workspace).await?;
            Model::untrained(UNTRAINED_PEOPLE, extras, labels)
        }
    })
}

/// Two people scored and explained by the workspace's model, whatever the score: for showing
/// a pair side by side.
pub async fn score(db: &Db, workspace: WorkspaceId, a: &Person, b: &Person) -> Result<Pair, DedupError> {
    let model = workspace_model(db, workspace).await?;
    let (a, b) = (Record::new(&Source::of_person(a), &model.extras), Record::new(&Source::of_person(b), &model.extras));
    let pattern = compare::compare(&a, &b);
    Ok(pair(&a, &b, pattern, model.probability(levels_only(pattern)), &model))
}

/// The stored pair of two people, if the last scan found them, read in the caller's
/// transaction (a merge keeps it for its undo).
pub async fn queued_pair(
    tx: &mut Tx,
    workspace: WorkspaceId,
    (x, y): (PersonId, PersonId),
) -> Result<Option<Pair>, DbError> {
    let (a, b) = if x.get() <= y.get() { (x, y) } else { (y, x) };
    store::pair(tx, workspace, (a.get(), b.get())).await
}

/// When the workspace's last scan ran, if one has.
pub async fn scanned_at(db: &Db, workspace: WorkspaceId) -> Result<Option<rapport_core::Timestamp>, DbError> {
    store::scanned_at(db, workspace).await
}

/// Puts a pair back into the review queue, inside the caller's transaction (a merge undone).
pub async fn remember(tx: &mut Tx, workspace: WorkspaceId, pair: &Pair) -> Result<(), DbError> {
    store::insert_pair(tx, workspace, pair).await
}

/// Probes a batched check reads the sharing people of per query: well under both engines'
/// limits of bound values at the seven values a probe has at most.
const PROBES_PER_QUERY: usize = 1_000;

/// The possible duplicates of each of `probes` (people about to be created), scoring
/// `threshold` or more, best first: the live people sharing a stored key, the email or the
/// phone with a probe (at most 50 per key), read in the caller's transaction with a query per
/// thousand probes, and the probes before it in `probes` sharing one of those keys with it.
/// Scored with `model` (see [`workspace_model`]).
pub async fn candidates_many(
    tx: &mut Tx,
    workspace: WorkspaceId,
    model: &Model,
    probes: &[NewPerson],
    threshold: f64,
) -> Result<Vec<Vec<Possible>>, DbError> {
    let sources: Vec<Source> = probes.iter().map(|p| Source::of_new(p, None)).collect();
    let records: Vec<Record> = sources.iter().map(|s| Record::new(s, &model.extras)).collect();
    let keys: Vec<Vec<i64>> = records.iter().map(blocking::check_keys).collect();
    let mut by_key: HashMap<i64, Vec<usize>> = HashMap::new();
    for (n, probe_keys) in keys.iter().enumerate() {
        for key in probe_keys {
            by_key.entry(*key).or_default().push(n);
        }
    }
    let mut found: Vec<Vec<Possible>> = vec![Vec::new(); probes.len()];
    let mut consider = |n: usize, other: &Record, of: Duplicate, name: String| {
        let pattern = compare::compare(&records[n], other);
        let score = model.probability(levels_only(pattern));
        if score >= threshold {
            let reasons = reasons(&records[n], other, pattern, model);
            found[n].push(Possible { of, name, score: rounded(score), reasons });
        }
    };
    let mut seen = std::collections::HashSet::new();
    for (chunk, part) in sources.chunks(PROBES_PER_QUERY).zip(records.chunks(PROBES_PER_QUERY)) {
        let mut stored: Vec<i64> = part.iter().flat_map(blocking::stored_keys).collect();
        stored.sort_unstable();
        stored.dedup();
        let values = |f: fn(&Source) -> Option<&String>| {
            let mut values: Vec<String> = chunk.iter().filter_map(f).cloned().collect();
            values.sort_unstable();
            values.dedup();
            values
        };
        let (emails, phones) = (values(|s| s.email.as_ref()), values(|s| s.phone.as_ref()));
        for person in store::sharing_many(tx, workspace, (&stored, &emails, &phones), CHECK_PER_KEY).await? {
            if !seen.insert(person.id) {
                continue;
            }
            let other = Record::new(&person, &model.extras);
            let mut probes_sharing: Vec<usize> =
                blocking::check_keys(&other).iter().filter_map(|k| by_key.get(k)).flatten().copied().collect();
            probes_sharing.sort_unstable();
            probes_sharing.dedup();
            for n in probes_sharing {
                consider(n, &other, Duplicate::Person(other.id), name_of(&person));
            }
        }
    }
    let mut earlier: Vec<Vec<usize>> = vec![Vec::new(); probes.len()];
    for sharing in by_key.values() {
        for (place, n) in sharing.iter().enumerate() {
            let from = place.saturating_sub(CHECK_PER_KEY as usize);
            earlier[*n].extend_from_slice(&sharing[from..place]);
        }
    }
    for (n, mut before) in earlier.into_iter().enumerate() {
        before.sort_unstable();
        before.dedup();
        for m in before {
            consider(n, &records[m], Duplicate::Probe(m), name_of(&sources[m]));
        }
    }
    for possible in &mut found {
        possible.sort_by(|x, y| y.score.total_cmp(&x.score));
    }
    Ok(found)
}

fn name_of(source: &Source) -> String {
    let names = [&source.first_name, &source.last_name];
    names.iter().filter_map(|n| n.as_deref()).map(str::trim).filter(|n| !n.is_empty()).collect::<Vec<_>>().join(" ")
}

/// The last scan's pairs whose people are still live, highest score first, `limit` after the
/// given cursor (the score and ids of the previous page's last pair).
pub async fn pairs(
    db: &Db,
    workspace: WorkspaceId,
    after: Option<(f64, i64, i64)>,
    limit: i64,
) -> Result<Vec<Pair>, DedupError> {
    Ok(store::pairs(db, workspace, after, limit).await?)
}

/// Drops the stored pairs `person` is part of, inside the caller's transaction (a merge).
pub async fn forget(tx: &mut Tx, workspace: WorkspaceId, person: PersonId) -> Result<(), DbError> {
    store::forget(tx, workspace, person.get()).await
}

fn keys_of(person: &Person) -> Vec<i64> {
    blocking::stored_keys(&Record::new(&Source::of_person(person), &[]))
}

/// Stores the blocking keys of people just created, inside their transaction.
pub async fn index(tx: &mut Tx, workspace: WorkspaceId, people: &[Person]) -> Result<(), DbError> {
    let keys: Vec<(i64, i64)> =
        people.iter().flat_map(|p| keys_of(p).into_iter().map(move |key| (key, p.id.get()))).collect();
    store::insert_keys(tx, workspace, &keys).await
}

/// Moves a person's stored keys from what they were to what they are, inside the update's
/// transaction.
pub async fn reindex(tx: &mut Tx, workspace: WorkspaceId, before: &Person, after: &Person) -> Result<(), DbError> {
    let (old, new) = (keys_of(before), keys_of(after));
    let gone: Vec<i64> = old.iter().copied().filter(|k| !new.contains(k)).collect();
    let added: Vec<(i64, i64)> = new.iter().filter(|k| !old.contains(k)).map(|k| (*k, after.id.get())).collect();
    store::delete_keys(tx, workspace, before.id.get(), &gone).await?;
    store::insert_keys(tx, workspace, &added).await
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The `k`th pseudo-random number of person `n`.
    fn spread(n: i64, k: u64) -> usize {
        let x = (n as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ k.wrapping_mul(0xBF58_476D_1CE4_E5B9);
        (x.rotate_left(29).wrapping_mul(0x94D0_49BB_1331_11EB) >> 33) as usize
    }

    const FIRST: [&str; 12] =
        ["Robert", "Mary", "John", "Anna", "Peter", "Laura", "James", "Sofia", "Liam", "Emma", "Noah", "Olivia"];
    const LAST: [&str; 10] =
        ["Smith", "Jones", "Brown", "Taylor", "Wilson", "Davies", "Evans", "Thomas", "Roberts", "Walker"];
    const STREETS: [&str; 8] = ["Main", "High", "Station", "Church", "Mill", "Park", "Victoria", "Green"];

    fn person(n: i64) -> Source {
        let postal = 2000 + spread(n, 6) % 40;
        Source {
            id: n,
            first_name: Some(FIRST[spread(n, 1) % 12].into()),
            last_name: Some(LAST[spread(n, 2) % 10].into()),
            street: Some(format!("{} {} Street", 1 + spread(n, 3) % 200, STREETS[spread(n, 4) % 8])),
            postal_code: Some(postal.to_string()),
            city: Some(format!("Town {postal}")),
            birthday: chrono::NaiveDate::from_ymd_opt(
                1940 + (spread(n, 5) % 60) as i32,
                1 + (spread(n, 7) % 12) as u32,
                1 + (spread(n, 8) % 28) as u32,
            ),
            ..Source::default()
        }
    }

    #[test]
    fn detection_finds_planted_duplicates_and_explains_them() {
        let mut sources: Vec<Source> = (0..2_000).map(person).collect();
        // Duplicates of the first 30 people: a nickname or typo, a street abbreviated, swapped names.
        for n in 0..30 {
            let mut copy = sources[n].clone();
            copy.id = 10_000 + n as i64;
            match n % 3 {
                0 => {
                    let first = copy.first_name.unwrap_or_default();
                    copy.first_name = Some(if first == "Robert" { "Bob".into() } else { format!("{first}e") });
                }
                1 => copy.street = copy.street.map(|s| s.replace("Street", "St")),
                _ => std::mem::swap(&mut copy.first_name, &mut copy.last_name),
            }
            sources.push(copy);
        }
        let records: Vec<Record> = sources.iter().map(|s| Record::new(s, &[])).collect();
        let (model, pairs, candidates) = detect(&records, vec![], vec![], DEFAULT_THRESHOLD);
        assert!(candidates < 2_000 * 30, "blocking keeps the work small: {candidates}");
        let found = pairs.iter().filter(|p| p.b.id - p.a.id == 10_000).count();
        let wrong: Vec<&Pair> = pairs.iter().filter(|p| p.b.id - p.a.id != 10_000).collect();
        assert!(found >= 28, "{found} of 30 found; model {model:?}");
        assert!(wrong.len() <= 1, "{} false pairs: {:?}; model {model:?}", wrong.len(), &wrong[..3.min(wrong.len())]);
        let swapped = pairs.iter().find(|p| p.a.id == 2).expect("the swapped pair");
        assert!(swapped.reasons.iter().any(|r| r == "first and last names swapped"), "{:?}", swapped.reasons);
        assert!(pairs.iter().all(|p| (0.0..=1.0).contains(&p.score)));
    }

    #[test]
    fn random_pairs_join_two_different_records_and_repeat() {
        let pairs = random_pairs(100);
        assert_eq!(pairs.len(), 4_950.min(RANDOM_PAIRS));
        assert!(pairs.iter().all(|(i, j)| i < j && *j < 100));
        assert_eq!(pairs, random_pairs(100));
        assert!(random_pairs(1).is_empty());
    }
}
