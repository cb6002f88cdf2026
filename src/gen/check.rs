//! The sanity check `rapport gen` prints at the end: it reads the files back (rather than
//! trusting the generator's own counters) and checks counts, headers, uniqueness, referential
//! integrity between the files, order arithmetic, and that the funnel, skew and seasonality look
//! like a shop's. Memory stays bounded by the number of people, never by the number of events:
//! orders, their lines and events are all grouped by person in the same order, so they are
//! compared by streaming.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashSet};
use std::fs::File;
use std::hash::{BuildHasher, RandomState};
use std::io::{BufRead, BufReader};
use std::path::Path;

use anyhow::Context as _;
use chrono::{DateTime, Datelike, Timelike};
use serde::Deserialize;

use super::behaviour::{ITEMS_HEADER, ORDERS_HEADER, timestamp};
use super::rng::mix;
use super::{World, companies, people, products};

/// Below these sizes, ratios are too noisy to judge and only structure is checked.
const EVENTS_FOR_RATIOS: u64 = 20_000;
const ORDERS_FOR_SKEW: u64 = 500;

/// What the check found: lines to print and the failures among them.
#[derive(Default)]
pub struct Findings {
    pub lines: Vec<(&'static str, String)>,
    pub failures: Vec<String>,
    pub rows: BTreeMap<&'static str, u64>,
    pub funnel: Funnel,
    pub buyers: Buyers,
}

#[derive(Default, Debug)]
pub struct Funnel {
    pub viewed: u64,
    pub added: u64,
    pub checkout: u64,
    pub ordered: u64,
}

#[derive(Clone, Default, Debug)]
pub struct Buyers {
    pub buyers: u64,
    pub one_time: u64,
    /// Share of orders placed by the top 1% of buyers.
    pub top_percent_share: f64,
}

impl Findings {
    fn fail(&mut self, failure: impl Into<String>) {
        self.failures.push(failure.into());
    }

    fn expect(&mut self, ok: bool, failure: impl FnOnce() -> String) {
        if !ok {
            self.failures.push(failure());
        }
    }
}

/// Hashes strings for membership sets that must not grow with their length.
struct Keys {
    state: RandomState,
    seen: HashSet<u64>,
}

impl Keys {
    fn new() -> Self {
        Self { state: RandomState::new(), seen: HashSet::new() }
    }

    fn insert(&mut self, key: &str) -> bool {
        self.seen.insert(self.state.hash_one(key))
    }

