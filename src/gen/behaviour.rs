//! What people do on the shop, as Segment-spec events, and the orders that result.
//!
//! The `--events` total is shared out exactly: first evenly over chunks of people, then within
//! a chunk by each person's appetite (zero for dormant people and planted duplicates, a
//! heavy-tailed draw for the rest, large for the few heavy buyers). A person spends their share
//! in sessions drawn from the seasonal calendar inside their own active period; a session walks
//! the e-commerce funnel (page, list or search, product views, adds, cart, checkout, order) and
//! stops early as real visitors do. The first visit is anonymous until an `identify` call.
//! Every `Order Completed` event writes the same order to `orders.csv` and its lines to
//! `order_items.csv`, so the files agree by construction.

use std::io;

use chrono::{DateTime, SecondsFormat};
use serde::Serialize;

use super::World;
use super::people::{self, Habit, Person};
use super::pipeline::{Chunk, csv_buffer, csv_bytes};
use super::products::{CURRENCY, Product};
use super::rng::{Rng, Stream};
use super::words::CATEGORIES;

pub const ORDERS_HEADER: &str = "id,person_id,placed_at,currency,subtotal,discount,tax,shipping,total,coupon\n";
pub const ITEMS_HEADER: &str = "order_id,line,sku,quantity,unit_price,total\n";

/// People per chunk: a whole number of duplicate blocks.
pub const PEOPLE_PER_CHUNK: u64 = people::BLOCK * 10;

const COUPONS: [(&str, u64); 4] = [("WELCOME10", 10), ("SPRING10", 10), ("RUN15", 15), ("BF25", 25)];
const PAGES: [(&str, &str); 5] =
    [("Home", "/"), ("Sale", "/sale"), ("Running", "/c/running"), ("New Arrivals", "/new"), ("Stores", "/stores")];
const SITE: &str = "https://shop.example";

/// How each habit walks the funnel: chance of another view, of adding a viewed product, of
/// starting checkout with a full cart, of completing the order, and the mean active period.
struct Funnel {
    more_views: f64,
    add: f64,
    checkout: f64,
    order: f64,
    active_days: f64,
    appetite: f64,
}

fn funnel(habit: Habit) -> Funnel {
    match habit {
        Habit::Dormant | Habit::Browser => {
            Funnel { more_views: 0.55, add: 0.12, checkout: 0.35, order: 0.0, active_days: 60.0, appetite: 1.0 }
        }
        Habit::OneTime => {
            Funnel { more_views: 0.6, add: 0.22, checkout: 0.6, order: 0.8, active_days: 90.0, appetite: 1.5 }
        }
        Habit::Repeat => {
            Funnel { more_views: 0.6, add: 0.35, checkout: 0.65, order: 0.75, active_days: 300.0, appetite: 3.0 }
        }
        Habit::Heavy => {
            Funnel { more_views: 0.65, add: 0.45, checkout: 0.75, order: 0.85, active_days: 500.0, appetite: 12.0 }
        }
    }
}

/// Events for the chunk's people: `[events, orders, order items]`.
pub fn chunk(world: &World, index: u64) -> io::Result<Chunk> {
    let first_block = index * (PEOPLE_PER_CHUNK / people::BLOCK);
    let last_block = (first_block + PEOPLE_PER_CHUNK / people::BLOCK).min(world.people.div_ceil(people::BLOCK));
    let people: Vec<Person> = (first_block..last_block).flat_map(|b| people::block(world, b)).collect();
    let budgets = budgets(world, index, &people);
    let mut out = Writer {
        events: Vec::with_capacity(budgets.iter().sum::<u64>() as usize * 380),
        count: 0,
        orders: csv_buffer(),
        items: csv_buffer(),
    };
    for (person, budget) in people.iter().zip(budgets) {
        if budget > 0 {
            Visitor::new(world, person, budget).visit(&mut out)?;
        }
    }
    Ok(Chunk { rows: out.count, buffers: vec![out.events, csv_bytes(out.orders)?, csv_bytes(out.items)?] })
}

