//! Orders as the business's systems describe them: from the e-commerce events of the Segment
//! spec (`Order Completed` and the rest, properties in snake case) or pushed to the REST API.
//! Both become a [`NewOrder`] here, every amount in integer minor units of the order's currency,
//! or a list of what is wrong by field.

use chrono::{DateTime, Utc};
use rapport_core::{CurrencyCode, Money, PersonId, Timestamp};
use serde_json::Value;

use crate::http::FieldErrors;
use crate::tracking::text;

/// The currency an order is in when its sender names none, as Segment's spec says.
pub const DEFAULT_CURRENCY: &str = "USD";

#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum OrderStatus {
    Placed,
    Paid,
    Fulfilled,
    Shipped,
    Delivered,
    Cancelled,
    Returned,
    Refunded,
}

impl OrderStatus {
    pub const ALL: [Self; 8] = [
        Self::Placed,
        Self::Paid,
        Self::Fulfilled,
        Self::Shipped,
        Self::Delivered,
        Self::Cancelled,
        Self::Returned,
        Self::Refunded,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Placed => "placed",
            Self::Paid => "paid",
            Self::Fulfilled => "fulfilled",
            Self::Shipped => "shipped",
            Self::Delivered => "delivered",
            Self::Cancelled => "cancelled",
            Self::Returned => "returned",
            Self::Refunded => "refunded",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == raw.trim().to_ascii_lowercase())
    }

    /// Whether the order still counts as bought: cancelled orders do not add to what a
    /// customer spent; refunds are taken off by amount.
    pub fn counts(self) -> bool {
        self != Self::Cancelled
    }
}

/// Who sent a tracked e-commerce event, as resolution knows them: their person when known,
/// and the ids they sent, kept on what they bought so that an identify later can give it to them.
#[derive(Clone, Copy, Debug, Default)]
pub struct Visitor<'a> {
    pub person: Option<PersonId>,
    pub user_id: Option<&'a str>,
    pub anonymous_id: Option<&'a str>,
}

/// One line of an order.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct OrderLine {
    pub sku: String,
    pub name: Option<String>,
    pub category: Option<String>,
    pub quantity: i64,
    /// The unit price, in minor units.
    pub price_minor: i64,
}

/// A checked order, ready to store.
#[derive(Clone, Debug, PartialEq)]
pub struct NewOrder {
    pub reference: String,
    pub currency: CurrencyCode,
    pub lines: Vec<OrderLine>,
    pub subtotal: i64,
    pub discount: i64,
    pub tax: i64,
    pub shipping: i64,
    pub total: i64,
    pub coupon: Option<String>,
    pub placed_at: Timestamp,
}

impl NewOrder {
    pub fn items(&self) -> i64 {
        self.lines.iter().map(|l| l.quantity).sum()
    }
}

/// An order as the REST API takes it: amounts as decimal strings or numbers.
#[derive(Clone, Debug, Default, serde::Deserialize, utoipa::ToSchema)]
pub struct OrderInput {
    /// The sender's order id, unique in the workspace.
    pub order_id: Option<String>,
    /// Whose order: a person id, or the person's email or external id.
    pub person_id: Option<i64>,
    pub email: Option<String>,
    pub external_id: Option<String>,
    /// ISO 4217; USD when absent.
    pub currency: Option<String>,
    #[serde(default)]
    #[schema(value_type = Vec<Object>)]
    pub products: Vec<Value>,
    #[schema(value_type = Option<String>)]
    pub subtotal: Option<Value>,
    #[schema(value_type = Option<String>)]
    pub discount: Option<Value>,
    #[schema(value_type = Option<String>)]
    pub tax: Option<Value>,
    #[schema(value_type = Option<String>)]
    pub shipping: Option<Value>,
    #[schema(value_type = Option<String>)]
    pub total: Option<Value>,
    pub coupon: Option<String>,
    /// RFC 3339; now when absent.
    pub placed_at: Option<DateTime<Utc>>,
}

