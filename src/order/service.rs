//! Use cases on orders: recording what the e-commerce events of tracked customers say (placed,
//! updated, refunded, cancelled), orders pushed through the API, status changes with carrier and
//! tracking number, returns with their refund. Every change keeps the customer's spend and
//! categories current and puts a readable entry on their timeline ("Ordered 2 items, 84.00 EUR").

use chrono::Utc;
use rapport_core::{Actor, CurrencyCode, Money, OrderId, PersonId, Timestamp, WorkspaceId};
use rapport_db::{Db, DbError, Tx};
use serde_json::Value;

use super::model::{self, NewOrder, OrderInput, OrderLine, OrderStatus, Visitor};
use super::store::{self, ListQuery, OrderRow, StatusChange};
use crate::http::FieldErrors;
use crate::identity::Principal;
use crate::inventory::{Movement, MovementReason};
use crate::person::import::Key;

pub(super) const MODULE: &str = "orders";

#[derive(Debug, thiserror::Error)]
pub enum OrderError {
    #[error("some fields are invalid")]
    Invalid(FieldErrors),
    #[error("no such order")]
    NotFound,
    #[error("an order with this order_id exists already")]
    Exists(OrderId),
    #[error("{0}")]
    Forbidden(&'static str),
    #[error(transparent)]
    Inventory(#[from] crate::inventory::InventoryError),
    #[error(transparent)]
    Db(#[from] DbError),
}

fn invalid(field: &str, message: &str) -> OrderError {
    OrderError::Invalid(FieldErrors::from([(field.to_owned(), vec![message.to_owned()])]))
}

/// The e-commerce events that change orders.
pub const ORDER_EVENTS: [&str; 4] = ["Order Completed", "Order Updated", "Order Refunded", "Order Cancelled"];

/// Applies one tracked e-commerce event to the order it names, credited to the visitor's person
/// when known (else kept with the visitor's ids, for [`attribute`] to give it to them once they
/// identify). An event that names no order, or describes it badly, is refused by field; the
/// raw event stays stored either way.
pub async fn record_event(
    tx: &mut Tx,
    (workspace, actor): (WorkspaceId, &Actor),
    visitor: Visitor<'_>,
    (name, properties, occurred_at): (&str, &Value, Timestamp),
) -> Result<(), OrderError> {
    let now = Utc::now();
    let reference = crate::tracking::text(properties.get("order_id").or_else(|| properties.get("orderId")));
    let existing = match reference.as_deref() {
        Some(reference) => store::by_reference(tx, workspace, reference).await?,
        None => return Err(invalid("order_id", "is required")),
    };
    match (name, existing) {
        ("Order Completed" | "Order Updated", None) => {
            let order = model::from_properties(properties, occurred_at).map_err(OrderError::Invalid)?;
            place(tx, (workspace, actor), visitor, &order, "event").await.map(drop)
        }
        ("Order Completed" | "Order Updated", Some(row)) => {
            if properties.get("products").is_some() || properties.get("total").is_some() {
                let order = model::from_properties(properties, row.placed_at).map_err(OrderError::Invalid)?;
                let before = store::lines_in(tx, workspace, row.id).await?;
                store::replace(tx, workspace, row.id, &order, now).await?;
                if row.status != OrderStatus::Cancelled.as_str() {
                    let moved = restocked(&before, &order.lines);
                    stock(tx, (workspace, actor), row.id, &moved, MovementReason::Order).await?;
                }
            }
            let status = properties.get("status").and_then(Value::as_str).and_then(OrderStatus::parse);
            if let Some(status) = status.filter(|s| s.as_str() != row.status) {
                change(tx, (workspace, actor), &row, status, (None, None, None)).await?;
            }
            refresh(tx, workspace, row.person_id).await
        }
        ("Order Refunded", Some(row)) => {
            let currency = CurrencyCode::parse(&row.currency).map_err(|_| invalid("currency", "is unknown"))?;
            let amount = match properties.get("total").or_else(|| properties.get("value")) {
                Some(given) => model::amount(given, currency).map_err(|m| invalid("total", m))?,
                None => row.total_minor - row.refunded_minor,
            };
            refund(tx, (workspace, actor), &row, amount, None).await
        }
        ("Order Cancelled", Some(row)) => {
            change(tx, (workspace, actor), &row, OrderStatus::Cancelled, (None, None, None)).await?;
            refresh(tx, workspace, row.person_id).await
        }
        (_, None) => Err(invalid("order_id", "names no order of this workspace")),
        _ => Ok(()),
    }
}

/// What an order's new lines take from (negative) or give back to (positive) the shelf, by sku,
/// against its old lines less what already came back.
fn restocked(before: &[store::LineRow], after: &[OrderLine]) -> Vec<(String, i64)> {
    let mut deltas: std::collections::BTreeMap<&str, i64> = std::collections::BTreeMap::new();
    for line in before {
        *deltas.entry(&line.sku).or_default() += line.quantity - line.returned;
    }
    for line in after {
        *deltas.entry(&line.sku).or_default() -= line.quantity;
    }
    deltas.into_iter().filter(|(_, delta)| *delta != 0).map(|(sku, delta)| (sku.to_owned(), delta)).collect()
}

async fn place(
    tx: &mut Tx,
    (workspace, actor): (WorkspaceId, &Actor),
    visitor: Visitor<'_>,
    order: &NewOrder,
    origin: &str,
) -> Result<OrderId, OrderError> {
    let now = Utc::now();
    let person = visitor.person;
    let id = store::insert(tx, workspace, visitor, (order, OrderStatus::Placed.as_str(), origin), now).await?;
    let actor_name = actor.to_string();
    let placed =
        StatusChange { status: "placed", carrier: None, tracking_number: None, note: None, actor: &actor_name };
    store::record_history(tx, workspace, id, &placed, now).await?;
    crate::product::catalogue_lines(tx, workspace, &order.lines, order.currency).await?;
    let bought: Vec<(String, i64)> = order.lines.iter().map(|l| (l.sku.clone(), -l.quantity)).collect();
    stock(tx, (workspace, actor), id, &bought, MovementReason::Order).await?;
    if let Some(person) = person {
        let summary = model::summary("Ordered", order.items(), Money::new(order.total, order.currency));
        timeline(tx, (workspace, actor), person, ("order.placed", &summary), id).await?;
        store::refresh_person(tx, workspace, person).await?;
    }
    Ok(id)
}

async fn change(
    tx: &mut Tx,
    (workspace, actor): (WorkspaceId, &Actor),
    row: &OrderRow,
    status: OrderStatus,
    (carrier, tracking_number, note): (Option<&str>, Option<&str>, Option<&str>),
) -> Result<(), OrderError> {
    let actor_name = actor.to_string();
    let change = StatusChange { status: status.as_str(), carrier, tracking_number, note, actor: &actor_name };
    store::set_status(tx, workspace, row.id, &change, Utc::now()).await?;
    let (was_cancelled, cancelled) = (row.status == OrderStatus::Cancelled.as_str(), status == OrderStatus::Cancelled);
    if was_cancelled != cancelled {
        // A cancelled order's items (those not already returned) go back on the shelf; an
        // order taken out of cancellation takes them again.
        let sign = if cancelled { 1 } else { -1 };
        let kept: Vec<(String, i64)> = store::lines_in(tx, workspace, row.id)
            .await?
            .into_iter()
            .map(|l| (l.sku, sign * (l.quantity - l.returned)))
            .collect();
        let reason = if cancelled { MovementReason::Cancel } else { MovementReason::Order };
        stock(tx, (workspace, actor), row.id, &kept, reason).await?;
    }
    if let Some(person) = row.person_id {
        let mut summary = format!("Order {} {}", row.reference, status.as_str());
        if let Some(tracking) = tracking_number {
            summary.push_str(&format!(" ({} {tracking})", carrier.unwrap_or("tracking")));
        }
        timeline(tx, (workspace, actor), person, (&format!("order.{}", status.as_str()), &summary), row.id).await?;
    }
    Ok(())
}

async fn refund(
    tx: &mut Tx,
    (workspace, actor): (WorkspaceId, &Actor),
    row: &OrderRow,
    amount: i64,
    note: Option<&str>,
) -> Result<(), OrderError> {
    if amount <= 0 {
        return Err(invalid("total", "a refund must be more than zero"));
    }
    let refunded = store::add_refund(tx, workspace, row.id, amount, Utc::now()).await?;
    if refunded >= row.total_minor && row.status != "refunded" {
        change(tx, (workspace, actor), row, OrderStatus::Refunded, (None, None, note)).await?;
    } else if let Some(person) = row.person_id {
        let currency = CurrencyCode::parse(&row.currency).map_err(|_| invalid("currency", "is unknown"))?;
        let summary = format!("Refunded {} on order {}", Money::new(amount, currency), row.reference);
        timeline(tx, (workspace, actor), person, ("order.refunded", &summary), row.id).await?;
    }
    refresh(tx, workspace, row.person_id).await
}

/// Moves the stock of `lines` (sku, signed quantity) for order `id`; skus nobody stocks are
/// left alone by the inventory.
async fn stock(
    tx: &mut Tx,
    (workspace, actor): (WorkspaceId, &Actor),
    id: OrderId,
    lines: &[(String, i64)],
    reason: MovementReason,
) -> Result<(), OrderError> {
    let movements: Vec<Movement> = lines
        .iter()
        .filter(|(_, delta)| *delta != 0)
        .map(|(sku, delta)| Movement {
            sku: sku.clone(),
            location: None,
            delta: *delta,
            reason,
            reference: Some(format!("order:{id}")),
        })
        .collect();
    Ok(crate::inventory::apply(tx, workspace, actor, &movements).await?)
}

async fn refresh(tx: &mut Tx, workspace: WorkspaceId, person: Option<PersonId>) -> Result<(), OrderError> {
    if let Some(person) = person {
        store::refresh_person(tx, workspace, person).await?;
    }
    Ok(())
}

async fn timeline(
    tx: &mut Tx,
    (workspace, actor): (WorkspaceId, &Actor),
    person: PersonId,
    (kind, summary): (&str, &str),
    order: OrderId,
) -> Result<(), OrderError> {
    let link = format!("/orders/{order}");
    crate::profile::record_timeline_entry(tx, workspace, actor, ("person", person.get()), kind, (summary, Some(&link)))
        .await?;
    Ok(())
}

/// An order as the API and the pages show it.
#[derive(Clone, Debug, serde::Serialize, utoipa::ToSchema)]
pub struct Order {
    pub id: i64,
    /// The sender's order id.
    pub order_id: String,
    pub person_id: Option<i64>,
    pub status: OrderStatus,
    pub currency: String,
    /// Amounts in minor units of `currency`.
    pub subtotal: i64,
    pub discount: i64,
    pub tax: i64,
    pub shipping: i64,
    pub total: i64,
    pub refunded: i64,
    pub coupon: Option<String>,
    pub carrier: Option<String>,
    pub tracking_number: Option<String>,
    #[schema(value_type = String, format = DateTime)]
    pub placed_at: Timestamp,
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: Timestamp,
    /// `event` (tracked) or `api` (pushed).
    pub origin: String,
}

impl From<OrderRow> for Order {
    fn from(row: OrderRow) -> Self {
        Self {
            id: row.id.get(),
            order_id: row.reference,
            person_id: row.person_id.map(PersonId::get),
            status: OrderStatus::parse(&row.status).unwrap_or(OrderStatus::Placed),
            currency: row.currency,
            subtotal: row.subtotal_minor,
            discount: row.discount_minor,
            tax: row.tax_minor,
            shipping: row.shipping_minor,
            total: row.total_minor,
            refunded: row.refunded_minor,
            coupon: row.coupon,
            carrier: row.carrier,
            tracking_number: row.tracking_number,
            placed_at: row.placed_at,
            updated_at: row.updated_at,
            origin: row.origin,
        }
    }
}

impl Order {
    /// An amount of this order for reading (`84.00 EUR`).
    pub fn money(&self, minor: impl std::borrow::Borrow<i64>) -> String {
        let minor = *minor.borrow();
        CurrencyCode::parse(&self.currency)
            .map_or_else(|_| format!("{minor} {}", self.currency), |c| Money::new(minor, c).to_string())
    }
}

#[derive(Clone, Debug, serde::Serialize, utoipa::ToSchema)]
pub struct Line {
    #[serde(flatten)]
    pub line: OrderLine,
    pub returned: i64,
}

#[derive(Clone, Debug, serde::Serialize, utoipa::ToSchema)]
pub struct StatusEntry {
    pub status: String,
    pub carrier: Option<String>,
    pub tracking_number: Option<String>,
    pub note: Option<String>,
    pub actor: String,
    #[schema(value_type = String, format = DateTime)]
    pub at: Timestamp,
}

#[derive(Clone, Debug, serde::Serialize, utoipa::ToSchema)]
pub struct Return {
    pub id: i64,
    #[schema(value_type = Vec<Object>)]
    pub items: Value,
    pub reason: Option<String>,
    pub amount: i64,
    pub actor: String,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
}

/// An order with its lines, status history and returns.
#[derive(Clone, Debug, serde::Serialize, utoipa::ToSchema)]
pub struct OrderDetail {
    #[serde(flatten)]
    pub order: Order,
    pub items: Vec<Line>,
    pub history: Vec<StatusEntry>,
    pub returns: Vec<Return>,
}

fn require(principal: &Principal, write: bool) -> Result<(), OrderError> {
    if principal.may(MODULE, write) {
        Ok(())
    } else if write {
        Err(OrderError::Forbidden("your role may not change orders"))
    } else {
        Err(OrderError::Forbidden("your role may not read orders"))
    }
}

pub async fn get(db: &Db, principal: &Principal, id: OrderId) -> Result<OrderDetail, OrderError> {
    require(principal, false)?;
    let workspace = principal.workspace_id;
    let order = store::find(db, workspace, id).await?.ok_or(OrderError::NotFound)?;
    let items = store::lines(db, workspace, id)
        .await?
        .into_iter()
        .map(|l| Line {
            line: OrderLine {
                sku: l.sku,
                name: l.name,
                category: l.category,
                quantity: l.quantity,
                price_minor: l.price_minor,
            },
            returned: l.returned,
        })
        .collect();
    let history = store::history(db, workspace, id)
        .await?
        .into_iter()
        .map(|h| StatusEntry {
            status: h.status,
            carrier: h.carrier,
            tracking_number: h.tracking_number,
            note: h.note,
            actor: h.actor,
            at: h.at,
        })
        .collect();
    let returns = store::returns(db, workspace, id)
        .await?
        .into_iter()
        .map(|r| Return {
            id: r.id,
            items: r.items.0,
            reason: r.reason,
            amount: r.amount_minor,
            actor: r.actor,
            created_at: r.created_at,
        })
        .collect();
    Ok(OrderDetail { order: order.into(), items, history, returns })
}

pub struct OrderFilter {
    pub person: Option<PersonId>,
    pub status: Option<OrderStatus>,
    pub order_id: Option<String>,
    pub before: Option<i64>,
    pub limit: i64,
}

/// Orders newest first, with the cursor of the next page.
pub async fn list(
    db: &Db,
    principal: &Principal,
    filter: &OrderFilter,
) -> Result<(Vec<Order>, Option<i64>), OrderError> {
    require(principal, false)?;
    let limit = filter.limit.clamp(1, 200);
    let query = ListQuery {
        person: filter.person,
        status: filter.status.map(OrderStatus::as_str),
        reference: filter.order_id.as_deref(),
        before: filter.before,
        limit: limit + 1,
    };
    let mut rows = store::list(db, principal.workspace_id, &query).await?;
    let next = crate::profile::cut_page(&mut rows, limit, |r| r.id.get());
    Ok((rows.into_iter().map(Order::from).collect(), next))
}

/// Records an order pushed by another system, for the person it names (by id, email or
/// external id) or for nobody (a guest checkout).
pub async fn create(db: &Db, principal: &Principal, input: &OrderInput) -> Result<OrderDetail, OrderError> {
    require(principal, true)?;
    let order = model::check(input, Utc::now()).map_err(OrderError::Invalid)?;
    let workspace = principal.workspace_id;
    let named = |field: &'static str| move |_| invalid(field, "names no person you can see");
    let person = match (input.person_id, input.email.as_deref(), input.external_id.as_deref()) {
        (Some(id), _, _) => {
            Some(crate::person::get(db, principal, PersonId::new(id)).await.map_err(named("person_id"))?.id)
        }
        (None, Some(email), _) => {
            Some(crate::person::find_by(db, principal, Key::Email, email).await.map_err(named("email"))?.id)
        }
        (None, None, Some(external_id)) => Some(
            crate::person::find_by(db, principal, Key::ExternalId, external_id).await.map_err(named("external_id"))?.id,
        ),
        (None, None, None) => None,
    };
    let actor = principal.actor();
    let id = db
        .write(move |tx| {
            Box::pin(async move {
                if let Some(existing) = store::by_reference(tx, workspace, &order.reference).await? {
                    return Err(OrderError::Exists(existing.id));
                }
                place(tx, (workspace, &actor), Visitor { person, ..Visitor::default() }, &order, "api").await
            })
        })
        .await?;
    get(db, principal, id).await
}

/// A status change pushed by another system or made on the order's page.
#[derive(Clone, Debug, Default, serde::Deserialize, utoipa::ToSchema)]
pub struct StatusInput {
    pub status: String,
    pub carrier: Option<String>,
    pub tracking_number: Option<String>,
    pub note: Option<String>,
}

pub async fn set_status(
    db: &Db,
    principal: &Principal,
    id: OrderId,
    input: &StatusInput,
) -> Result<OrderDetail, OrderError> {
    require(principal, true)?;
    let status = OrderStatus::parse(&input.status).ok_or_else(|| invalid("status", "is not an order status"))?;
    let (workspace, actor, input) = (principal.workspace_id, principal.actor(), input.clone());
    db.write(move |tx| {
        Box::pin(async move {
            let row = store::find_in(tx, workspace, id).await?.ok_or(OrderError::NotFound)?;
            let given = |v: &Option<String>| v.as_deref().map(str::trim).filter(|v| !v.is_empty()).map(str::to_owned);
            let (carrier, tracking, note) = (given(&input.carrier), given(&input.tracking_number), given(&input.note));
            change(tx, (workspace, &actor), &row, status, (carrier.as_deref(), tracking.as_deref(), note.as_deref()))
                .await?;
            refresh(tx, workspace, row.person_id).await
        })
    })
    .await?;
    get(db, principal, id).await
}

/// Items coming back: by sku, how many.
#[derive(Clone, Debug, serde::Deserialize, serde::Serialize, utoipa::ToSchema)]
pub struct ReturnedItem {
    pub sku: String,
    pub quantity: i64,
}

#[derive(Clone, Debug, Default, serde::Deserialize, utoipa::ToSchema)]
pub struct ReturnInput {
    pub items: Vec<ReturnedItem>,
    pub reason: Option<String>,
    /// The refund, as a decimal amount in the order's currency; the returned items' price when absent.
    #[schema(value_type = Option<String>)]
    pub amount: Option<Value>,
}

/// Records items sent back and refunds them. More than was bought (less what came back
/// before) is refused by item; when everything has come back the order is `returned`.
pub async fn add_return(
    db: &Db,
    principal: &Principal,
    id: OrderId,
    input: &ReturnInput,
) -> Result<OrderDetail, OrderError> {
    require(principal, true)?;
    if input.items.is_empty() {
        return Err(invalid("items", "name at least one item"));
    }
    let (workspace, actor, input) = (principal.workspace_id, principal.actor(), input.clone());
    db.write(move |tx| {
        Box::pin(async move {
            let row = store::find_in(tx, workspace, id).await?.ok_or(OrderError::NotFound)?;
            let currency = CurrencyCode::parse(&row.currency).map_err(|_| invalid("currency", "is unknown"))?;
            let before = store::lines_in(tx, workspace, id).await?;
            let mut lines = before.clone();
            let mut errors = FieldErrors::new();
            let mut worth = 0;
            for (n, item) in input.items.iter().enumerate() {
                let mut wanted = item.quantity;
                if wanted < 1 {
                    errors.insert(format!("items[{n}].quantity"), vec!["must be at least 1".into()]);
                    continue;
                }
                for line in lines.iter_mut().filter(|l| l.sku == item.sku) {
                    let taken = wanted.min(line.quantity - line.returned);
                    line.returned += taken;
                    worth += taken * line.price_minor;
                    wanted -= taken;
                }
                if wanted > 0 {
                    errors.insert(format!("items[{n}]"), vec!["is more than the order holds of this sku".into()]);
                }
            }
            if !errors.is_empty() {
                return Err(OrderError::Invalid(errors));
            }
            let amount = match &input.amount {
                Some(given) => model::amount(given, currency).map_err(|m| invalid("amount", m))?,
                None => worth,
            };
            let reason = input.reason.as_deref().map(str::trim).filter(|r| !r.is_empty());
            let items = serde_json::to_value(&input.items).unwrap_or(Value::Null);
            let actor_name = actor.to_string();
            store::insert_return(tx, workspace, id, (&items, reason, amount), &actor_name, Utc::now()).await?;
            let mut back = Vec::new();
            for (line, was) in lines.iter().zip(&before) {
                if line.returned > was.returned {
                    store::mark_returned(tx, workspace, id, line.line, line.returned - was.returned).await?;
                    back.push((line.sku.clone(), line.returned - was.returned));
                }
            }
            if row.status != OrderStatus::Cancelled.as_str() {
                stock(tx, (workspace, &actor), id, &back, MovementReason::Return).await?;
            }
            if lines.iter().all(|l| l.returned >= l.quantity) {
                change(tx, (workspace, &actor), &row, OrderStatus::Returned, (None, None, reason)).await?;
            }
            if amount > 0 {
                let row = store::find_in(tx, workspace, id).await?.ok_or(OrderError::NotFound)?;
                refund(tx, (workspace, &actor), &row, amount, reason).await?;
            }
            refresh(tx, workspace, row.person_id).await
        })
    })
    .await?;
    get(db, principal, id).await
}

/// What a person spent and bought, for their profile and for segments.
#[derive(Clone, Debug, Default, serde::Serialize, utoipa::ToSchema)]
pub struct Spend {
    pub currency: String,
    pub orders: i64,
    /// Less refunds, in minor units.
    pub total: i64,
    /// `total / orders`, rounded down, in minor units.
    pub average_order: i64,
    #[schema(value_type = String, format = DateTime)]
    pub first_order_at: Timestamp,
    #[schema(value_type = String, format = DateTime)]
    pub last_order_at: Timestamp,
}

impl Spend {
    pub fn money(&self, minor: impl std::borrow::Borrow<i64>) -> String {
        let minor = *minor.borrow();
        CurrencyCode::parse(&self.currency)
            .map_or_else(|_| format!("{minor} {}", self.currency), |c| Money::new(minor, c).to_string())
    }
}

/// A person's spend per currency, largest first, and their top categories by items bought.
pub async fn spend_of(
    db: &Db,
    workspace: WorkspaceId,
    person: PersonId,
) -> Result<(Vec<Spend>, Vec<(String, i64)>), OrderError> {
    let spend = store::spend_of(db, workspace, person)
        .await?
        .into_iter()
        .map(|s| Spend {
            average_order: if s.orders > 0 { s.total_minor / s.orders } else { 0 },
            currency: s.currency,
            orders: s.orders,
            total: s.total_minor,
            first_order_at: s.first_order_at,
            last_order_at: s.last_order_at,
        })
        .collect();
    Ok((spend, store::categories_of(db, workspace, person, 5).await?))
}

/// Gives the orders of a person merged away to the survivor; answers them, for an undo.
pub async fn move_all(
    tx: &mut Tx,
    workspace: WorkspaceId,
    (from, to): (PersonId, PersonId),
) -> Result<Vec<i64>, DbError> {
    let moved = store::reassign(tx, workspace, from, to).await?;
    store::refresh_person(tx, workspace, from).await?;
    store::refresh_person(tx, workspace, to).await?;
    Ok(moved)
}

/// Undoes [`move_all`]: the orders moved go back to `to` (the person the merge took them from).
pub async fn move_back(
    tx: &mut Tx,
    workspace: WorkspaceId,
    moved: &[i64],
    (from, to): (PersonId, PersonId),
) -> Result<(), DbError> {
    store::reassign_ids(tx, workspace, moved, to).await?;
    store::refresh_person(tx, workspace, from).await?;
    store::refresh_person(tx, workspace, to).await
}

/// Gives the orders of a visitor nobody had identified (by `column`, `anonymous_id` or
/// `user_id`, equal to `value`) to `person`, each with its timeline entry, as an identify or
/// alias does with the visitor's events.
pub async fn attribute(
    tx: &mut Tx,
    (workspace, actor): (WorkspaceId, &Actor),
    (column, value): (&str, &str),
    person: PersonId,
) -> Result<(), DbError> {
    let given = store::attribute(tx, workspace, (column, value), person).await?;
    for row in &given {
        let items: i64 = store::lines_in(tx, workspace, row.id).await?.iter().map(|l| l.quantity).sum();
        let total = CurrencyCode::parse(&row.currency).map(|c| Money::new(row.total_minor, c));
        let summary = match total {
            Ok(total) => model::summary("Ordered", items, total),
            Err(_) => format!("Ordered {items} items"),
        };
        let link = format!("/orders/{}", row.id);
        crate::profile::record_timeline_entry(
            tx,
            workspace,
            actor,
            ("person", person.get()),
            "order.placed",
            (&summary, Some(&link)),
        )
        .await?;
    }
    if !given.is_empty() {
        store::refresh_person(tx, workspace, person).await?;
    }
    Ok(())
}

/// A purged person's orders stay without them; their aggregates go.
pub async fn forget_person(tx: &mut Tx, workspace: WorkspaceId, person: PersonId) -> Result<(), DbError> {
    store::forget_person(tx, workspace, person).await
}

/// Who bought `sku`, most items first.
pub async fn buyers_of(
    db: &Db,
    principal: &Principal,
    sku: &str,
    limit: i64,
) -> Result<Vec<(PersonId, i64, Timestamp)>, OrderError> {
    require(principal, false)?;
    Ok(store::buyers_of(db, principal.workspace_id, sku, limit).await?)
}

/// How many orders the workspace holds, for checking a load.
pub async fn count_all(db: &Db, workspace: WorkspaceId) -> Result<i64, DbError> {
    store::count_all(db, workspace).await
}