/// The chunk's share of all events (proportional to its people), split by appetite.
fn budgets(world: &World, index: u64, people: &[Person]) -> Vec<u64> {
    let share =
        |people_before: u64| (u128::from(world.events) * u128::from(people_before) / u128::from(world.people)) as u64;
    let first = index * PEOPLE_PER_CHUNK;
    let total = share(first + people.len() as u64) - share(first);
    let mut rng = Rng::new(world.seed, Stream::ChunkBudget, index);
    let mut appetites: Vec<f64> = people
        .iter()
        .map(|p| match p.habit {
            Habit::Dormant => 0.0,
            habit => (funnel(habit).appetite * rng.pareto(2.2)).min(400.0),
        })
        .collect();
    if appetites.iter().all(|&a| a == 0.0) {
        appetites.fill(1.0);
    }
    let sum: f64 = appetites.iter().sum();
    let mut running = 0.0;
    let mut given = 0;
    let last = appetites.len().saturating_sub(1);
    appetites
        .iter()
        .enumerate()
        .map(|(i, appetite)| {
            running += appetite;
            let until = if i == last { total } else { ((total as f64) * running / sum).floor() as u64 };
            let budget = until.saturating_sub(given);
            given += budget;
            budget
        })
        .collect()
}

struct Writer {
    events: Vec<u8>,
    count: u64,
    orders: csv::Writer<Vec<u8>>,
    items: csv::Writer<Vec<u8>>,
}

struct Visitor<'w> {
    world: &'w World,
    person: &'w Person,
    rng: Rng,
    budget: u64,
    identified: bool,
    orders: u32,
    now: i64,
}

struct Line<'w> {
    product: &'w Product,
    quantity: u64,
}

impl<'w> Visitor<'w> {
    fn new(world: &'w World, person: &'w Person, budget: u64) -> Self {
        let rng = Rng::new(world.seed, Stream::Behaviour, person.id);
        Self { world, person, rng, budget, identified: false, orders: 0, now: 0 }
    }

    fn visit(mut self, out: &mut Writer) -> io::Result<()> {
        let world = self.world;
        let calendar = &world.calendar;
        let last_day = super::calendar::DAYS - 1;
        let funnel = funnel(self.person.habit);
        let first = calendar.day(&mut self.rng, 0, last_day);
        let until = (first + self.rng.exponential(funnel.active_days) as u32).min(last_day);
        let favourite = world.catalogue.category(&mut self.rng);
        let mut session = 0u32;
        while self.budget > 0 {
            // Enough session times for the rest of the budget, in time order.
            let mut starts: Vec<i64> = (0..self.budget / 4 + 1)
                .map(|_| {
                    let day = calendar.day(&mut self.rng, first, until);
                    calendar.instant(&mut self.rng, day, self.person.country.utc_offset_hours)
                })
                .collect();
            starts.sort_unstable();
            for start in starts {
                if self.budget == 0 {
                    break;
                }
                self.now = self.now.max(start);
                session += 1;
                self.session(out, &funnel, favourite, session)?;
            }
        }
        Ok(())
    }