/// The order an `Order Completed` or `Order Updated` event's properties describe.
pub fn from_properties(properties: &Value, occurred_at: Timestamp) -> Result<NewOrder, FieldErrors> {
    let input = OrderInput {
        order_id: text(properties.get("order_id")).or_else(|| text(properties.get("orderId"))),
        currency: text(properties.get("currency")),
        products: properties.get("products").and_then(Value::as_array).cloned().unwrap_or_default(),
        subtotal: properties.get("subtotal").cloned(),
        discount: properties.get("discount").cloned(),
        tax: properties.get("tax").cloned(),
        shipping: properties.get("shipping").cloned(),
        total: properties
            .get("total")
            .or_else(|| properties.get("revenue"))
            .or_else(|| properties.get("value"))
            .cloned(),
        coupon: text(properties.get("coupon")),
        placed_at: Some(occurred_at),
        ..OrderInput::default()
    };
    check(&input, Utc::now())
}

/// Checks an order: an id, a known currency, lines with a sku (or product id), a positive
/// quantity and a price, amounts that are amounts. A missing subtotal is the lines' sum; a
/// missing total is subtotal − discount + tax + shipping.
pub fn check(input: &OrderInput, now: Timestamp) -> Result<NewOrder, FieldErrors> {
    let mut errors = FieldErrors::new();
    let mut fail = |field: &str, message: &str| errors.entry(field.to_owned()).or_default().push(message.to_owned());
    let reference = input.order_id.as_deref().map(str::trim).filter(|r| !r.is_empty()).map(str::to_owned);
    if reference.is_none() {
        fail("order_id", "is required");
    } else if reference.as_ref().is_some_and(|r| r.len() > 200) {
        fail("order_id", "may have at most 200 characters");
    }
    let currency = match CurrencyCode::parse(input.currency.as_deref().unwrap_or(DEFAULT_CURRENCY).trim()) {
        Ok(currency) => Some(currency),
        Err(_) => {
            fail("currency", "is not an ISO 4217 currency code");
            None
        }
    };
    let mut lines = Vec::new();
    let mut amounts = [0_i64; 5];
    if let Some(currency) = currency {
        for (n, product) in input.products.iter().enumerate() {
            match line(product, currency) {
                Ok(line) => lines.push(line),
                Err((field, message)) => fail(&format!("products[{n}].{field}"), message),
            }
        }
        let given = [&input.subtotal, &input.discount, &input.tax, &input.shipping, &input.total];
        for (slot, (name, value)) in ["subtotal", "discount", "tax", "shipping", "total"].iter().zip(given).enumerate()
        {
            match value.as_ref().filter(|v| !v.is_null()).map(|v| amount(v, currency)) {
                Some(Ok(minor)) => amounts[slot] = minor,
                Some(Err(message)) => fail(name, message),
                None => amounts[slot] = i64::MIN,
            }
        }
    }
    let (Some(reference), Some(currency), true) = (reference, currency, errors.is_empty()) else {
        return Err(errors);
    };
    let given = |minor: i64| (minor != i64::MIN).then_some(minor);
    let subtotal = given(amounts[0]).unwrap_or_else(|| lines.iter().map(|l| l.price_minor * l.quantity).sum());
    let [discount, tax, shipping] = [amounts[1], amounts[2], amounts[3]].map(|m| given(m).unwrap_or(0));
    let total = given(amounts[4]).unwrap_or(subtotal - discount + tax + shipping);
    Ok(NewOrder {
        reference,
        currency,
        lines,
        subtotal,
        discount,
        tax,
        shipping,
        total,
        coupon: input.coupon.as_deref().map(str::trim).filter(|c| !c.is_empty()).map(str::to_owned),
        placed_at: input.placed_at.unwrap_or(now),
    })
}