    fn contains(&self, key: &str) -> bool {
        self.seen.contains(&self.state.hash_one(key))
    }
}

pub fn verify(dir: &Path, world: &World) -> anyhow::Result<Findings> {
    let mut found = Findings::default();
    let skus = check_products(dir, world, &mut found)?;
    let company_names = check_companies(dir, world, &mut found)?;
    let customers = check_people(dir, world, &company_names, &mut found)?;
    check_duplicates(dir, world, &mut found)?;
    let window = (timestamp(world.calendar.start_millis), timestamp(world.calendar.end_millis));
    let (orders, events) = std::thread::scope(|scope| {
        let orders = scope.spawn(|| check_orders(dir, world, &skus, &window));
        let events = scope.spawn(|| check_events(dir, &customers, &skus, &window));
        (orders.join(), events.join())
    });
    let orders = orders.map_err(|_| anyhow::anyhow!("the order check panicked"))??;
    let events = events.map_err(|_| anyhow::anyhow!("the event check panicked"))??;
    found.failures.extend(orders.failures.iter().cloned());
    found.failures.extend(events.failures.iter().cloned());
    found.rows.insert("orders.csv", orders.orders);
    found.rows.insert("order_items.csv", orders.items);
    found.rows.insert("events.ndjson", events.total);
    compare_orders_and_events(world, &orders, &events, &mut found);
    Ok(found)
}

fn reader(dir: &Path, name: &str, header: &str, found: &mut Findings) -> anyhow::Result<csv::Reader<File>> {
    let path = dir.join(name);
    let file = File::open(&path).with_context(|| format!("opening {}", path.display()))?;
    let mut reader = csv::Reader::from_reader(file);
    let expected: Vec<&str> = header.trim_end().split(',').collect();
    let actual: Vec<String> = reader.headers()?.iter().map(str::to_owned).collect();
    found.expect(actual == expected, || format!("{name}: header is {actual:?}, expected {expected:?}"));
    Ok(reader)
}

fn check_products(dir: &Path, world: &World, found: &mut Findings) -> anyhow::Result<HashSet<String>> {
    let mut skus = HashSet::new();
    let mut running_shoes = 0;
    for record in reader(dir, "products.csv", products::HEADER, found)?.records() {
        let record = record?;
        found.expect(skus.insert(record[0].to_owned()), || format!("products.csv: SKU {} twice", &record[0]));
        running_shoes += u64::from(&record[2] == "running_shoes");
        let price: u64 = record[3].parse().unwrap_or(0);
        found.expect(price > 0, || format!("products.csv: {} has price {:?}", &record[0], &record[3]));
    }
    let count = skus.len() as u64;
    found.expect(count == world.catalogue.products.len() as u64, || format!("products.csv has {count} products"));
    found.expect(count < 20 || running_shoes > 0, || "products.csv: no running shoes".into());
    found.rows.insert("products.csv", count);
    found.lines.push(("products", format!("{count} ({running_shoes} running shoes)")));
    Ok(skus)
}

fn check_companies(dir: &Path, world: &World, found: &mut Findings) -> anyhow::Result<HashSet<String>> {
    let (mut names, mut domains, mut count) = (HashSet::new(), HashSet::new(), 0u64);
    for record in reader(dir, "companies.csv", companies::HEADER, found)?.records() {
        let record = record?;
        count += 1;
        found.expect(record[0].parse() == Ok(count), || format!("companies.csv: id {} out of sequence", &record[0]));
        found.expect(domains.insert(record[2].to_owned()), || format!("companies.csv: domain {} twice", &record[2]));
        names.insert(record[1].to_owned());
    }
    found.expect(count == world.companies, || format!("companies.csv has {count} companies"));
    found.rows.insert("companies.csv", count);
    found.lines.push(("companies", format!("{count} ({} distinct names)", names.len())));
    Ok(names)
}

/// Checks people.csv and returns the external ids events may use as `userId`.
fn check_people(dir: &Path, world: &World, companies: &HashSet<String>, found: &mut Findings) -> anyhow::Result<Keys> {
    let (mut emails, mut customers) = (Keys::new(), Keys::new());
    let mut countries: BTreeMap<String, u64> = BTreeMap::new();
    let (mut count, mut texans, mut with_email, mut with_phone, mut non_latin) = (0u64, 0u64, 0u64, 0u64, 0u64);
    for record in reader(dir, "people.csv", people::HEADER, found)?.records() {
        let record = record?;
        count += 1;
        found.expect(record[0].parse() == Ok(count), || format!("people.csv: id {} out of sequence", &record[0]));
        let email = &record[3];
        if !email.is_empty() {
            with_email += 1;
            found.expect(email.contains('@'), || format!("people.csv: person {count} has e-mail {email:?}"));
            found.expect(emails.insert(email), || format!("people.csv: e-mail {email} twice"));
        }
        let phone = &record[4];
        if !phone.is_empty() {
            with_phone += 1;
            let e164 = phone.len() <= 16 && phone.starts_with('+') && phone[1..].bytes().all(|b| b.is_ascii_digit());
            found.expect(e164, || format!("people.csv: phone {phone:?} is not E.164"));
        }
        let company = &record[11];
        found.expect(company.is_empty() || companies.contains(company), || {
            format!("people.csv: person {count} works for unknown company {company:?}")
        });
        if !record[15].is_empty() {
            found.expect(customers.insert(&record[15]), || format!("people.csv: external id {} twice", &record[15]));
        }
        texans += u64::from(&record[8] == "TX");
        non_latin += u64::from(!record[1].chars().all(is_latin));
        *countries.entry(record[10].to_owned()).or_default() += 1;
    }
    found.expect(count == world.people, || format!("people.csv has {count} people, expected {}", world.people));
    found.rows.insert("people.csv", count);
    let spread: Vec<String> = countries.iter().map(|(c, n)| format!("{c} {:.0}%", percent(*n, count))).collect();
    found.lines.push((
        "people",
        format!(
            "{count}: {}; {texans} in TX; {non_latin} in non-Latin script; {:.0}% with e-mail, {:.0}% with phone",
            spread.join(", "),
            percent(with_email, count),
            percent(with_phone, count)
        ),
    ));
    Ok(customers)
}

fn check_duplicates(dir: &Path, world: &World, found: &mut Findings) -> anyhow::Result<()> {
    let (mut count, mut copies, mut kinds) = (0u64, HashSet::new(), BTreeMap::<String, u64>::new());
    for record in reader(dir, "duplicates.csv", people::DUPLICATES_HEADER, found)?.records() {
        let record = record?;
        count += 1;
        let (copy, original): (u64, u64) = (record[0].parse().unwrap_or(0), record[1].parse().unwrap_or(0));
        let known = |id: u64| (1..=world.people).contains(&id);
        found.expect(known(copy) && known(original) && copy != original, || {
            format!("duplicates.csv: {copy} → {original} does not name two people")
        });
        found.expect(copies.insert(copy), || format!("duplicates.csv: {copy} twice"));
        for kind in record[2].split(';') {
            *kinds.entry(kind.to_owned()).or_default() += 1;
        }
    }
    found.rows.insert("duplicates.csv", count);
    let kinds: Vec<String> = kinds.iter().map(|(k, n)| format!("{k} {n}")).collect();
    found.lines.push((
        "duplicates",
        format!("{count} planted ({:.1}% of people): {}", percent(count, world.people), kinds.join(", ")),
    ));
    Ok(())
}

#[derive(Default)]
struct Orders {
    orders: u64,
    items: u64,
    digest: u64,
    buyers: Buyers,
    failures: Vec<String>,
}

/// Streams orders.csv and order_items.csv side by side: both are in the same order.
fn check_orders(
    dir: &Path,
    world: &World,
    skus: &HashSet<String>,
    window: &(String, String),
) -> anyhow::Result<Orders> {
    let mut found = Findings::default();
    let mut items = reader(dir, "order_items.csv", ITEMS_HEADER, &mut found)?.into_records().peekable();
    let mut out = Orders::default();
    let mut per_buyer: Vec<u32> = Vec::new();
    let mut last_person = 0u64;
    for record in reader(dir, "orders.csv", ORDERS_HEADER, &mut found)?.into_records() {
        let record = record?;
        out.orders += 1;
        let id = &record[0];
        let person: u64 = record[1].parse().unwrap_or(0);
        found.expect((1..=world.people).contains(&person), || format!("orders.csv: {id} names person {person}"));
        found.expect(&record[2] >= window.0.as_str() && &record[2] < window.1.as_str(), || {
            format!("orders.csv: {id} placed at {}", &record[2])
        });
        let amount = |column: usize| record[column].parse::<u64>().unwrap_or(u64::MAX / 4);
        let (subtotal, discount, tax, shipping, total) = (amount(4), amount(5), amount(6), amount(7), amount(8));
        found.expect(subtotal.checked_sub(discount).map(|net| net + tax + shipping) == Some(total), || {
            format!("orders.csv: {id} does not add up")
        });
        out.digest = mix(out.digest ^ fnv(id.as_bytes()) ^ total);
        let mut lines_total = 0;
        let mut lines = 0;
        while let Some(Ok(item)) = items.next_if(|item| item.as_ref().is_ok_and(|item| &item[0] == id)) {
            lines += 1;
            let (quantity, unit, line_total) = (
                item[3].parse::<u64>().unwrap_or(0),
                item[4].parse::<u64>().unwrap_or(0),
                item[5].parse::<u64>().unwrap_or(0),
            );
            found.expect(quantity > 0 && quantity * unit == line_total, || {
                format!("order_items.csv: {id} line {}", &item[1])
            });
            found.expect(skus.contains(&item[2]), || format!("order_items.csv: {id} sells unknown SKU {}", &item[2]));
            lines_total += line_total;
        }
        out.items += lines;
        found.expect(lines > 0, || format!("orders.csv: {id} has no lines"));
        found.expect(lines_total == subtotal, || format!("orders.csv: {id} subtotal differs from its lines"));
        if person != last_person {
            per_buyer.push(0);
            last_person = person;
        }
        if let Some(count) = per_buyer.last_mut() {
            *count += 1;
        }
    }
    if let Some(item) = items.next() {
        let item = item?;
        found.fail(format!("order_items.csv: a line of {} follows no order in sequence", &item[0]));
    }
    per_buyer.sort_unstable_by(|a, b| b.cmp(a));
    let top = per_buyer.len().div_ceil(100);
    let top_orders: u64 = per_buyer[..top].iter().map(|&n| u64::from(n)).sum();
    out.buyers = Buyers {
        buyers: per_buyer.len() as u64,
        one_time: per_buyer.iter().filter(|&&n| n == 1).count() as u64,
        top_percent_share: percent(top_orders, out.orders) / 100.0,
    };
    out.failures = found.failures;
    Ok(out)
}

#[derive(Deserialize)]
struct Line<'a> {
    #[serde(rename = "messageId", borrow)]
    message_id: Cow<'a, str>,
    #[serde(rename = "type", borrow)]
    kind: Cow<'a, str>,
    #[serde(borrow)]
    event: Option<Cow<'a, str>>,
    #[serde(rename = "userId", borrow)]
    user_id: Option<Cow<'a, str>>,
    #[serde(rename = "anonymousId", borrow)]
    anonymous_id: Cow<'a, str>,
    #[serde(borrow)]
    timestamp: Cow<'a, str>,
    #[serde(borrow)]
    properties: Option<LineProperties<'a>>,
}

