//! Orders: what customers bought, from tracked e-commerce events (`Order Completed`, `Order
//! Updated`, `Order Refunded`, `Order Cancelled`) and from systems that push orders to the API;
//! line items, discounts, tax, shipping, a status history with carrier and tracking number,
//! returns and refunds; and per person what they spent and bought, kept current.

pub mod api;
mod model;
mod service;
mod store;
pub mod web;

pub use model::{DEFAULT_CURRENCY, NewOrder, OrderInput, OrderLine, OrderStatus, Visitor, amount, line, summary};
pub use service::{
    Line, ORDER_EVENTS, Order, OrderDetail, OrderError, OrderFilter, Return, ReturnInput, ReturnedItem, Spend,
    StatusEntry, StatusInput, add_return, attribute, buyers_of, count_all, create, forget_person, get, list, move_all,
    move_back, record_event, set_status, spend_of,
};
