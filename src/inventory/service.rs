//! Use cases on stock: moving it ([`apply`], which the orders module calls inside its own
//! transaction), setting a level from an external system or a page, adjusting it by hand, the
//! workspace's default threshold, and reading levels and their ledger. Stock is commerce data:
//! reading it needs read access to `orders`, changing it write access. Every change writes a
//! ledger row in the same transaction; a quantity crossing down to its threshold records the
//! `inventory.low` domain event there too. Changes made by people (set, adjust, the default)
//! are audited; movements from orders are explained by the ledger and the order's own audit.

use std::collections::{BTreeMap, BTreeSet};

use chrono::Utc;
use rapport_core::{Actor, FieldChange, WorkspaceId};
use rapport_db::{Db, DbError, Tx};
use rapport_jobs::NewDomainEvent;
use serde_json::{Value, json};

use super::model::{
    AdjustInput, Adjustment, DEFAULT_LOCATION, DEFAULT_LOW_STOCK_THRESHOLD, InventorySettings, Location, MAX_QUANTITY,
    Movement, MovementReason, SetStock, SetStockInput, Sku, StockLevel, StockMovement, threshold,
};
use super::store::{self, LevelFilter, NewMovement};
use crate::audit::{AuditAction, AuditEntry};
use crate::http::FieldErrors;
use crate::identity::Principal;
use crate::profile::cut_page;

/// The permission module that governs stock.
pub const MODULE: &str = "orders";

/// Recorded when a level's quantity falls from above its threshold to at or below it.
pub const LOW_STOCK_EVENT: &str = "inventory.low";

/// How many of a sku's latest movements its page and `GET /inventory/{sku}` show.
pub const MOVEMENTS_SHOWN: i64 = 50;

#[derive(Debug, thiserror::Error)]
pub enum InventoryError {
    #[error("some fields are invalid")]
    Invalid(FieldErrors),
    #[error("no such stock level")]
    NotFound,
    #[error("{0}")]
    Forbidden(String),
    #[error(transparent)]
    Db(#[from] DbError),
}

fn invalid(field: &str, message: &str) -> InventoryError {
    InventoryError::Invalid(FieldErrors::from([(field.to_owned(), vec![message.to_owned()])]))
}

fn require(principal: &Principal, write: bool) -> Result<(), InventoryError> {
    if principal.may(MODULE, write) {
        Ok(())
    } else if write {
        Err(InventoryError::Forbidden("not allowed to change stock".into()))
    } else {
        Err(InventoryError::Forbidden("not allowed to read stock".into()))
    }
}

/// Applies `movements` in order inside the caller's transaction, writing one ledger row each
/// and an `inventory.low` event for every level whose quantity crosses down to its threshold.
///
/// A sku with no stock level at all is not stocked: its movements are ignored, as are those of
/// zero. `location: None` is the sku's default location: the level named `default` if it has
/// one, else its first level. A named location the sku has no level at yet gets one. A
/// quantity may go below zero. However many movements, the batch costs a handful of
/// statements, and levels are changed in (sku, location) order so concurrent batches on
/// PostgreSQL cannot deadlock on each other.
pub async fn apply(
    tx: &mut Tx,
    workspace: WorkspaceId,
    actor: &Actor,
    movements: &[Movement],
) -> Result<(), InventoryError> {
    record(tx, workspace, actor, movements, None).await
}

/// A movement resolved to the level it changes.
struct Resolved<'a> {
    movement: &'a Movement,
    sku: Sku,
    location: String,
}

