//! Carts as the e-commerce events of the Segment spec describe them: what each event does to
//! the visitor's cart ([`CartChange`]), which cart it names ([`Visitor::key`]), and the
//! workspace's abandonment setting.

use rapport_core::{CartId, CurrencyCode, Money, PersonId, Timestamp};

use serde_json::Value;

use crate::order::{OrderLine, Visitor};
use crate::tracking::text;

/// How long a cart with items may go without a checkout before it counts as abandoned, when
/// the workspace has not said.
pub const DEFAULT_ABANDON_AFTER_MINUTES: i64 = 60;
/// The longest abandonment time a workspace may set: 30 days.
pub const MAX_ABANDON_AFTER_MINUTES: i64 = 43_200;

/// The tracked events that change carts.
pub const CART_EVENTS: [&str; 5] =
    ["Product Added", "Product Removed", "Cart Viewed", "Checkout Started", "Order Completed"];

#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum CartStatus {
    /// Items are being put in or taken out.
    Open,
    /// The visitor started checking out.
    Checkout,
    /// The cart became an order; the next item added starts it afresh.
    Ordered,
}

impl CartStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Checkout => "checkout",
            Self::Ordered => "ordered",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        [Self::Open, Self::Checkout, Self::Ordered].into_iter().find(|s| s.as_str() == raw.trim())
    }
}

/// A cart as the API and the pages show it.
#[derive(Clone, Debug, serde::Serialize, utoipa::ToSchema)]
pub struct Cart {
    #[schema(value_type = i64)]
    pub id: CartId,
    #[schema(value_type = Option<i64>)]
    pub person_id: Option<PersonId>,
    pub status: CartStatus,
    /// ISO 4217: the currency of the first item put in.
    pub currency: String,
    /// How many items (the sum of the lines' quantities).
    pub items: i64,
    /// What the items cost, in minor units.
    pub value_minor: i64,
    /// The order the cart became.
    pub order_id: Option<String>,
    #[schema(value_type = String, format = DateTime)]
    pub last_activity_at: Timestamp,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub checkout_at: Option<Timestamp>,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub ordered_at: Option<Timestamp>,
    /// Set when the cart had items and saw no checkout for the workspace's abandonment time;
    /// cleared by new activity.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub abandoned_at: Option<Timestamp>,
    pub lines: Vec<OrderLine>,
}

impl Cart {
    pub fn money(&self, minor: impl std::borrow::Borrow<i64>) -> String {
        let minor = *minor.borrow();
        CurrencyCode::parse(&self.currency)
            .map_or_else(|_| format!("{minor} {}", self.currency), |c| Money::new(minor, c).to_string())
    }