/// One product of an event (`products[]` of an order, or a cart event's own properties) as a
/// line: its sku (or product id), quantity (1 when absent) and unit price; or the field that is wrong.
pub fn line(product: &Value, currency: CurrencyCode) -> Result<OrderLine, (&'static str, &'static str)> {
    let sku = text(product.get("sku"))
        .or_else(|| text(product.get("product_id")))
        .or_else(|| text(product.get("productId")))
        .ok_or(("sku", "is required (or product_id)"))?;
    if sku.len() > 100 {
        return Err(("sku", "may have at most 100 characters"));
    }
    let quantity = match product.get("quantity") {
        None | Some(Value::Null) => 1,
        Some(q) => q
            .as_i64()
            .or_else(|| q.as_str().and_then(|s| s.trim().parse().ok()))
            .ok_or(("quantity", "is not a whole number"))?,
    };
    if !(1..=1_000_000).contains(&quantity) {
        return Err(("quantity", "must be between 1 and 1000000"));
    }
    let price = match product.get("price") {
        None | Some(Value::Null) => 0,
        Some(price) => amount(price, currency).map_err(|message| ("price", message))?,
    };
    Ok(OrderLine {
        sku,
        name: text(product.get("name")),
        category: text(product.get("category")),
        quantity,
        price_minor: price,
    })
}

/// An amount given as a JSON number or a decimal string, in minor units.
pub fn amount(value: &Value, currency: CurrencyCode) -> Result<i64, &'static str> {
    let raw = match value {
        Value::Number(n) => n.to_string(),
        Value::String(s) => s.clone(),
        _ => return Err("is not an amount"),
    };
    Money::parse_rounded(&raw, currency).map(|m| m.minor).map_err(|_| "is not an amount")
}

/// A readable line for a timeline: `Ordered 2 items, 84.00 EUR`.
pub fn summary(verb: &str, items: i64, total: Money) -> String {
    let noun = if items == 1 { "item" } else { "items" };
    format!("{verb} {items} {noun}, {total}")
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn an_order_completed_event_becomes_an_order_with_its_lines() {
        let at = Utc::now();
        let order = from_properties(
            &json!({
                "order_id": "50314b8e", "total": 27.50, "shipping": 3, "tax": 2, "discount": 2.5, "coupon": "hasbros",
                "currency": "EUR",
                "products": [
                    {"product_id": "507f1f77", "sku": "45790-32", "name": "Monopoly", "price": 19, "quantity": 1, "category": "Games"},
                    {"product_id": "505bd76785ebb509fc183733", "name": "Uno", "price": 3.0, "quantity": 2}
                ]
            }),
            at,
        )
        .expect("an order");
        assert_eq!(order.reference, "50314b8e");
        assert_eq!(order.currency.as_str(), "EUR");
        assert_eq!(
            (order.subtotal, order.discount, order.tax, order.shipping, order.total),
            (2500, 250, 200, 300, 2750)
        );
        assert_eq!(order.lines[0].sku, "45790-32");
        assert_eq!(order.lines[1].sku, "505bd76785ebb509fc183733");
        assert_eq!(order.items(), 3);
        assert_eq!(order.placed_at, at);
        assert_eq!(
            summary("Ordered", order.items(), Money::new(order.total, order.currency)),
            "Ordered 3 items, 27.50 EUR"
        );
    }

    #[test]
    fn a_missing_total_is_computed_and_bad_fields_are_named() {
        let order = from_properties(
            &json!({"order_id": 7, "products": [{"sku": "a", "price": "10.00", "quantity": 2}], "tax": 1}),
            Utc::now(),
        )
        .expect("an order");
        assert_eq!((order.currency.as_str(), order.subtotal, order.total), ("USD", 2000, 2100));
        let errors =
            from_properties(&json!({"currency": "XXX1", "products": [{"price": 1}]}), Utc::now()).expect_err("refused");
        assert_eq!(errors.keys().collect::<Vec<_>>(), ["currency", "order_id"]);
        let errors = from_properties(
            &json!({"order_id": "1", "products": [{"sku": "a", "quantity": 0}], "total": "x"}),
            Utc::now(),
        )
        .expect_err("refused");
        assert_eq!(errors.keys().collect::<Vec<_>>(), ["products[0].quantity", "total"]);
    }
}