async fn record(
    tx: &mut Tx,
    workspace: WorkspaceId,
    actor: &Actor,
    movements: &[Movement],
    note: Option<&str>,
) -> Result<(), InventoryError> {
    if movements.iter().any(|m| m.delta.unsigned_abs() > MAX_QUANTITY.unsigned_abs()) {
        return Err(invalid("delta", "must be between -1000000000000 and 1000000000000"));
    }
    // A sku that does not parse can have no level, so its movements are ignored like any other
    // unstocked sku's.
    let moving: Vec<(&Movement, Sku)> =
        movements.iter().filter(|m| m.delta != 0).filter_map(|m| Some((m, Sku::parse(&m.sku).ok()?))).collect();
    if moving.is_empty() {
        return Ok(());
    }
    let skus: BTreeSet<&str> = moving.iter().map(|(_, sku)| sku.as_str()).collect();
    let places = store::places(tx, workspace, &skus.into_iter().collect::<Vec<_>>()).await?;
    let mut by_sku: BTreeMap<&str, Vec<&store::Place>> = BTreeMap::new();
    for place in &places {
        by_sku.entry(place.sku.as_str()).or_default().push(place);
    }
    let mut resolved = Vec::with_capacity(moving.len());
    for (movement, sku) in moving {
        let Some(stocked) = by_sku.get(sku.as_str()) else { continue };
        let location = match &movement.location {
            Some(raw) => Location::parse(raw).map_err(|why| invalid("location", why))?.as_str().to_owned(),
            None => stocked
                .iter()
                .find(|place| place.location == DEFAULT_LOCATION)
                .or(stocked.first())
                .map(|place| place.location.clone())
                .unwrap_or_default(),
        };
        resolved.push(Resolved { movement, sku, location });
    }
    if resolved.is_empty() {
        return Ok(());
    }

    let mut totals: BTreeMap<(&str, &str), i64> = BTreeMap::new();
    for r in &resolved {
        let total = totals.entry((r.sku.as_str(), r.location.as_str())).or_default();
        *total = total.saturating_add(r.movement.delta);
    }
    let sums: Vec<(&str, &str, i64)> =
        totals.iter().map(|((sku, location), total)| (*sku, *location, *total)).collect();
    let now = Utc::now();
    let added = store::add(tx, workspace, &sums, now).await?;
    let default = store::default_threshold_in(tx, workspace).await?.unwrap_or(DEFAULT_LOW_STOCK_THRESHOLD);

    // Each level's quantity before the batch, walked forward movement by movement so that
    // every ledger row has its own quantity after, and a batch that dips below the threshold,
    // recovers and dips again records each crossing.
    let mut running: BTreeMap<(&str, &str), (&store::Added, i64)> = BTreeMap::new();
    for level in &added {
        let key = (level.sku.as_str(), level.location.as_str());
        let total = totals.get(&key).copied().unwrap_or_default();
        running.insert(key, (level, level.quantity - total));
    }
    let mut ledger = Vec::with_capacity(resolved.len());
    let mut events = Vec::new();
    for r in &resolved {
        let Some((level, quantity)) = running.get_mut(&(r.sku.as_str(), r.location.as_str())) else { continue };
        let before = *quantity;
        *quantity = before + r.movement.delta;
        let threshold = level.low_stock_threshold.unwrap_or(default);
        if before > threshold && *quantity <= threshold {
            events.push(NewDomainEvent {
                workspace_id: workspace,
                kind: LOW_STOCK_EVENT.into(),
                entity_type: "stock".into(),
                entity_id: level.id,
                payload: json!({
                    "sku": level.sku, "location": level.location, "quantity": *quantity, "threshold": threshold,
                }),
                actor: actor.to_string(),
                request_id: None,
            });
        }
        ledger.push(NewMovement {
            level_id: level.id,
            sku: &level.sku,
            location: &level.location,
            delta: r.movement.delta,
            quantity_after: *quantity,
            reason: r.movement.reason,
            reference: r.movement.reference.as_deref(),
            note,
        });
    }
    store::insert_movements(tx, workspace, (&actor.to_string(), now), &ledger).await?;
    if !events.is_empty() {
        rapport_jobs::record_events(tx, &events).await?;
    }
    Ok(())
}

async fn audit(
    tx: &mut Tx,
    workspace: WorkspaceId,
    actor: &Actor,
    (entity, id): (&str, i64),
    action: AuditAction,
    changes: &[FieldChange],
) -> Result<(), DbError> {
    let entry = AuditEntry { workspace, actor, request_id: None, entity, entity_id: id, action, changes };
    crate::audit::record(tx, &entry).await
}

/// Sets a level to the quantity an external system (or a count) reports, creating the level
/// (and so starting to stock the sku) if there is none. The difference is recorded as a `set`
/// movement; an unchanged quantity and threshold change nothing.
pub async fn set(
    db: &Db,
    principal: &Principal,
    (sku, location): (&str, &str),
    input: &SetStockInput,
) -> Result<StockLevel, InventoryError> {
    require(principal, true)?;
    let stock = SetStock::parse(sku, location, input).map_err(InventoryError::Invalid)?;
    let (workspace, actor) = (principal.workspace_id, principal.actor());
    db.write(move |tx| {
        Box::pin(async move {
            let now = Utc::now();
            let (sku, location) = (stock.sku.as_str(), stock.location.as_str());
            let current = store::lock(tx, workspace, sku, location).await?;
            let (id, before, old_threshold) = match &current {
                Some(level) => (level.id, Some(level.quantity), level.low_stock_threshold),
                None => {
                    let id = store::insert_level(tx, workspace, (sku, location), stock.threshold.flatten(), now);
                    (id.await?, None, None)
                }
            };
            let threshold = stock.threshold.unwrap_or(old_threshold);
            if current.is_some() && threshold != old_threshold {
                store::set_threshold(tx, workspace, id, threshold, now).await?;
            }
            let movement = Movement {
                sku: sku.to_owned(),
                location: Some(location.to_owned()),
                delta: stock.quantity - before.unwrap_or(0),
                reason: MovementReason::Set,
                reference: None,
            };
            record(tx, workspace, &actor, &[movement], None).await?;
            let changes: Vec<FieldChange> = [
                FieldChange::between("quantity", json!(before), json!(stock.quantity)),
                FieldChange::between("low_stock_threshold", json!(old_threshold), json!(threshold)),
            ]
            .into_iter()
            .flatten()
            .collect();
            let action = if current.is_some() { AuditAction::Update } else { AuditAction::Create };
            if !changes.is_empty() {
                audit(tx, workspace, &actor, ("stock", id), action, &changes).await?;
            }
            store::level(tx, workspace, sku, location).await?.ok_or(InventoryError::NotFound)
        })
    })
    .await
}

