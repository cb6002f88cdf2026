//! The product catalogue: products by sku with name, category, brand, price, image and page,
//! kept current by tracked e-commerce events and the API; a product's page names who bought it.

pub mod api;
mod model;
mod service;
mod store;
pub mod web;

pub use model::NewProduct;
pub use service::{
    Buyer, PRODUCT_EVENTS, Product, ProductError, catalogue, catalogue_event, catalogue_lines, described, get, list,
    put,
};
