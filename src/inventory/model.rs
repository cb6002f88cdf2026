//! Inventory values: skus and locations as checked text, the reasons stock moves, the
//! [`Movement`] other modules hand to [`super::apply`], levels and ledger rows as read back, and
//! the checked inputs of setting and adjusting a level.

use rapport_core::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::http::FieldErrors;
use crate::profile::Parsed;

/// The threshold of a level that has none of its own, in a workspace that has set no default.
pub const DEFAULT_LOW_STOCK_THRESHOLD: i64 = 5;

/// The location a movement without one goes to, when the sku has a level there.
pub const DEFAULT_LOCATION: &str = "default";

/// The largest quantity, threshold or delta accepted: a trillion units is far beyond any
/// stock, and keeps every sum of movements well inside the table's bounds.
pub const MAX_QUANTITY: i64 = 1_000_000_000_000;

const MAX_CHARS: usize = 100;
const NOTE_MAX_CHARS: usize = 500;

fn label(raw: &str) -> Result<String, &'static str> {
    let text = raw.trim();
    if text.is_empty() {
        Err("must not be empty")
    } else if text.chars().count() > MAX_CHARS {
        Err("must be at most 100 characters")
    } else if text.chars().any(char::is_control) {
        Err("must not contain control characters")
    } else {
        Ok(text.to_owned())
    }
}

/// A stock keeping unit as the shop names it: 1 to 100 characters, trimmed.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Sku(String);

impl Sku {
    pub fn parse(raw: &str) -> Result<Self, &'static str> {
        label(raw).map(Self)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Where stock is held (a warehouse, a shop): 1 to 100 characters, trimmed.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Location(String);

impl Location {
    pub fn parse(raw: &str) -> Result<Self, &'static str> {
        label(raw).map(Self)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Why stock moved; stored by its snake_case name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MovementReason {
    /// Set to a counted or externally known quantity.
    Set,
    /// Corrected by hand (damage, a recount, a find).
    Adjust,
    /// Taken by an order.
    Order,
    /// Given back by a cancelled order.
    Cancel,
    /// Given back by a returned item.
    Return,
}

impl MovementReason {
    pub const ALL: [Self; 5] = [Self::Set, Self::Adjust, Self::Order, Self::Cancel, Self::Return];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Set => "set",
            Self::Adjust => "adjust",
            Self::Order => "order",
            Self::Cancel => "cancel",
            Self::Return => "return",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|reason| reason.as_str() == raw)
    }
}

/// One change of stock, as the orders module (or an adjustment) hands it in. `location: None`
/// is the sku's default location; see [`super::apply`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Movement {
    pub sku: String,
    pub location: Option<String>,
    pub delta: i64,
    pub reason: MovementReason,
    /// What caused it, e.g. `order:123`.
    pub reference: Option<String>,
}

/// A sku's stock at one location.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct StockLevel {
    pub id: i64,
    pub sku: String,
    pub location: String,
    /// Below zero when more was sold than was held.
    pub quantity: i64,
    /// The level's own threshold; `null` falls back to the workspace's default.
    pub low_stock_threshold: Option<i64>,
    /// The threshold in effect: the level's own or the workspace's default.
    pub threshold: i64,
    /// The quantity is at or below the threshold in effect.
    pub low: bool,
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: Timestamp,
}

/// One row of the ledger: a change of a level and why it happened.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct StockMovement {
    pub id: i64,
    pub sku: String,
    pub location: String,
    pub delta: i64,
    pub quantity_after: i64,
    pub reason: MovementReason,
    pub reference: Option<String>,
    pub note: Option<String>,
    /// Who caused it: `user:ID`, `token:ID:user:ID` or `system:…`.
    pub actor: String,
    #[schema(value_type = String, format = DateTime)]
    pub at: Timestamp,
}

/// The workspace's inventory settings.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct InventorySettings {
    /// The threshold of every level without one of its own.
    pub low_stock_threshold: i64,
}

/// A whole number in `min..=MAX_QUANTITY`, or why the value is not one.
fn whole(value: &Value, min: i64) -> Result<i64, &'static str> {
    let number = match value {
        Value::Null => return Err("is required"),
        Value::Number(n) => n.as_i64().ok_or("must be an integer")?,
        _ => return Err("must be an integer"),
    };
    if number > MAX_QUANTITY || number < min {
        return Err(if min == 0 {
            "must be between 0 and 1000000000000"
        } else {
            "must be between -1000000000000 and 1000000000000"
        });
    }
    Ok(number)
}

/// A threshold: a whole number from 0, or (where `null` is allowed) none.
pub fn threshold(value: &Value) -> Result<i64, &'static str> {
    whole(value, 0)
}

/// Setting a level, as a client sends it.
#[derive(Clone, Debug, Default, Deserialize, utoipa::ToSchema)]
pub struct SetStockInput {
    /// The quantity now held.
    #[serde(default)]
    #[schema(value_type = i64)]
    pub quantity: Value,
    /// The level's own threshold; `null` falls back to the workspace's default, absent keeps it.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<i64>)]
    pub low_stock_threshold: Option<Value>,
}

/// A key that is present deserialises to `Some`, even when its value is `null`, so that an
/// absent threshold (kept) and a `null` one (cleared) differ.
fn present<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Option<Value>, D::Error> {
    Value::deserialize(deserializer).map(Some)
}

/// Setting a level, checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SetStock {
    pub sku: Sku,
    pub location: Location,
    pub quantity: i64,
    /// `None` keeps the level's threshold; `Some(None)` clears it.
    pub threshold: Option<Option<i64>>,
}

