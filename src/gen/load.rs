//! Loading a generated data set straight into a workspace, instead of into files: people first,
//! then their behaviour events, each through the public bulk function of the module that owns
//! the table (`person::insert_many`, `tracking::ingest`). Generator threads build and check the
//! rows (phone and e-mail parsing is the costly part) while the calling thread writes batches of
//! a few thousand rows, one transaction each, through the single writer. Later objects
//! (companies, products, orders) plug in as one more phase each, once their tables exist.
//!
//! Afterwards [`verify`] reads the workspace back and checks what a load must guarantee: every
//! row arrived, the funnel has a shop's shape, and every event's user is a stored person.

use std::collections::{BTreeMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use anyhow::Context as _;
use indicatif::ProgressBar;
use rapport_core::{CountryCode, WorkspaceId};
use rapport_db::Db;
use tokio::runtime::Handle;

use super::World;
use super::behaviour;
use super::people::Person;
use super::pipeline::{in_order, progress};
use crate::field::{CustomField, CustomKind, Object, ValueContext};
use crate::person::{LifecycleStage, NewPerson, PersonError, PersonInput};
use crate::profile::AddressInput;
use crate::tracking::{Message, MessageType, SourceRef};

/// Rows per transaction: large enough that commits are a small share of the time, small
/// enough that a failure loses little work and memory stays bounded.
const ROWS_PER_TRANSACTION: usize = 5_000;

/// The name of the tracking source generated events arrive from.
pub const SOURCE_NAME: &str = "Generated data";

/// How many rows a load wrote, and how fast.
#[derive(Clone, Debug, Default)]
pub struct Loaded {
    pub people: u64,
    /// People stored without the phone number the generator gave them, which does not parse.
    pub phones_dropped: u64,
    pub events: u64,
    pub people_seconds: f64,
    pub events_seconds: f64,
}

/// Loads `world` into `workspace`. It blocks: call it from a blocking thread, with `runtime`
/// running the database writes. With `show` a progress bar and a rate line per phase go to
/// standard error.
pub fn load(runtime: &Handle, db: &Db, workspace: WorkspaceId, world: &World, show: bool) -> anyhow::Result<Loaded> {
    let region = runtime.block_on(crate::profile::phone_region(db, workspace)).context("reading the workspace")?;
    let fields = CustomFields {
        defs: runtime.block_on(crate::field::definitions(db, workspace, Object::Person))?,
        ctx: runtime.block_on(crate::field::context(db, workspace))?,
    };
    let chunks = world.people.div_ceil(behaviour::PEOPLE_PER_CHUNK);
    let dropped = AtomicU64::new(0);
    let people = |chunk| {
        let people: Vec<(NewPerson, bool)> = super::people_of_chunk(world, chunk)
            .iter()
            .map(|p| checked(p, region, &fields))
            .collect::<Result<_, _>>()?;
        dropped.fetch_add(people.iter().filter(|(_, dropped)| *dropped).count() as u64, Ordering::Relaxed);
        Ok(people.into_iter().map(|(person, _)| person).collect())
    };
    let (people, people_seconds) = phase(show, "people", world.people, chunks, people, |batch| {
        runtime.block_on(crate::person::insert_many(db, workspace, batch)).map_err(|err| match err {
            PersonError::Invalid(fields) => {
                anyhow::anyhow!("inserting people: {fields:?}; was this data set loaded into the workspace before?")
            }
            other => anyhow::Error::new(other).context("inserting people"),
        })
    })?;
    let mut loaded =
        Loaded { people, people_seconds, phones_dropped: dropped.load(Ordering::Relaxed), ..Loaded::default() };
    if world.events == 0 {
        return Ok(loaded);
    }

    let source = runtime.block_on(crate::tracking::create_source(
        db,
        (workspace, &rapport_core::Actor::System("gen".into())),
        SOURCE_NAME,
    ))?;
    let source = SourceRef { workspace, id: source.id };
    let events = |chunk| events_of_chunk(world, chunk);
    (loaded.events, loaded.events_seconds) = phase(show, "events", world.events, chunks, events, |batch| {
        let sent = batch.len();
        let ingested = runtime.block_on(crate::tracking::ingest(db, source, batch)).context("inserting events")?;
        anyhow::ensure!(ingested.duplicates == 0, "{} of {sent} events were loaded before", ingested.duplicates);
        Ok(ingested.stored)
    })?;
    Ok(loaded)
}

/// One object's phase: `build` makes each chunk's rows on the generator threads, `write` stores
/// them [`ROWS_PER_TRANSACTION`] at a time on this one. Returns the rows written and the seconds
/// it took.
fn phase<T: Send>(
    show: bool,
    label: &str,
    total: u64,
    chunks: u64,
    build: impl Fn(u64) -> anyhow::Result<Vec<T>> + Sync,
    mut write: impl FnMut(Vec<T>) -> anyhow::Result<u64>,
) -> anyhow::Result<(u64, f64)> {
    let started = Instant::now();
    let bar = if show { progress(label, total) } else { ProgressBar::hidden() };
    let mut batch = Vec::with_capacity(ROWS_PER_TRANSACTION);
    let mut written = 0;
    in_order(chunks, build, |rows: Vec<T>| {
        bar.inc(rows.len() as u64);
        batch.extend(rows);
        if batch.len() >= ROWS_PER_TRANSACTION {
            written += write(std::mem::take(&mut batch))?;
        }
        Ok(())
    })?;
    written += write(batch)?;
    bar.finish_and_clear();
    let seconds = started.elapsed().as_secs_f64();
    if show {
        eprintln!("{label:>8}: {written} rows in {seconds:.1} s ({:.0} rows/s)", written as f64 / seconds.max(1e-9));
    }
    Ok((written, seconds))
}

/// A generated person as the people module takes them, checked as any other input is. The
/// generator writes a few phone numbers that libphonenumber refuses, as real exports hold; like
/// an import, the load leaves such a field out rather than the person (`true` says it did).
fn checked(person: &Person, region: CountryCode, fields: &CustomFields) -> anyhow::Result<(NewPerson, bool)> {
    let given = |text: &str| Some(text.to_owned()).filter(|t| !t.is_empty());
    let mut input = PersonInput {
        first_name: given(&person.first_name),
        last_name: given(&person.last_name),
        email: given(&person.email),
        phone: given(&person.phone),
        birthday: person.birthday.map(|d| d.format("%Y-%m-%d").to_string()),
        address: AddressInput {
            street: given(&person.street),
            city: given(person.city),
            region: given(person.region),
            postal_code: given(&person.postal_code),
            country: given(person.country.code),
            ..AddressInput::default()
        },
        language: given(person.locale()),
        lifecycle_stage: Some(stage(person.lifecycle_stage).as_str().to_owned()),
        source: Some("generated".to_owned()),
        tags: person.tags.split(';').filter(|t| !t.is_empty()).map(str::to_owned).collect(),
        external_id: given(&person.external_id),
        ..PersonInput::default()
    };
    let refused = |errors| anyhow::anyhow!("generated person {} does not pass the checks: {errors:?}", person.id);
    let custom =
        crate::field::checked(&fields.defs, &custom_values(person, &fields.defs), None, fields.ctx).map_err(refused)?;
    let (mut new, dropped) = match NewPerson::parse(&input, region) {
        Ok(new) => (new, false),
        Err(errors) if errors.keys().all(|field| field == "phone") => {
            input.phone = None;
            (NewPerson::parse(&input, region).map_err(refused)?, true)
        }
        Err(errors) => return Err(refused(errors)),
    };
    new.custom = custom;
    Ok((new, dropped))
}

/// The workspace's custom fields on people, which a load fills as a user would.
struct CustomFields {
    defs: Vec<CustomField>,
    ctx: ValueContext,
}

/// Plausible values for the custom fields of the kinds a generator can invent (selects,
/// numbers, yes/no, dates), spread evenly and the same for the same person and field; fields
/// of other kinds stay empty.
fn custom_values(person: &Person, defs: &[CustomField]) -> BTreeMap<String, serde_json::Value> {
    let mut values = BTreeMap::new();
    for def in defs.iter().filter(|def| def.active()) {
        let spread = (person.id ^ (def.id.get() as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15))
            .wrapping_mul(0xBF58_476D_1CE4_E5B9)
            .rotate_left(29);
        let value = match def.kind {
            CustomKind::Select if !def.options.is_empty() => {
                serde_json::json!(def.options[(spread % def.options.len() as u64) as usize])
            }
            CustomKind::MultiSelect if !def.options.is_empty() => {
                serde_json::json!([def.options[(spread % def.options.len() as u64) as usize]])
            }
            CustomKind::Number => serde_json::json!(spread % 1_000),
            CustomKind::Boolean => serde_json::json!(spread.is_multiple_of(2)),
            CustomKind::Date => {
                let day =
                    chrono::NaiveDate::from_ymd_opt(2024, 1, 1).unwrap_or_default() + chrono::Days::new(spread % 1_100);
                serde_json::json!(day.format("%Y-%m-%d").to_string())
            }
            _ => continue,
        };
        values.insert(def.key.clone(), value);
    }
    values
}

/// The generated files use a CRM's finer stages; qualified leads are leads here.
fn stage(generated: &str) -> LifecycleStage {
    LifecycleStage::parse(generated).unwrap_or(if generated.ends_with("_lead") {
        LifecycleStage::Lead
    } else {
        LifecycleStage::Other
    })
}

/// The chunk's events, parsed by the same code as events sent to the collection endpoints. A
/// generated event was received when it happened.
fn events_of_chunk(world: &World, chunk: u64) -> anyhow::Result<Vec<Message>> {
    let generated = behaviour::chunk(world, chunk)?;
    let ndjson = generated.buffers.first().map_or(&[][..], Vec::as_slice);
    let now = chrono::Utc::now();
    ndjson
        .split(|&b| b == b'\n')
        .filter(|line| !line.is_empty())
        .map(|line| {
            // Every line names its own type; the endpoint type given here is never used.
            let payload = crate::tracking::parse(line, Some(MessageType::Track), now)
                .map_err(|e| anyhow::anyhow!("a generated event is refused: {e}"))?;
            let mut message = payload.messages.into_iter().next().context("a parsed event")?;
            message.received_at = message.occurred_at;
            Ok(message)
        })
        .collect()
}

/// What the database holds after a load, and what is wrong with it.
#[derive(Debug, Default)]
pub struct Verified {
    pub people: i64,
    pub events: i64,
    /// Product views, adds to cart, checkouts started, orders completed.
    pub funnel: [i64; 4],
    /// Distinct user ids on events that no person carries as external id.
    pub unknown_users: usize,
    /// Orders recorded from the `Order Completed` events, and events still waiting for resolution.
    pub orders: i64,
    pub unresolved: i64,
    pub failures: Vec<String>,
}

const FUNNEL: [&str; 4] = ["Product Viewed", "Product Added", "Checkout Started", "Order Completed"];

/// Reads the workspace back and checks it against `world`.
pub async fn verify(db: &Db, workspace: WorkspaceId, world: &World) -> anyhow::Result<Verified> {
    let mut found = Verified { people: crate::person::count_all(db, workspace).await?, ..Verified::default() };
    for count in crate::tracking::census(db, workspace).await? {
        found.events += count.count;
        if let Some(step) = FUNNEL.iter().position(|n| count.kind == "track" && count.name.as_deref() == Some(n)) {
            found.funnel[step] = count.count;
        }
    }
    let known: HashSet<String> = crate::person::external_ids(db, workspace).await?.into_iter().collect();
    found.unknown_users =
        crate::tracking::user_ids(db, workspace).await?.iter().filter(|u| !known.contains(*u)).count();

    if u64::try_from(found.people).ok() != Some(world.people) {
        found.failures.push(format!("{} people stored, {} generated", found.people, world.people));
    }
    if u64::try_from(found.events).ok() != Some(world.events) {
        found.failures.push(format!("{} events stored, {} generated", found.events, world.events));
    }
    if found.unknown_users > 0 {
        found.failures.push(format!("{} user ids on events match no person", found.unknown_users));
    }
    found.orders = crate::order::count_all(db, workspace).await?;
    found.unresolved = crate::tracking::backlog(db, workspace).await?;
    if found.orders != found.funnel[3] {
        found.failures.push(format!("{} orders recorded from {} completed orders", found.orders, found.funnel[3]));
    }
    if found.unresolved > 0 {
        found.failures.push(format!("{} events are not resolved", found.unresolved));
    }
    let [viewed, added, started, ordered] = found.funnel;
    if world.events >= 10_000 && !(viewed > added && added > started && started > ordered && ordered > 0) {
        found.failures.push(format!("the funnel is not a shop's: {:?}", found.funnel));
    }
    Ok(found)
}

impl Verified {
    pub fn print(&self) {
        println!("people in the workspace: {}", self.people);
        println!("events in the workspace: {}", self.events);
        let [viewed, added, started, ordered] = self.funnel;
        let ratio = |a: i64, b: i64| if b > 0 { a as f64 / b as f64 * 100.0 } else { 0.0 };
        println!(
            "funnel: {viewed} views → {added} adds ({:.1}%) → {started} checkouts ({:.1}%) → {ordered} orders ({:.1}%)",
            ratio(added, viewed),
            ratio(started, added),
            ratio(ordered, started)
        );
        println!("user ids on events without a person: {}", self.unknown_users);
        println!("orders recorded: {}; events not yet resolved: {}", self.orders, self.unresolved);
    }
}
