//! `rapport gen`: a realistic shop's customer data, deterministic from a seed, at any scale.
//!
//! It writes CSV files (companies, products, people with planted duplicates and their ground
//! truth, orders and their lines) and Segment-spec NDJSON events into a directory, streaming
//! on every core in constant memory, then reads them back for a sanity check and fails if it
//! does not pass. The same seed and sizes give byte-identical files on the same platform. The
//! benchmark scenarios use it for their data (`write_contacts` for the raw import baseline).
//!
//! With `--workspace` it loads the same people and events straight into a workspace instead
//! ([`load`]), through the bulk functions of the person and tracking modules, and checks the
//! database afterwards; the demo workspace and the API benchmarks use that path with their own
//! sizes ([`load_sample`], [`load_into`]). Boundaries: it knows nothing of Rapport's schema and
//! writes no SQL; the modules that own the tables do.

mod behaviour;
mod calendar;
mod check;
mod companies;
mod load;
mod people;
mod pipeline;
mod products;
mod rng;
mod words;

use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;
use chrono::NaiveDate;
use clap::Args;

use rapport_core::WorkspaceId;
use rapport_db::Db;

use self::calendar::Calendar;
pub use self::load::{Loaded, SOURCE_NAME};
use self::people::Person;
use self::pipeline::{Chunk, Output, csv_buffer, csv_bytes, progress, write_in_order};
use self::products::Catalogue;

/// The end of history when `--end` is not given: fixed, so that output never depends on the day
/// it was generated.
pub const DEFAULT_END: &str = "2026-11-01";

/// Rows per chunk of the small tables.
const ROWS_PER_CHUNK: u64 = 1_000;

#[derive(Debug, Args)]
pub struct GenArgs {
    /// People, planted duplicates included (about 2%).
    #[arg(long, default_value_t = 10_000)]
    pub people: u64,
    /// Companies people work for.
    #[arg(long, default_value_t = 500)]
    pub companies: u64,
    /// Products in the catalogue.
    #[arg(long, default_value_t = 200)]
    pub products: u64,
    /// Behaviour events in total; orders follow from them.
    #[arg(long, default_value_t = 100_000)]
    pub events: u64,
    /// The same seed and sizes give the same bytes.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// The day after the last day of history (YYYY-MM-DD); events cover the two years before.
    #[arg(long, default_value = DEFAULT_END)]
    pub end: NaiveDate,
    /// Directory for the files (created if missing; files of the same name are replaced).
    #[arg(long, value_name = "DIR", default_value = "rapport-gen")]
    pub out: PathBuf,
    /// Load people and events into this workspace (by id) of the configured database instead
    /// of writing files.
    #[arg(long, value_name = "ID", conflicts_with = "out")]
    pub workspace: Option<i64>,
}

/// The fixed parameters and shared tables every row is derived from.
pub struct World {
    pub seed: u64,
    pub people: u64,
    pub companies: u64,
    pub events: u64,
    pub calendar: Calendar,
    pub catalogue: Catalogue,
    pub country_weights: Vec<u32>,
}

impl World {
    pub fn new(seed: u64, people: u64, companies: u64, products: u64, events: u64, end: NaiveDate) -> Self {
        Self {
            seed,
            people,
            companies,
            events,
            calendar: Calendar::new(seed, end),
            catalogue: Catalogue::generate(seed, products),
            country_weights: words::COUNTRIES.iter().map(|c| c.weight).collect(),
        }
    }
}

pub fn run(args: &GenArgs) -> anyhow::Result<()> {
    if args.events > 0 && (args.people == 0 || args.products == 0) {
        anyhow::bail!("events need people and products: give --people and --products");
    }
    let started = Instant::now();
    std::fs::create_dir_all(&args.out).with_context(|| format!("creating {}", args.out.display()))?;
    let world = World::new(args.seed, args.people, args.companies, args.products, args.events, args.end);
    let sizes = generate(&world, &args.out)?;
    let generated = started.elapsed();

    println!("checking {}", args.out.display());
    let findings = check::verify(&args.out, &world)?;
    for (file, bytes) in &sizes {
        let rows = findings.rows.get(file).copied().unwrap_or(0);
        println!("{file:>16}  {rows:>12} rows  {:>10.1} MiB", *bytes as f64 / (1024.0 * 1024.0));
    }
    check::print(&findings);
    println!(
        "generated in {:.1} s, checked in {:.1} s; peak memory {}",
        generated.as_secs_f64(),
        (started.elapsed() - generated).as_secs_f64(),
        crate::bench::system::peak_rss_bytes(std::process::id())
            .map_or_else(|| "unknown".to_owned(), |b| format!("{:.0} MiB", b as f64 / (1024.0 * 1024.0)))
    );
    if findings.failures.is_empty() {
        println!("sanity check passed");
        Ok(())
    } else {
        for failure in findings.failures.iter().take(20) {
            eprintln!("  {failure}");
        }
        anyhow::bail!("sanity check failed: {} problems", findings.failures.len())
    }
}