impl SetStock {
    pub fn parse(sku: &str, location: &str, input: &SetStockInput) -> Result<Self, FieldErrors> {
        let mut parsed = Parsed::default();
        let sku = parsed.field("sku", Sku::parse(sku));
        let location = parsed.field("location", Location::parse(location));
        let quantity = parsed.field("quantity", whole(&input.quantity, -MAX_QUANTITY));
        let threshold = match &input.low_stock_threshold {
            None => None,
            Some(Value::Null) => Some(None),
            Some(value) => Some(parsed.field("low_stock_threshold", threshold(value))),
        };
        match (sku, location, quantity) {
            (Some(sku), Some(location), Some(quantity)) => parsed.finish(Self { sku, location, quantity, threshold }),
            _ => Err(parsed.finish(()).err().unwrap_or_default()),
        }
    }
}

/// Adjusting a level, as a client sends it.
#[derive(Clone, Debug, Default, Deserialize, utoipa::ToSchema)]
pub struct AdjustInput {
    /// Added to the quantity; negative to take away. Not zero.
    #[serde(default)]
    #[schema(value_type = i64)]
    pub delta: Value,
    /// `adjust` (the default), `order`, `cancel` or `return`.
    pub reason: Option<String>,
    /// Why, in a few words (at most 500 characters).
    pub note: Option<String>,
}

/// Adjusting a level, checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Adjustment {
    pub sku: Sku,
    pub location: Location,
    pub delta: i64,
    pub reason: MovementReason,
    pub note: Option<String>,
}

impl Adjustment {
    pub fn parse(sku: &str, location: &str, input: &AdjustInput) -> Result<Self, FieldErrors> {
        let mut parsed = Parsed::default();
        let sku = parsed.field("sku", Sku::parse(sku));
        let location = parsed.field("location", Location::parse(location));
        let delta = parsed.field("delta", whole(&input.delta, -MAX_QUANTITY).and_then(non_zero));
        let reason = match input.reason.as_deref().map(str::trim) {
            None | Some("") => Some(MovementReason::Adjust),
            Some(raw) => parsed.field(
                "reason",
                MovementReason::parse(raw)
                    .filter(|reason| *reason != MovementReason::Set)
                    .ok_or("must be adjust, order, cancel or return"),
            ),
        };
        let note = input.note.as_deref().map(str::trim).filter(|note| !note.is_empty());
        if note.is_some_and(|note| note.chars().count() > NOTE_MAX_CHARS) {
            parsed.error("note", "must be at most 500 characters");
        }
        match (sku, location, delta, reason) {
            (Some(sku), Some(location), Some(delta), Some(reason)) => {
                parsed.finish(Self { sku, location, delta, reason, note: note.map(str::to_owned) })
            }
            _ => Err(parsed.finish(()).err().unwrap_or_default()),
        }
    }
}

fn non_zero(delta: i64) -> Result<i64, &'static str> {
    if delta == 0 { Err("must not be 0") } else { Ok(delta) }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn skus_and_locations_are_trimmed_and_bounded() {
        assert_eq!(Sku::parse("  TSHIRT-M ").map(|s| s.0), Ok("TSHIRT-M".into()));
        assert!(Sku::parse("   ").is_err());
        assert!(Sku::parse(&"x".repeat(101)).is_err());
        assert!(Location::parse(&"é".repeat(100)).is_ok());
        assert!(Location::parse("a\nb").is_err());
    }

    #[test]
    fn setting_names_every_bad_field_and_tells_a_cleared_threshold_from_a_kept_one() {
        let input: SetStockInput = serde_json::from_value(json!({"quantity": "7", "low_stock_threshold": -1})).unwrap();
        let errors = SetStock::parse("", "main", &input).unwrap_err();
        assert_eq!(errors.keys().collect::<Vec<_>>(), ["low_stock_threshold", "quantity", "sku"]);
        let kept: SetStockInput = serde_json::from_value(json!({"quantity": 7})).unwrap();
        assert_eq!(SetStock::parse("A", "main", &kept).unwrap().threshold, None);
        let cleared: SetStockInput =
            serde_json::from_value(json!({"quantity": 7, "low_stock_threshold": null})).unwrap();
        assert_eq!(SetStock::parse("A", "main", &cleared).unwrap().threshold, Some(None));
        let set: SetStockInput = serde_json::from_value(json!({"quantity": -2, "low_stock_threshold": 3})).unwrap();
        assert_eq!(
            SetStock::parse("A", "main", &set).unwrap(),
            SetStock {
                sku: Sku("A".into()),
                location: Location("main".into()),
                quantity: -2,
                threshold: Some(Some(3)),
            }
        );
    }

    #[test]
    fn an_adjustment_needs_a_non_zero_delta_and_is_never_a_set() {
        let input: AdjustInput = serde_json::from_value(json!({"delta": 0, "reason": "set"})).unwrap();
        let errors = Adjustment::parse("A", "main", &input).unwrap_err();
        assert_eq!(errors.keys().collect::<Vec<_>>(), ["delta", "reason"]);
        let input: AdjustInput = serde_json::from_value(json!({"delta": -3, "note": " broken "})).unwrap();
        let adjustment = Adjustment::parse("A", "main", &input).unwrap();
        assert_eq!(
            (adjustment.delta, adjustment.reason, adjustment.note.as_deref()),
            (-3, MovementReason::Adjust, Some("broken"))
        );
    }
}