    /// `open`, `checkout`, `ordered`, or `abandoned` for an open cart marked so.
    pub fn state(&self) -> &'static str {
        match (self.status, self.abandoned_at) {
            (CartStatus::Open, Some(_)) => "abandoned",
            (status, _) => status.as_str(),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct CartSettings {
    /// Minutes a cart with items may go without a checkout before it counts as abandoned.
    pub abandon_after_minutes: i64,
}

/// The abandonment time as typed or sent: whole minutes from 1 to 30 days.
pub fn abandon_after(value: &Value) -> Result<i64, &'static str> {
    let minutes = match value {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
    .ok_or("is not a whole number of minutes")?;
    if (1..=MAX_ABANDON_AFTER_MINUTES).contains(&minutes) {
        Ok(minutes)
    } else {
        Err("must be between 1 and 43200 minutes (30 days)")
    }
}

/// The carts a visitor may hold without naming one: under their anonymous id (what a browser
/// sends on every call), their user id, or their person.
pub fn keys_of(visitor: Visitor<'_>) -> Vec<String> {
    let mut keys = Vec::new();
    if let Some(anonymous) = visitor.anonymous_id {
        keys.push(format!("anonymous:{anonymous}"));
    }
    if let Some(user) = visitor.user_id {
        keys.push(format!("user:{user}"));
    }
    if let Some(person) = visitor.person {
        keys.push(format!("person:{person}"));
    }
    keys
}

/// The cart an event puts items in: the sender's `cart_id`, else the visitor's first key.
pub fn key_of(visitor: Visitor<'_>, cart_id: Option<&str>) -> Option<String> {
    cart_id.map(|id| format!("cart:{id}")).or_else(|| keys_of(visitor).into_iter().next())
}

/// What one tracked event does to a cart.
#[derive(Clone, Debug, PartialEq)]
pub enum CartChange {
    /// `Product Added`: this many more of the product.
    Add(OrderLine),
    /// `Product Removed`: this many fewer, or the whole line when no quantity is given.
    Remove { sku: String, quantity: Option<i64> },
    /// `Cart Viewed` with its products: the cart holds exactly these.
    Replace(Vec<OrderLine>),
    /// `Checkout Started`, with the products checked out when it lists them.
    Checkout(Option<Vec<OrderLine>>),
    /// `Order Completed`: the cart became this order.
    Ordered(Option<String>),
}

/// The cart an event names by `cart_id`, and what it does to it; `Ok(None)` when the event
/// changes no cart (a `Cart Viewed` that lists nothing).
pub fn change_of(name: &str, properties: &Value) -> Result<Option<CartChange>, (String, &'static str)> {
    let currency = currency_of(properties);
    let lines = |products: &Value| -> Result<Vec<OrderLine>, (String, &'static str)> {
        let mut lines: Vec<OrderLine> = Vec::new();
        for (n, product) in products.as_array().into_iter().flatten().enumerate() {
            let line = crate::order::line(product, currency).map_err(|(f, m)| (format!("products[{n}].{f}"), m))?;
            match lines.iter_mut().find(|l| l.sku == line.sku) {
                Some(same) => same.quantity += line.quantity,
                None => lines.push(line),
            }
        }
        Ok(lines)
    };
    Ok(match name {
        "Product Added" => {
            Some(CartChange::Add(crate::order::line(properties, currency).map_err(|(f, m)| (f.to_owned(), m))?))
        }
        "Product Removed" => {
            let line = crate::order::line(properties, currency).map_err(|(f, m)| (f.to_owned(), m))?;
            let quantity = properties.get("quantity").filter(|q| !q.is_null()).map(|_| line.quantity);
            Some(CartChange::Remove { sku: line.sku, quantity })
        }
        "Cart Viewed" => properties.get("products").map(lines).transpose()?.map(CartChange::Replace),
        "Checkout Started" => Some(CartChange::Checkout(properties.get("products").map(lines).transpose()?)),
        "Order Completed" => Some(CartChange::Ordered(text(properties.get("order_id")))),
        _ => None,
    })
}

/// The currency an event's amounts are in: its `currency`, else the spec's USD.
pub fn currency_of(properties: &Value) -> CurrencyCode {
    text(properties.get("currency"))
        .and_then(|c| CurrencyCode::parse(&c).ok())
        .unwrap_or_else(|| CurrencyCode::parse(crate::order::DEFAULT_CURRENCY).expect("USD is a currency"))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn cart_events_read_as_changes_to_the_cart() {
        let added = change_of(
            "Product Added",
            &json!({"cart_id": "c1", "sku": "TR-X", "name": "Trail Runner X", "price": 42, "quantity": 2, "currency": "EUR"}),
        )
        .expect("read");
        let Some(CartChange::Add(line)) = added else { panic!("an add: {added:?}") };
        assert_eq!((line.sku.as_str(), line.quantity, line.price_minor), ("TR-X", 2, 4200));
        assert_eq!(
            change_of("Product Removed", &json!({"product_id": "TR-X"})).expect("read"),
            Some(CartChange::Remove { sku: "TR-X".into(), quantity: None })
        );
        assert_eq!(
            change_of("Product Removed", &json!({"sku": "TR-X", "quantity": 1})).expect("read"),
            Some(CartChange::Remove { sku: "TR-X".into(), quantity: Some(1) })
        );
        let viewed =
            change_of("Cart Viewed", &json!({"products": [{"sku": "a", "price": 1}, {"sku": "a", "quantity": 2}]}))
                .expect("read");
        let Some(CartChange::Replace(lines)) = viewed else { panic!("a replace: {viewed:?}") };
        assert_eq!((lines.len(), lines[0].quantity), (1, 3));
        assert_eq!(change_of("Cart Viewed", &json!({})).expect("read"), None);
        assert_eq!(
            change_of("Checkout Started", &json!({"order_id": "o"})).expect("read"),
            Some(CartChange::Checkout(None))
        );
        assert_eq!(
            change_of("Order Completed", &json!({"order_id": 7})).expect("read"),
            Some(CartChange::Ordered(Some("7".into())))
        );
        assert_eq!(
            change_of("Product Added", &json!({"name": "no sku"})),
            Err(("sku".to_owned(), "is required (or product_id)"))
        );
    }

    #[test]
    fn a_visitor_keeps_one_cart_per_id_unless_the_sender_names_one() {
        let visitor = Visitor { person: Some(PersonId::new(7)), user_id: Some("u1"), anonymous_id: Some("a1") };
        assert_eq!(keys_of(visitor), ["anonymous:a1", "user:u1", "person:7"]);
        assert_eq!(key_of(visitor, None).as_deref(), Some("anonymous:a1"));
        assert_eq!(key_of(visitor, Some("c9")).as_deref(), Some("cart:c9"));
        let server = Visitor { person: None, user_id: Some("u1"), anonymous_id: None };
        assert_eq!(key_of(server, None).as_deref(), Some("user:u1"));
    }

    #[test]
    fn the_abandonment_time_is_whole_minutes_up_to_thirty_days() {
        assert_eq!(abandon_after(&json!(90)), Ok(90));
        assert_eq!(abandon_after(&json!(" 15 ")), Ok(15));
        assert!(abandon_after(&json!(0)).is_err());
        assert!(abandon_after(&json!(43_201)).is_err());
        assert!(abandon_after(&json!("soon")).is_err());
    }
}