    fn session(&mut self, out: &mut Writer, funnel: &Funnel, favourite: usize, session: u32) -> io::Result<()> {
        let (title, path) = self.rng.pick(&PAGES);
        let url = format!("{SITE}{path}");
        let referrer = ["https://www.google.com/", "https://www.instagram.com/", ""][self.rng.below(3) as usize];
        let page = Properties::Page { path, url: &url, title, referrer: Some(referrer).filter(|r| !r.is_empty()) };
        // A first visit keeps one event of its budget for the identify call, so that no
        // anonymous visitor is left unlinked.
        let anonymous = !self.identified;
        if !anonymous || self.budget > 1 {
            self.emit(out, Kind::Page(title), Some(page))?;
        }
        if anonymous {
            for _ in 0..self.rng.count(0, 0.4, 3) {
                if self.budget <= 1 {
                    break;
                }
                let product = self.world.catalogue.pick(&mut self.rng, Some(favourite));
                self.emit(out, Kind::Track("Product Viewed"), Some(Properties::product(product, None, None)))?;
            }
            self.identified = true;
            self.emit(out, Kind::Identify, None)?;
        }
        match self.rng.below(4) {
            0 | 1 => {
                let code = CATEGORIES[self.world.catalogue.category(&mut self.rng)].code;
                self.emit(
                    out,
                    Kind::Track("Product List Viewed"),
                    Some(Properties::List { list_id: code, category: code }),
                )?;
            }
            2 => {
                let query = self.rng.pick(self.person.country.searches);
                self.emit(out, Kind::Track("Products Searched"), Some(Properties::Search { query }))?;
            }
            _ => {}
        }
        let cart_id = format!("cart_{}_{session}", self.person.id);
        let mut cart: Vec<Line<'w>> = Vec::new();
        for _ in 0..self.rng.count(1, funnel.more_views, 15) {
            let within = self.rng.chance(0.65).then_some(favourite);
            let product = self.world.catalogue.pick(&mut self.rng, within);
            self.emit(out, Kind::Track("Product Viewed"), Some(Properties::product(product, None, None)))?;
            if self.rng.chance(funnel.add) {
                let quantity = if product.price_cents < 4_000 { self.rng.count(1, 0.3, 4) } else { 1 };
                let added = Properties::product(product, Some(&cart_id), Some(u64::from(quantity)));
                self.emit(out, Kind::Track("Product Added"), Some(added))?;
                cart.push(Line { product, quantity: u64::from(quantity) });
            }
        }
        if cart.is_empty() {
            return Ok(());
        }
        if self.rng.chance(0.75) {
            let products = cart.iter().map(ProductLine::from).collect();
            self.emit(out, Kind::Track("Cart Viewed"), Some(Properties::Cart { cart_id: &cart_id, products }))?;
        }
        if !self.rng.chance(funnel.checkout) {
            return Ok(());
        }
        let order_id = format!("ord_{}_{}", self.person.id, self.orders + 1);
        let checkout_id = format!("chk_{}_{session}", self.person.id);
        let totals = Totals::of(&mut self.rng, &cart, self.person.country.tax_basis_points);
        let started = Properties::Checkout {
            checkout_id: &checkout_id,
            order_id: &order_id,
            value: dollars(totals.subtotal),
            revenue: dollars(totals.subtotal - totals.discount),
            currency: CURRENCY,
            products: cart.iter().map(ProductLine::from).collect(),
        };
        self.emit(out, Kind::Track("Checkout Started"), Some(started))?;
        let may_order = self.person.habit != Habit::OneTime || self.orders == 0;
        if !(may_order && self.rng.chance(funnel.order)) || self.budget == 0 {
            return Ok(());
        }
        let completed = Properties::Order {
            checkout_id: &checkout_id,
            order_id: &order_id,
            total: dollars(totals.total),
            subtotal: dollars(totals.subtotal),
            revenue: dollars(totals.subtotal - totals.discount),
            shipping: dollars(totals.shipping),
            tax: dollars(totals.tax),
            discount: dollars(totals.discount),
            coupon: totals.coupon,
            currency: CURRENCY,
            products: cart.iter().map(ProductLine::from).collect(),
        };
        self.emit(out, Kind::Track("Order Completed"), Some(completed))?;
        self.orders += 1;
        self.write_order(out, &order_id, &cart, &totals)
    }

