//! A product as senders describe it: the product properties of the Segment e-commerce spec
//! (`product_id`, `sku`, `name`, `category`, `brand`, `price`, `currency`, `image_url`, `url`),
//! or a body of the REST API with the same names.

use rapport_core::CurrencyCode;
use serde_json::Value;

use crate::http::FieldErrors;
use crate::order::{DEFAULT_CURRENCY, amount};

/// A checked product, keyed by sku (or the product id where a sender has no sku).
#[derive(Clone, Debug, PartialEq)]
pub struct NewProduct {
    pub sku: String,
    pub name: Option<String>,
    pub category: Option<String>,
    pub brand: Option<String>,
    pub price_minor: Option<i64>,
    pub currency: Option<String>,
    pub image_url: Option<String>,
    pub url: Option<String>,
}

/// Reads a product from an event's properties or an API body, naming each bad field.
pub fn parse(properties: &Value) -> Result<NewProduct, FieldErrors> {
    let mut errors = FieldErrors::new();
    let text = |key: &str| match properties.get(key) {
        Some(Value::String(s)) => Some(s.trim().to_owned()).filter(|s| !s.is_empty()),
        Some(Value::Number(n)) => Some(n.to_string()),
        _ => None,
    };
    let sku = text("sku").or_else(|| text("product_id")).or_else(|| text("productId"));
    match &sku {
        None => {
            errors.insert("sku".into(), vec!["is required (or product_id)".into()]);
        }
        Some(sku) if sku.len() > 100 => {
            errors.insert("sku".into(), vec!["may have at most 100 characters".into()]);
        }
        Some(_) => {}
    }
    let currency = text("currency").unwrap_or_else(|| DEFAULT_CURRENCY.to_owned());
    let price = match (properties.get("price").filter(|p| !p.is_null()), CurrencyCode::parse(&currency)) {
        (None, _) => None,
        (Some(price), Ok(code)) => match amount(price, code) {
            Ok(minor) => Some(minor),
            Err(message) => {
                errors.insert("price".into(), vec![message.into()]);
                None
            }
        },
        (Some(_), Err(_)) => {
            errors.insert("currency".into(), vec!["is not an ISO 4217 currency code".into()]);
            None
        }
    };
    let (Some(sku), true) = (sku, errors.is_empty()) else { return Err(errors) };
    let has_price = price.is_some();
    Ok(NewProduct {
        sku,
        name: text("name"),
        category: text("category"),
        brand: text("brand"),
        price_minor: price,
        currency: has_price.then_some(currency),
        image_url: text("image_url").or_else(|| text("imageUrl")),
        url: text("url"),
    })
}