#[derive(Deserialize)]
struct LineProperties<'a> {
    #[serde(borrow)]
    sku: Option<Cow<'a, str>>,
    #[serde(borrow)]
    order_id: Option<Cow<'a, str>>,
    total: Option<f64>,
    #[serde(borrow, default)]
    products: Vec<LineProduct<'a>>,
}

#[derive(Deserialize)]
struct LineProduct<'a> {
    #[serde(borrow)]
    sku: Cow<'a, str>,
}

#[derive(Default)]
struct Events {
    total: u64,
    by_name: BTreeMap<String, u64>,
    orders: u64,
    digest: u64,
    weekdays: [u64; 7],
    hours: [u64; 24],
    failures: Vec<String>,
}

fn check_events(
    dir: &Path,
    customers: &Keys,
    skus: &HashSet<String>,
    window: &(String, String),
) -> anyhow::Result<Events> {
    let path = dir.join("events.ndjson");
    let mut input =
        BufReader::with_capacity(1 << 20, File::open(&path).with_context(|| format!("opening {}", path.display()))?);
    let mut out = Events::default();
    let mut failures = Findings::default();
    // Anonymous ids seen before their identify call; each must be identified later.
    let mut pending: HashSet<String> = HashSet::new();
    let mut buffer = Vec::new();
    loop {
        buffer.clear();
        if input.read_until(b'\n', &mut buffer)? == 0 {
            break;
        }
        out.total += 1;
        let line: Line<'_> = match serde_json::from_slice(&buffer) {
            Ok(line) => line,
            Err(err) => {
                failures.fail(format!("events.ndjson line {}: {err}", out.total));
                continue;
            }
        };
        let number = out.total;
        let name = line.event.as_deref().unwrap_or(&line.kind);
        *out.by_name.entry(name.to_owned()).or_default() += 1;
        failures.expect(line.message_id.len() == 36, || format!("events.ndjson line {number}: bad messageId"));
        match (&line.user_id, line.kind.as_ref()) {
            (Some(user), kind) => {
                failures
                    .expect(customers.contains(user), || format!("events.ndjson line {number}: unknown userId {user}"));
                if kind == "identify" {
                    pending.remove(line.anonymous_id.as_ref());
                }
            }
            (None, "identify") => failures.fail(format!("events.ndjson line {number}: identify without userId")),
            (None, _) => {
                pending.insert(line.anonymous_id.clone().into_owned());
            }
        }
        let at = line.timestamp.as_ref();
        failures.expect(at >= window.0.as_str() && at < window.1.as_str(), || {
            format!("events.ndjson line {number}: timestamp {at}")
        });
        if let Ok(at) = DateTime::parse_from_rfc3339(at) {
            out.weekdays[at.weekday().num_days_from_monday() as usize] += 1;
            out.hours[at.hour() as usize] += 1;
        }
        if let Some(properties) = &line.properties {
            let skus_named = properties.sku.iter().chain(properties.products.iter().map(|p| &p.sku));
            for sku in skus_named {
                failures
                    .expect(skus.contains(sku.as_ref()), || format!("events.ndjson line {number}: unknown SKU {sku}"));
            }
            if name == "Order Completed" {
                out.orders += 1;
                let total = (properties.total.unwrap_or(-1.0) * 100.0).round() as u64;
                let order_id = properties.order_id.as_deref().unwrap_or("");
                out.digest = mix(out.digest ^ fnv(order_id.as_bytes()) ^ total);
            }
        }
    }
    if !pending.is_empty() {
        failures.fail(format!("events.ndjson: {} anonymous visitors were never identified", pending.len()));
    }
    out.failures = failures.failures;
    Ok(out)
}