/// `rapport gen --workspace ID`: loads the data set into the workspace, then prints the check
/// made on the database and fails if it does not pass.
pub async fn run_into(args: &GenArgs, db: &Db, workspace: WorkspaceId) -> anyhow::Result<()> {
    if args.events > 0 && args.people == 0 {
        anyhow::bail!("events need people: give --people");
    }
    crate::workspace::settings(db, workspace).await.with_context(|| format!("workspace {workspace}"))?;
    let world = Arc::new(World::new(args.seed, args.people, args.companies, args.products, args.events, args.end));
    let loaded = load_world(db, workspace, Arc::clone(&world), true).await?;
    // The sample data of setup and the demo leave this to the worker, so their page answers at
    // once; the command waits, so its check sees the orders and aggregates.
    eprintln!("resolving who each event belongs to …");
    let started = std::time::Instant::now();
    let resolved = crate::tracking::resolve_pending(db, workspace).await.context("resolving events")?;
    let resolve_seconds = started.elapsed().as_secs_f64();
    println!(
        "loaded {} people in {:.1} s ({} invalid phone numbers left out) and {} events in {:.1} s; resolved {} events in {:.1} s ({:.0}/s)",
        loaded.people,
        loaded.people_seconds,
        loaded.phones_dropped,
        loaded.events,
        loaded.events_seconds,
        resolved,
        resolve_seconds,
        resolved as f64 / resolve_seconds.max(1e-9)
    );
    let found = load::verify(db, workspace, &world).await?;
    found.print();
    if found.failures.is_empty() {
        println!("sanity check passed");
        Ok(())
    } else {
        for failure in &found.failures {
            eprintln!("  {failure}");
        }
        anyhow::bail!("sanity check failed: {} problems", found.failures.len())
    }
}

/// People in the sample data of a demo workspace.
pub const SAMPLE_PEOPLE: u64 = 2_000;
/// Behaviour events of the sample data, over the two years before today.
pub const SAMPLE_EVENTS: u64 = 40_000;

/// Loads the demo shop's sample data into `workspace`: [`SAMPLE_PEOPLE`] people and two years
/// of their events, ending today.
pub async fn load_sample(db: &Db, workspace: WorkspaceId) -> anyhow::Result<Loaded> {
    let end = chrono::Utc::now().date_naive() + chrono::Days::new(1);
    let world = World::new(7, SAMPLE_PEOPLE, SAMPLE_PEOPLE / 20, 120, SAMPLE_EVENTS, end);
    load_world(db, workspace, Arc::new(world), false).await
}

/// Loads `people` people and `events` events (seed 42) into `workspace` without progress
/// output, as the benchmarks prepare their data.
pub async fn load_into(db: &Db, workspace: WorkspaceId, people: u64, events: u64) -> anyhow::Result<Loaded> {
    let end = NaiveDate::parse_from_str(DEFAULT_END, "%Y-%m-%d")?;
    let world = World::new(42, people, (people / 50).max(1), 200, events, end);
    load_world(db, workspace, Arc::new(world), false).await
}

async fn load_world(db: &Db, workspace: WorkspaceId, world: Arc<World>, show: bool) -> anyhow::Result<Loaded> {
    let runtime = tokio::runtime::Handle::current();
    let db = db.clone();
    tokio::task::spawn_blocking(move || load::load(&runtime, &db, workspace, &world, show))
        .await
        .context("the loader panicked")?
}

