//! Use cases on carts: applying what a tracked visitor's e-commerce events say ([`record_event`],
//! which resolution calls inside its own transaction), giving an identified visitor's carts to
//! their person, the sweep that marks carts abandoned, and reading carts and the workspace's
//! abandonment time. Carts are commerce data, governed by the `orders` permission.
//!
//! A cart with items whose last activity is older than the workspace's abandonment time, and
//! that saw no checkout since, is marked abandoned once by the sweep, which records the domain
//! event `cart.abandoned` in the same transaction: on the person when the cart has one (it is
//! then also their timeline's "Left 2 items in the cart, 84.00 EUR"), else on the cart. New
//! activity clears the mark; an abandoned cart that becomes an order records `cart.recovered`.

use std::collections::HashMap;

use chrono::{Duration, Utc};
use rapport_core::{Actor, CartId, FieldChange, Money, PersonId, Timestamp, WorkspaceId};
use rapport_db::{Db, DbError, Tx};
use rapport_jobs::NewDomainEvent;
use serde_json::{Value, json};

use super::model::{
    CART_EVENTS, Cart, CartChange, CartSettings, CartStatus, DEFAULT_ABANDON_AFTER_MINUTES, abandon_after, change_of,
    currency_of, key_of, keys_of,
};
use super::store::{self, CartRow, ListQuery};
use crate::http::FieldErrors;
use crate::identity::Principal;
use crate::order::{OrderLine, Visitor};

/// The permission module that governs carts.
pub const MODULE: &str = "orders";
/// Recorded when the sweep finds a cart abandoned.
pub const ABANDONED_EVENT: &str = "cart.abandoned";
/// Recorded when a cart marked abandoned becomes an order after all.
pub const RECOVERED_EVENT: &str = "cart.recovered";
/// The recurring job that marks abandoned carts.
pub const SWEEP_JOB: &str = "cart.sweep";

/// Carts the sweep marks per transaction.
const SWEEP_BATCH: i64 = 500;

