//! Inventory: how many of each sku a workspace holds at each location, changed by orders
//! (through [`apply`], inside the order's own transaction), by cancellations and returns, by an
//! external system setting a level, or by hand, every change explained by a row of the
//! movement ledger. A level falling to its low-stock threshold records the `inventory.low`
//! domain event for automations. This module owns the `stock_levels`, `stock_movements` and
//! `inventory_settings` tables; stock is governed by the `orders` permission. See
//! `docs/inventory.md`.

pub mod api;
mod model;
mod service;
mod store;
pub mod web;

pub use model::{
    AdjustInput, DEFAULT_LOCATION, DEFAULT_LOW_STOCK_THRESHOLD, InventorySettings, Location, Movement, MovementReason,
    SetStockInput, Sku, StockLevel, StockMovement,
};
pub use service::{
    InventoryError, LOW_STOCK_EVENT, LevelQuery, MODULE, SkuStock, adjust, apply, levels, save_settings, set, settings,
    stock,
};