    fn write_order(&self, out: &mut Writer, order_id: &str, cart: &[Line<'_>], totals: &Totals) -> io::Result<()> {
        out.orders.write_record([
            order_id,
            &self.person.id.to_string(),
            &timestamp(self.now),
            CURRENCY,
            &totals.subtotal.to_string(),
            &totals.discount.to_string(),
            &totals.tax.to_string(),
            &totals.shipping.to_string(),
            &totals.total.to_string(),
            totals.coupon.unwrap_or(""),
        ])?;
        for (number, line) in cart.iter().enumerate() {
            out.items.write_record([
                order_id,
                &(number + 1).to_string(),
                &line.product.sku,
                &line.quantity.to_string(),
                &line.product.price_cents.to_string(),
                &(line.product.price_cents * line.quantity).to_string(),
            ])?;
        }
        Ok(())
    }

    /// Writes one event if the budget allows, a few seconds after the previous one.
    fn emit(&mut self, out: &mut Writer, kind: Kind, properties: Option<Properties<'_>>) -> io::Result<()> {
        if self.budget == 0 {
            return Ok(());
        }
        self.budget -= 1;
        self.now = (self.now + self.rng.between(2_000, 90_000) as i64).min(self.world.calendar.end_millis - 1);
        let person = self.person;
        let (kind, event, name) = match kind {
            Kind::Track(event) => ("track", Some(event), None),
            Kind::Page(name) => ("page", None, Some(name)),
            Kind::Identify => ("identify", None, None),
        };
        let traits = (kind == "identify").then(|| Traits {
            email: Some(person.email.as_str()).filter(|e| !e.is_empty()),
            first_name: &person.first_name,
            last_name: &person.last_name,
        });
        let event = Event {
            message_id: self.rng.uuid(),
            kind,
            event,
            name,
            user_id: self.identified.then_some(person.external_id.as_str()),
            anonymous_id: &person.anonymous_id,
            timestamp: timestamp(self.now),
            traits,
            properties,
            context: Context { locale: person.locale() },
        };
        serde_json::to_writer(&mut out.events, &event)?;
        out.events.push(b'\n');
        out.count += 1;
        Ok(())
    }
}

enum Kind {
    Track(&'static str),
    Page(&'static str),
    Identify,
}

struct Totals {
    subtotal: u64,
    discount: u64,
    tax: u64,
    shipping: u64,
    total: u64,
    coupon: Option<&'static str>,
}

impl Totals {
    fn of(rng: &mut Rng, cart: &[Line<'_>], tax_basis_points: u64) -> Self {
        let subtotal: u64 = cart.iter().map(|l| l.product.price_cents * l.quantity).sum();
        let (coupon, percent) = if rng.chance(0.15) {
            let (code, percent) = rng.pick(&COUPONS);
            (Some(code), percent)
        } else {
            (None, 0)
        };
        let discount = subtotal * percent / 100;
        let tax = (subtotal - discount) * tax_basis_points / 10_000;
        let shipping = if subtotal >= 10_000 { 0 } else { 599 };
        Self { subtotal, discount, tax, shipping, total: subtotal - discount + tax + shipping, coupon }
    }
}

fn dollars(cents: u64) -> f64 {
    cents as f64 / 100.0
}

/// RFC 3339 in UTC with milliseconds, as Segment's libraries send it.
pub fn timestamp(millis: i64) -> String {
    DateTime::from_timestamp_millis(millis).unwrap_or_default().to_rfc3339_opts(SecondsFormat::Millis, true)
}

#[derive(Serialize)]
struct Event<'a> {
    #[serde(rename = "messageId")]
    message_id: String,
    #[serde(rename = "type")]
    kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    event: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<&'static str>,
    #[serde(rename = "userId", skip_serializing_if = "Option::is_none")]
    user_id: Option<&'a str>,
    #[serde(rename = "anonymousId")]
    anonymous_id: &'a str,
    timestamp: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    traits: Option<Traits<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    properties: Option<Properties<'a>>,
    context: Context,
}

#[derive(Serialize)]
struct Traits<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    email: Option<&'a str>,
    #[serde(rename = "firstName")]
    first_name: &'a str,
    #[serde(rename = "lastName")]
    last_name: &'a str,
}

#[derive(Serialize)]
struct Context {
    locale: &'static str,
}

#[derive(Serialize)]
#[serde(untagged)]
enum Properties<'a> {
    Page {
        path: &'static str,
        url: &'a str,
        title: &'static str,
        #[serde(skip_serializing_if = "Option::is_none")]
        referrer: Option<&'static str>,
    },
    Search {
        query: &'static str,
    },
    List {
        list_id: &'static str,
        category: &'static str,
    },
    Product(ProductLine<'a>),
    Cart {
        cart_id: &'a str,
        products: Vec<ProductLine<'a>>,
    },
    Checkout {
        checkout_id: &'a str,
        order_id: &'a str,
        value: f64,
        revenue: f64,
        currency: &'static str,
        products: Vec<ProductLine<'a>>,
    },
    Order {
        checkout_id: &'a str,
        order_id: &'a str,
        total: f64,
        subtotal: f64,
        revenue: f64,
        shipping: f64,
        tax: f64,
        discount: f64,
        #[serde(skip_serializing_if = "Option::is_none")]
        coupon: Option<&'static str>,
        currency: &'static str,
        products: Vec<ProductLine<'a>>,
    },
}

impl<'a> Properties<'a> {
    fn product(product: &'a Product, cart_id: Option<&'a str>, quantity: Option<u64>) -> Self {
        Self::Product(ProductLine {
            cart_id,
            product_id: &product.sku,
            sku: &product.sku,
            category: product.category.code,
            name: &product.name,
            price: dollars(product.price_cents),
            quantity,
            currency: Some(CURRENCY),
        })
    }
}

#[derive(Serialize)]
struct ProductLine<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    cart_id: Option<&'a str>,
    product_id: &'a str,
    sku: &'a str,
    category: &'static str,
    name: &'a str,
    price: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    quantity: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    currency: Option<&'static str>,
}

impl<'a> From<&Line<'a>> for ProductLine<'a> {
    fn from(line: &Line<'a>) -> Self {
        Self {
            cart_id: None,
            product_id: &line.product.sku,
            sku: &line.product.sku,
            category: line.product.category.code,
            name: &line.product.name,
            price: dollars(line.product.price_cents),
            quantity: Some(line.quantity),
            currency: None,
        }
    }
}