/// Writes every file; returns each file's name and size in bytes.
fn generate(world: &World, dir: &Path) -> io::Result<Vec<(&'static str, u64)>> {
    let mut sizes = Vec::new();
    let mut phase = |label: &str,
                     files: &[(&'static str, &str)],
                     chunks: u64,
                     total: u64,
                     work: &(dyn Fn(u64) -> io::Result<Chunk> + Sync)| {
        let mut outputs = files
            .iter()
            .map(|(name, header)| Output::create(&dir.join(name), header))
            .collect::<io::Result<Vec<_>>>()?;
        let bar = progress(label, total);
        write_in_order(&mut outputs, chunks, &bar, work)?;
        bar.finish();
        for ((name, _), output) in files.iter().zip(outputs) {
            sizes.push((*name, output.finish()?));
        }
        io::Result::Ok(())
    };

    let companies = world.companies;
    phase(
        "companies",
        &[("companies.csv", companies::HEADER)],
        companies.div_ceil(ROWS_PER_CHUNK),
        companies,
        &|chunk| {
            let mut out = csv_buffer();
            let ids = chunk * ROWS_PER_CHUNK + 1..=((chunk + 1) * ROWS_PER_CHUNK).min(companies);
            let rows = ids.clone().count() as u64;
            for id in ids {
                companies::Company::generate(world.seed, id).write_csv(&mut out)?;
            }
            Ok(Chunk { buffers: vec![csv_bytes(out)?], rows })
        },
    )?;

    let catalogue = &world.catalogue.products;
    let products = catalogue.len() as u64;
    phase("products", &[("products.csv", products::HEADER)], products.div_ceil(ROWS_PER_CHUNK), products, &|chunk| {
        let mut out = csv_buffer();
        let slice = catalogue.chunks(ROWS_PER_CHUNK as usize).nth(chunk as usize).unwrap_or_default();
        for product in slice {
            product.write_csv(&mut out)?;
        }
        Ok(Chunk { buffers: vec![csv_bytes(out)?], rows: slice.len() as u64 })
    })?;

    let people_chunks = world.people.div_ceil(behaviour::PEOPLE_PER_CHUNK);
    phase(
        "people",
        &[("people.csv", people::HEADER), ("duplicates.csv", people::DUPLICATES_HEADER)],
        people_chunks,
        world.people,
        &|chunk| {
            let (mut rows, mut duplicates) = (csv_buffer(), csv_buffer());
            let people = people_of_chunk(world, chunk);
            for person in &people {
                person.write_csv(&mut rows)?;
                person.write_duplicate_csv(&mut duplicates)?;
            }
            Ok(Chunk { buffers: vec![csv_bytes(rows)?, csv_bytes(duplicates)?], rows: people.len() as u64 })
        },
    )?;

    phase(
        "events",
        &[
            ("events.ndjson", ""),
            ("orders.csv", behaviour::ORDERS_HEADER),
            ("order_items.csv", behaviour::ITEMS_HEADER),
        ],
        people_chunks,
        world.events,
        &|chunk| behaviour::chunk(world, chunk),
    )?;
    Ok(sizes)
}

fn people_of_chunk(world: &World, chunk: u64) -> Vec<Person> {
    let blocks_per_chunk = behaviour::PEOPLE_PER_CHUNK / people::BLOCK;
    let last_block = world.people.div_ceil(people::BLOCK);
    (chunk * blocks_per_chunk..((chunk + 1) * blocks_per_chunk).min(last_block))
        .flat_map(|block| people::block(world, block))
        .collect()
}

/// Writes `rows` contacts with unique e-mail addresses in eight columns (see
/// [`people::CONTACTS_HEADER`]) to `path`: the file of the raw-database import baseline.
pub fn write_contacts(path: &Path, rows: u64, seed: u64) -> io::Result<()> {
    let end = NaiveDate::parse_from_str(DEFAULT_END, "%Y-%m-%d").unwrap_or_default();
    let world = World::new(seed, rows, (rows / 50).max(1), 0, 0, end);
    let mut outputs = [Output::create(path, people::CONTACTS_HEADER)?];
    let bar = progress("contacts", rows);
    write_in_order(&mut outputs, rows.div_ceil(behaviour::PEOPLE_PER_CHUNK), &bar, |chunk| {
        let mut out = csv_buffer();
        let people = people_of_chunk(&world, chunk);
        for person in &people {
            person.write_contact_csv(&mut out)?;
        }
        Ok(Chunk { buffers: vec![csv_bytes(out)?], rows: people.len() as u64 })
    })?;
    bar.finish_and_clear();
    let [output] = outputs;
    output.finish()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use chrono::NaiveDate;

    use super::{World, check, generate};

    const FILES: [&str; 7] = [
        "companies.csv",
        "products.csv",
        "people.csv",
        "duplicates.csv",
        "events.ndjson",
        "orders.csv",
        "order_items.csv",
    ];

    fn world(seed: u64, people: u64, events: u64) -> World {
        World::new(seed, people, people / 20, 150, events, NaiveDate::from_ymd_opt(2026, 12, 1).unwrap())
    }

    /// What the sanity check finds in freshly generated files, which must pass it.
    fn generated_and_checked(world: &World) -> check::Findings {
        let dir = tempfile::tempdir().unwrap();
        generate(world, dir.path()).unwrap();
        let found = check::verify(dir.path(), world).unwrap();
        assert!(found.failures.is_empty(), "{:?}", found.failures);
        found
    }

    fn read(dir: &Path) -> Vec<Vec<u8>> {
        FILES.iter().map(|f| std::fs::read(dir.join(f)).unwrap()).collect()
    }

    #[test]
    fn the_same_seed_gives_the_same_bytes_and_another_seed_other_bytes() {
        let (a, b, c) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        generate(&world(42, 2_500, 20_000), a.path()).unwrap();
        generate(&world(42, 2_500, 20_000), b.path()).unwrap();
        generate(&world(43, 2_500, 20_000), c.path()).unwrap();
        let (a, b, c) = (read(a.path()), read(b.path()), read(c.path()));
        assert!(a == b, "same seed, same files");
        for (file, (x, y)) in FILES.iter().zip(a.iter().zip(&c)) {
            assert_ne!(x, y, "{file} differs with another seed");
        }
    }

    #[test]
    fn a_small_shop_passes_the_sanity_check_with_a_shops_shape() {
        let found = generated_and_checked(&world(7, 5_000, 60_000));
        assert_eq!(found.rows["people.csv"], 5_000);
        assert_eq!(found.rows["events.ndjson"], 60_000);
        let duplicates = found.rows["duplicates.csv"];
        assert!((50..=150).contains(&duplicates), "{duplicates} duplicates");
        let funnel = &found.funnel;
        assert!(funnel.viewed > 3 * funnel.added && funnel.ordered > 0, "{funnel:?}");
        let buyers = &found.buyers;
        assert!(buyers.buyers > 300 && buyers.buyers < 2_500, "{buyers:?}");
        assert!(buyers.one_time * 3 > buyers.buyers, "a long tail of one-time buyers: {buyers:?}");
    }

    #[test]
    fn an_order_line_lost_from_the_files_fails_the_sanity_check() {
        let dir = tempfile::tempdir().unwrap();
        let world = world(5, 1_000, 20_000);
        generate(&world, dir.path()).unwrap();
        let items = dir.path().join("order_items.csv");
        let text = std::fs::read_to_string(&items).unwrap();
        let kept: Vec<&str> = text.lines().take(text.lines().count() - 1).collect();
        std::fs::write(&items, kept.join("\n") + "\n").unwrap();
        let found = check::verify(dir.path(), &world).unwrap();
        assert!(found.failures.iter().any(|f| f.contains("order")), "{:?}", found.failures);
    }

    #[test]
    fn an_empty_shop_is_still_consistent() {
        let found = generated_and_checked(&world(1, 3, 0));
        assert_eq!(found.rows["orders.csv"], 0);
    }

    #[test]
    fn contacts_for_the_import_baseline_have_unique_emails() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("contacts.csv");
        super::write_contacts(&path, 2_345, 42).unwrap();
        let mut reader = csv::Reader::from_path(&path).unwrap();
        assert_eq!(reader.headers().unwrap().len(), 8);
        let emails: Vec<String> = reader.records().map(|r| r.unwrap()[2].to_owned()).collect();
        assert_eq!(emails.len(), 2_345);
        assert!(emails.iter().all(|e| e.contains('@')), "everyone has an address");
        let unique: std::collections::HashSet<&String> = emails.iter().collect();
        assert_eq!(unique.len(), emails.len());
    }
}