fn compare_orders_and_events(world: &World, orders: &Orders, events: &Events, found: &mut Findings) {
    found.expect(events.total == world.events, || {
        format!("events.ndjson has {} events, expected {}", events.total, world.events)
    });
    found.expect(events.orders == orders.orders, || {
        format!("{} Order Completed events but {} rows in orders.csv", events.orders, orders.orders)
    });
    found.expect(events.digest == orders.digest, || {
        "Order Completed events and orders.csv disagree on order ids or totals".into()
    });
    let count = |name: &str| events.by_name.get(name).copied().unwrap_or(0);
    let funnel = Funnel {
        viewed: count("Product Viewed"),
        added: count("Product Added"),
        checkout: count("Checkout Started"),
        ordered: count("Order Completed"),
    };
    found.expect(
        funnel.viewed >= funnel.added && funnel.added >= funnel.checkout && funnel.checkout >= funnel.ordered,
        || format!("the funnel widens: {funnel:?}"),
    );
    let ratio = |a: u64, b: u64| if b == 0 { 0.0 } else { a as f64 / b as f64 };
    let steps = [
        ("viewed → added", ratio(funnel.added, funnel.viewed), 0.05, 0.6),
        ("added → checkout", ratio(funnel.checkout, funnel.added), 0.1, 0.9),
        ("checkout → order", ratio(funnel.ordered, funnel.checkout), 0.2, 0.95),
    ];
    if events.total >= EVENTS_FOR_RATIOS {
        for (step, value, low, high) in steps {
            found.expect((low..=high).contains(&value), || format!("funnel {step} is {:.1}%", value * 100.0));
        }
    }
    found.lines.push((
        "funnel",
        format!(
            "Product Viewed {} → Product Added {} ({:.1}%) → Checkout Started {} ({:.1}%) → Order Completed {} ({:.1}%)",
            funnel.viewed,
            funnel.added,
            steps[0].1 * 100.0,
            funnel.checkout,
            steps[1].1 * 100.0,
            funnel.ordered,
            steps[2].1 * 100.0
        ),
    ));
    let names: Vec<String> = events.by_name.iter().map(|(n, c)| format!("{n} {c}")).collect();
    found.lines.push(("events", names.join(", ")));

    let buyers = &orders.buyers;
    let never = world.people - buyers.buyers;
    if orders.orders >= ORDERS_FOR_SKEW {
        found.expect(percent(buyers.one_time, buyers.buyers) >= 30.0, || "too few one-time buyers".into());
        found.expect(buyers.top_percent_share >= 0.03, || "the top 1% of buyers are not heavy".into());
        found.expect(percent(never, world.people) >= 20.0, || "too few people never buy".into());
    }
    found.lines.push((
        "buyers",
        format!(
            "{} orders ({} lines) by {} buyers; {:.0}% of people never buy; {:.0}% of buyers buy once; the top 1% place {:.1}% of orders",
            orders.orders,
            orders.items,
            buyers.buyers,
            percent(never, world.people),
            percent(buyers.one_time, buyers.buyers),
            buyers.top_percent_share * 100.0
        ),
    ));

    let (busiest, quietest) =
        (events.hours.iter().max().copied().unwrap_or(0), events.hours.iter().min().copied().unwrap_or(0));
    let weekend = (events.weekdays[5] + events.weekdays[6]) as f64 / 2.0;
    let weekday = events.weekdays[..5].iter().sum::<u64>() as f64 / 5.0;
    if events.total >= EVENTS_FOR_RATIOS {
        found.expect(weekend > weekday, || "weekends are not busier than weekdays".into());
        found.expect(busiest as f64 > 1.5 * quietest as f64, || "the hours of the day look uniform".into());
    }
    found.lines.push((
        "seasonality",
        format!(
            "weekend days {:.0}% busier than weekdays; busiest UTC hour {:.1}× the quietest",
            (ratio(weekend as u64, weekday as u64) - 1.0) * 100.0,
            ratio(busiest, quietest)
        ),
    ));
    found.funnel = funnel;
    found.buyers = buyers.clone();
}

/// Letters of the Latin blocks (up to Latin Extended-B) and ASCII punctuation.
fn is_latin(c: char) -> bool {
    c.is_ascii() || c.is_alphabetic() && u32::from(c) < 0x0250
}

fn percent(part: u64, whole: u64) -> f64 {
    if whole == 0 { 0.0 } else { part as f64 * 100.0 / whole as f64 }
}

/// FNV-1a: a stable hash, so the two sides of a comparison agree.
fn fnv(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, &b| (hash ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3))
}

/// Prints what the check found.
pub fn print(findings: &Findings) {
    for (label, line) in &findings.lines {
        println!("{label:>12}  {line}");
    }
}