#[derive(Debug, thiserror::Error)]
pub enum CartError {
    #[error("some fields are invalid")]
    Invalid(FieldErrors),
    #[error("no such cart")]
    NotFound,
    #[error("{0}")]
    Forbidden(&'static str),
    #[error(transparent)]
    Db(#[from] DbError),
}

fn invalid(field: &str, message: &str) -> CartError {
    CartError::Invalid(FieldErrors::from([(field.to_owned(), vec![message.to_owned()])]))
}

fn require(principal: &Principal, write: bool) -> Result<(), CartError> {
    if principal.may(MODULE, write) {
        Ok(())
    } else if write {
        Err(CartError::Forbidden("your role may not change cart settings"))
    } else {
        Err(CartError::Forbidden("your role may not read carts"))
    }
}

/// Whether a tracked event changes carts.
pub fn is_cart_event(name: &str) -> bool {
    CART_EVENTS.contains(&name)
}

/// Applies one tracked e-commerce event to the cart it names: the sender's `cart_id`, else
/// the visitor's own. Checkouts and orders close every unordered cart of the visitor when the
/// event names none. A product the event describes badly is refused by field.
pub async fn record_event(
    tx: &mut Tx,
    workspace: WorkspaceId,
    visitor: Visitor<'_>,
    (name, properties, occurred_at): (&str, &Value, Timestamp),
) -> Result<(), CartError> {
    let Some(change) = change_of(name, properties).map_err(|(field, message)| invalid(&field, message))? else {
        return Ok(());
    };
    let cart_id = crate::tracking::text(properties.get("cart_id"));
    let now = Utc::now();
    match change {
        CartChange::Add(_) | CartChange::Remove { .. } | CartChange::Replace(_) => {
            let Some(key) = key_of(visitor, cart_id.as_deref()) else { return Ok(()) };
            let currency = currency_of(properties);
            let mut cart = store::open(tx, workspace, &key, (currency.as_str(), occurred_at), now).await?;
            if cart.status == CartStatus::Ordered.as_str()
                && matches!(change, CartChange::Add(_) | CartChange::Replace(_))
            {
                // The cart became an order: what is put in now is a new cart under the same key.
                store::clear(tx, workspace, cart.id).await?;
                cart.currency = currency.as_str().to_owned();
                (cart.order_reference, cart.checkout_at, cart.ordered_at) = (None, None, None);
                cart.status = CartStatus::Open.as_str().to_owned();
            }
            match &change {
                CartChange::Add(line) => store::add_line(tx, workspace, cart.id, line, occurred_at).await?,
                CartChange::Remove { sku, quantity } => {
                    store::remove_line(tx, workspace, cart.id, sku, *quantity).await?;
                }
                CartChange::Replace(lines) => replace(tx, workspace, cart.id, lines, occurred_at).await?,
                _ => {}
            }
            if cart.status == CartStatus::Checkout.as_str() && matches!(change, CartChange::Add(_)) {
                cart.status = CartStatus::Open.as_str().to_owned();
            }
            touch(&mut cart, visitor, occurred_at);
            store::save(tx, workspace, &cart, now).await?;
        }
        CartChange::Checkout(lines) => {
            for mut cart in carts_of(tx, workspace, visitor, cart_id.as_deref()).await? {
                if let Some(lines) = &lines {
                    replace(tx, workspace, cart.id, lines, occurred_at).await?;
                }
                cart.status = CartStatus::Checkout.as_str().to_owned();
                cart.checkout_at = Some(occurred_at);
                touch(&mut cart, visitor, occurred_at);
                store::save(tx, workspace, &cart, now).await?;
            }
        }
        CartChange::Ordered(reference) => {
            for mut cart in carts_of(tx, workspace, visitor, cart_id.as_deref()).await? {
                let was_abandoned = cart.abandoned_at.is_some();
                cart.status = CartStatus::Ordered.as_str().to_owned();
                cart.ordered_at = Some(occurred_at);
                cart.order_reference.clone_from(&reference);
                touch(&mut cart, visitor, occurred_at);
                let cart = store::save(tx, workspace, &cart, now).await?;
                if was_abandoned {
                    let summary = summary_of("Came back and ordered", &cart, "left in the cart earlier");
                    record(tx, workspace, &cart, RECOVERED_EVENT, &summary).await?;
                }
            }
        }
    }
    Ok(())
}

/// The cart holds exactly `lines`.
async fn replace(
    tx: &mut Tx,
    workspace: WorkspaceId,
    cart: CartId,
    lines: &[OrderLine],
    at: Timestamp,
) -> Result<(), DbError> {
    store::clear(tx, workspace, cart).await?;
    for line in lines {
        store::add_line(tx, workspace, cart, line, at).await?;
    }
    Ok(())
}

/// Activity on the cart: it is current again, and knows whatever the event says of its visitor.
fn touch(cart: &mut CartRow, visitor: Visitor<'_>, at: Timestamp) {
    cart.last_activity_at = cart.last_activity_at.max(at);
    cart.abandoned_at = None;
    cart.person_id = cart.person_id.or(visitor.person);
    if cart.anonymous_id.is_none() {
        cart.anonymous_id = visitor.anonymous_id.map(str::to_owned);
    }
    if cart.user_id.is_none() {
        cart.user_id = visitor.user_id.map(str::to_owned);
    }
}

async fn carts_of(
    tx: &mut Tx,
    workspace: WorkspaceId,
    visitor: Visitor<'_>,
    cart_id: Option<&str>,
) -> Result<Vec<CartRow>, DbError> {
    match cart_id {
        Some(id) => store::unordered(tx, workspace, &[format!("cart:{id}")], None).await,
        None => store::unordered(tx, workspace, &keys_of(visitor), visitor.person).await,
    }
}

/// Gives the carts of a visitor nobody had identified to `person`, as an identify or alias
/// does with the visitor's events.
pub async fn attribute(tx: &mut Tx, workspace: WorkspaceId, id: (&str, &str), person: PersonId) -> Result<(), DbError> {
    store::attribute(tx, workspace, id, person).await
}

/// `Left 2 items in the cart, 84.00 EUR`: the verb, the items, `where_`, then the value.
fn summary_of(verb: &str, cart: &CartRow, where_: &str) -> String {
    let noun = if cart.items == 1 { "item" } else { "items" };
    match rapport_core::CurrencyCode::parse(&cart.currency) {
        Ok(currency) => format!("{verb} {} {noun} {where_}, {}", cart.items, Money::new(cart.value_minor, currency)),
        Err(_) => format!("{verb} {} {noun} {where_}", cart.items),
    }
}

/// Records a cart's domain event: on its person when it has one (so it is a timeline entry
/// too), else on the cart itself.
async fn record(tx: &mut Tx, workspace: WorkspaceId, cart: &CartRow, kind: &str, summary: &str) -> Result<(), DbError> {
    let skus = store::skus_in(tx, workspace, cart.id).await?;
    let (entity_type, entity_id) = match cart.person_id {
        Some(person) => ("person", person.get()),
        None => ("cart", cart.id.get()),
    };
    let event = NewDomainEvent {
        workspace_id: workspace,
        kind: kind.to_owned(),
        entity_type: entity_type.into(),
        entity_id,
        payload: json!({
            "summary": summary,
            "link": format!("/carts/{}", cart.id),
            "cart_id": cart.id,
            "person_id": cart.person_id,
            "items": cart.items,
            "value_minor": cart.value_minor,
            "currency": cart.currency,
            "skus": skus.iter().map(|(sku, quantity)| json!({"sku": sku, "quantity": quantity})).collect::<Vec<_>>(),
            "last_activity_at": cart.last_activity_at,
        }),
        actor: Actor::System(SWEEP_JOB.into()).to_string(),
        request_id: None,
    };
    rapport_jobs::record_event(tx, &event).await
}

/// Marks every cart that is due as abandoned, in every workspace, as of `now`; answers how
/// many. Runs as a recurring job; two instances sweeping at once mark each cart once.
pub async fn sweep(db: &Db, now: Timestamp) -> Result<u64, DbError> {
    let mut marked = 0;
    for (workspace, minutes) in store::pending_workspaces(db, DEFAULT_ABANDON_AFTER_MINUTES).await? {
        let cutoff = now - Duration::minutes(minutes);
        loop {
            let done = db
                .write(move |tx| {
                    Box::pin(async move {
                        let due = store::due(tx, workspace, cutoff, SWEEP_BATCH).await?;
                        for cart in &due {
                            store::mark_abandoned(tx, workspace, cart.id, now).await?;
                            let summary = summary_of("Left", cart, "in the cart");
                            record(tx, workspace, cart, ABANDONED_EVENT, &summary).await?;
                        }
                        Ok::<_, DbError>(due.len() as u64)
                    })
                })
                .await?;
            marked += done;
            if done < SWEEP_BATCH as u64 {
                break;
            }
        }
    }
    Ok(marked)
}

/// Which carts to list.
pub struct CartFilter {
    pub person: Option<PersonId>,
    /// `open`, `checkout`, `ordered`, or `abandoned`.
    pub state: Option<String>,
    pub before: Option<(Timestamp, i64)>,
    pub limit: i64,
}

/// Carts with items, most recently active first, with the cursor of the next page.
pub async fn list(
    db: &Db,
    principal: &Principal,
    filter: &CartFilter,
) -> Result<(Vec<Cart>, Option<(Timestamp, i64)>), CartError> {
    require(principal, false)?;
    let (status, abandoned) = match filter.state.as_deref().map(str::trim) {
        None | Some("") => (None, None),
        Some("abandoned") => (Some(CartStatus::Open), Some(true)),
        Some("open") => (Some(CartStatus::Open), Some(false)),
        Some(other) => (
            Some(
                CartStatus::parse(other)
                    .ok_or_else(|| invalid("status", "is not one of open, abandoned, checkout, ordered"))?,
            ),
            None,
        ),
    };
    let limit = filter.limit.clamp(1, 200);
    let query = ListQuery {
        person: filter.person,
        status: status.map(|s| s.as_str().to_owned()),
        abandoned,
        before: filter.before,
        limit: limit + 1,
    };
    let mut rows = store::list(db, principal.workspace_id, &query).await?;
    let next = crate::profile::cut_page(&mut rows, limit, |r| (r.last_activity_at, r.id.get()));
    Ok((with_lines(db, principal.workspace_id, rows).await?, next))
}

pub async fn get(db: &Db, principal: &Principal, id: CartId) -> Result<Cart, CartError> {
    require(principal, false)?;
    let row = store::find(db, principal.workspace_id, id).await?.ok_or(CartError::NotFound)?;
    Ok(with_lines(db, principal.workspace_id, vec![row]).await?.remove(0))
}

async fn with_lines(db: &Db, workspace: WorkspaceId, rows: Vec<CartRow>) -> Result<Vec<Cart>, DbError> {
    let ids: Vec<CartId> = rows.iter().map(|r| r.id).collect();
    let mut lines: HashMap<CartId, Vec<OrderLine>> = HashMap::new();
    for (cart, line) in store::lines(db, workspace, &ids).await? {
        lines.entry(cart).or_default().push(line);
    }
    Ok(rows
        .into_iter()
        .map(|row| Cart {
            lines: lines.remove(&row.id).unwrap_or_default(),
            id: row.id,
            person_id: row.person_id,
            status: CartStatus::parse(&row.status).unwrap_or(CartStatus::Open),
            currency: row.currency,
            items: row.items,
            value_minor: row.value_minor,
            order_id: row.order_reference,
            last_activity_at: row.last_activity_at,
            checkout_at: row.checkout_at,
            ordered_at: row.ordered_at,
            abandoned_at: row.abandoned_at,
        })
        .collect())
}

pub async fn settings(db: &Db, principal: &Principal) -> Result<CartSettings, CartError> {
    require(principal, false)?;
    let minutes = store::abandon_after(db, principal.workspace_id).await?.unwrap_or(DEFAULT_ABANDON_AFTER_MINUTES);
    Ok(CartSettings { abandon_after_minutes: minutes })
}

/// Sets how long a cart may go without a checkout before it counts as abandoned; audited.
pub async fn save_settings(db: &Db, principal: &Principal, minutes: &Value) -> Result<CartSettings, CartError> {
    require(principal, true)?;
    let wanted = abandon_after(minutes).map_err(|why| invalid("abandon_after_minutes", why))?;
    let (workspace, actor) = (principal.workspace_id, principal.actor());
    db.write(move |tx| {
        Box::pin(async move {
            let before = store::abandon_after_in(tx, workspace).await?.unwrap_or(DEFAULT_ABANDON_AFTER_MINUTES);
            store::save_abandon_after(tx, workspace, wanted, Utc::now()).await?;
            let changes: Vec<FieldChange> =
                FieldChange::between("abandon_after_minutes", json!(before), json!(wanted)).into_iter().collect();
            crate::audit::record_setting(tx, (workspace, &actor), "cart_settings", &changes).await?;
            Ok(CartSettings { abandon_after_minutes: wanted })
        })
    })
    .await
}

/// Gives the carts of a person merged away to the survivor; answers them, for an undo.
pub async fn move_all(
    tx: &mut Tx,
    workspace: WorkspaceId,
    (from, to): (PersonId, PersonId),
) -> Result<Vec<i64>, DbError> {
    store::reassign(tx, workspace, from, to).await
}

/// Undoes [`move_all`]: the carts moved go back to `to`.
pub async fn move_back(tx: &mut Tx, workspace: WorkspaceId, moved: &[i64], to: PersonId) -> Result<(), DbError> {
    store::reassign_ids(tx, workspace, moved, to).await
}

/// A purged person's carts go.
pub async fn forget_person(tx: &mut Tx, workspace: WorkspaceId, person: PersonId) -> Result<(), DbError> {
    store::forget_person(tx, workspace, person).await
}
