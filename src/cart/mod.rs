//! Carts: what tracked visitors put in their carts, kept current from the e-commerce events of
//! the Segment spec (`Product Added`, `Product Removed`, `Cart Viewed`, `Checkout Started`,
//! `Order Completed`) as resolution attributes them, and marked abandoned (the `cart.abandoned`
//! domain event) when a cart with items sees no checkout within the workspace's time. This
//! module owns the `carts`, `cart_items` and `cart_settings` tables; carts are governed by the
//! `orders` permission. See `docs/orders.md`, "Carts".

pub mod api;
mod model;
mod service;
mod store;
pub mod web;

pub use model::{CART_EVENTS, Cart, CartSettings, CartStatus, DEFAULT_ABANDON_AFTER_MINUTES};
pub use service::{
    ABANDONED_EVENT, CartError, CartFilter, MODULE, RECOVERED_EVENT, SWEEP_JOB, attribute, forget_person, get,
    is_cart_event, list, move_all, move_back, record_event, save_settings, settings, sweep,
};