/// Adds `delta` to a level that exists (a sku starts being stocked by setting it).
pub async fn adjust(
    db: &Db,
    principal: &Principal,
    (sku, location): (&str, &str),
    input: &AdjustInput,
) -> Result<StockLevel, InventoryError> {
    require(principal, true)?;
    let adjustment = Adjustment::parse(sku, location, input).map_err(InventoryError::Invalid)?;
    let (workspace, actor) = (principal.workspace_id, principal.actor());
    db.write(move |tx| {
        Box::pin(async move {
            let (sku, location) = (adjustment.sku.as_str(), adjustment.location.as_str());
            let current = store::lock(tx, workspace, sku, location).await?.ok_or(InventoryError::NotFound)?;
            let movement = Movement {
                sku: sku.to_owned(),
                location: Some(location.to_owned()),
                delta: adjustment.delta,
                reason: adjustment.reason,
                reference: None,
            };
            record(tx, workspace, &actor, &[movement], adjustment.note.as_deref()).await?;
            let after = current.quantity + adjustment.delta;
            let changes: Vec<_> =
                FieldChange::between("quantity", json!(current.quantity), json!(after)).into_iter().collect();
            audit(tx, workspace, &actor, ("stock", current.id), AuditAction::Update, &changes).await?;
            store::level(tx, workspace, sku, location).await?.ok_or(InventoryError::NotFound)
        })
    })
    .await
}

/// Which levels to list, and from where.
#[derive(Clone, Debug, Default)]
pub struct LevelQuery {
    /// Skus starting with this.
    pub sku: Option<String>,
    /// Only levels at or below their threshold.
    pub low: bool,
    /// The `next` of the previous page.
    pub after: Option<i64>,
    /// 1–200.
    pub limit: i64,
}

/// A page of levels in (sku, location) order, and the cursor of the next page.
pub async fn levels(
    db: &Db,
    principal: &Principal,
    query: &LevelQuery,
) -> Result<(Vec<StockLevel>, Option<i64>), InventoryError> {
    require(principal, false)?;
    let limit = query.limit.clamp(1, 200);
    let sku = query.sku.as_deref().map(str::trim).filter(|sku| !sku.is_empty());
    let filter = LevelFilter { sku, low: query.low, after: query.after };
    let mut rows = store::levels(db, principal.workspace_id, &filter, limit + 1).await?;
    let next = cut_page(&mut rows, limit, |level| level.id);
    Ok((rows, next))
}

/// A sku's stock: its levels by location and its latest movements.
#[derive(Clone, Debug, serde::Serialize, utoipa::ToSchema)]
pub struct SkuStock {
    pub sku: String,
    pub levels: Vec<StockLevel>,
    /// Newest first, at most 50.
    pub movements: Vec<StockMovement>,
}

/// The stock of a sku the workspace stocks.
pub async fn stock(db: &Db, principal: &Principal, sku: &str) -> Result<SkuStock, InventoryError> {
    require(principal, false)?;
    let sku = Sku::parse(sku).map_err(|_| InventoryError::NotFound)?;
    let levels = store::levels_of_sku(db, principal.workspace_id, sku.as_str()).await?;
    if levels.is_empty() {
        return Err(InventoryError::NotFound);
    }
    let movements = store::movements(db, principal.workspace_id, sku.as_str(), MOVEMENTS_SHOWN).await?;
    Ok(SkuStock { sku: sku.as_str().to_owned(), levels, movements })
}

pub async fn settings(db: &Db, principal: &Principal) -> Result<InventorySettings, InventoryError> {
    require(principal, false)?;
    let low_stock_threshold =
        store::default_threshold(db, principal.workspace_id).await?.unwrap_or(DEFAULT_LOW_STOCK_THRESHOLD);
    Ok(InventorySettings { low_stock_threshold })
}

/// Sets the threshold of every level without its own. Levels it puts at or below their
/// threshold record no event: only quantities cross.
pub async fn save_settings(
    db: &Db,
    principal: &Principal,
    low_stock_threshold: &Value,
) -> Result<InventorySettings, InventoryError> {
    require(principal, true)?;
    let wanted = threshold(low_stock_threshold).map_err(|why| invalid("low_stock_threshold", why))?;
    let (workspace, actor) = (principal.workspace_id, principal.actor());
    db.write(move |tx| {
        Box::pin(async move {
            let before = store::default_threshold_in(tx, workspace).await?.unwrap_or(DEFAULT_LOW_STOCK_THRESHOLD);
            store::save_default_threshold(tx, workspace, wanted, Utc::now()).await?;
            if let Some(change) = FieldChange::between("low_stock_threshold", json!(before), json!(wanted)) {
                let entity = ("inventory_settings", workspace.get());
                audit(tx, workspace, &actor, entity, AuditAction::Update, &[change]).await?;
            }
            Ok(InventorySettings { low_stock_threshold: wanted })
        })
    })
    .await
}
