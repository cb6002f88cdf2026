//! Custom fields' types: a definition ([`CustomField`]), what a client sends to create or change
//! one ([`FieldSpec`]), and the checking of values against a definition, which gives each value
//! its one stored form and the typed, indexed forms filters and sorts read ([`IndexValue`]).

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use rapport_core::{CountryCode, CurrencyCode, Email, FieldId, Money, Phone, Timestamp};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// The objects that carry custom fields.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Object {
    Person,
    Company,
}

impl Object {
    pub const ALL: [Self; 2] = [Self::Person, Self::Company];

    /// The name field rules, audit rows and custom values use.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Person => "person",
            Self::Company => "company",
        }
    }

    /// The module permissions on its records are granted on.
    pub fn module(self) -> &'static str {
        match self {
            Self::Person => "people",
            Self::Company => "companies",
        }
    }

    /// The object named in a path (`people`, `companies`) or a definition (`person`).
    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "person" | "people" => Some(Self::Person),
            "company" | "companies" => Some(Self::Company),
            _ => None,
        }
    }
}

/// What a custom field holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CustomKind {
    Text,
    LongText,
    /// Any JSON number.
    Number,
    /// A decimal kept exactly, as a string such as `"12.50"`.
    Decimal,
    /// `{"amount": "19.99", "currency": "EUR"}`; a bare amount takes the workspace's currency.
    Money,
    /// `YYYY-MM-DD`.
    Date,
    /// RFC 3339, stored in UTC.
    DateTime,
    Boolean,
    /// One of the field's options.
    Select,
    /// A list of the field's options.
    MultiSelect,
    Url,
    Email,
    /// Stored as E.164, read in the workspace's country when national.
    Phone,
    /// The id of a person or company of the workspace (the field's `target`).
    Relation,
}

impl CustomKind {
    pub const ALL: [Self; 14] = [
        Self::Text,
        Self::LongText,
        Self::Number,
        Self::Decimal,
        Self::Money,
        Self::Date,
        Self::DateTime,
        Self::Boolean,
        Self::Select,
        Self::MultiSelect,
        Self::Url,
        Self::Email,
        Self::Phone,
        Self::Relation,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Text => "text",
            Self::LongText => "long_text",
            Self::Number => "number",
            Self::Decimal => "decimal",
            Self::Money => "money",
            Self::Date => "date",
            Self::DateTime => "date_time",
            Self::Boolean => "boolean",
            Self::Select => "select",
            Self::MultiSelect => "multi_select",
            Self::Url => "url",
            Self::Email => "email",
            Self::Phone => "phone",
            Self::Relation => "relation",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|kind| kind.as_str() == raw)
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Text => "Text",
            Self::LongText => "Long text",
            Self::Number => "Number",
            Self::Decimal => "Decimal",
            Self::Money => "Money",
            Self::Date => "Date",
            Self::DateTime => "Date and time",
            Self::Boolean => "Yes / no",
            Self::Select => "Single select",
            Self::MultiSelect => "Multi select",
            Self::Url => "URL",
            Self::Email => "Email",
            Self::Phone => "Phone",
            Self::Relation => "Relation",
        }
    }

    /// Whether a filter compares this kind's values as numbers (else as folded text).
    pub fn numeric(self) -> bool {
        matches!(self, Self::Number | Self::Decimal | Self::Money | Self::Boolean | Self::Relation)
    }

    /// Whether a record can hold several values of this kind, so it cannot be a sort key.
    pub fn many(self) -> bool {
        self == Self::MultiSelect
    }
}

/// A custom field as defined in a workspace.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct CustomField {
    pub id: FieldId,
    pub object: Object,
    /// The name in the API, CSV headers, filters and field rules; renaming changes it, never the
    /// values.
    pub key: String,
    pub label: String,
    pub kind: CustomKind,
    /// The choices of a select or multi select.
    pub options: Vec<String>,
    /// The object a relation points at.
    pub target: Option<Object>,
    pub required: bool,
    pub unique: bool,
    /// What a new record gets when the field is not given.
    pub default: Option<Value>,
    pub help: Option<String>,
    pub position: i64,
    /// Set while retired: the field is hidden and refused, its values kept.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub retired_at: Option<Timestamp>,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: Timestamp,
}

impl CustomField {
    pub fn active(&self) -> bool {
        self.retired_at.is_none()
    }
}

/// A field definition as a client writes it; on update, absent members keep their value.
#[derive(Clone, Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FieldSpec {
    /// `person` or `company`; given on create, fixed after.
    #[schema(value_type = Option<Object>)]
    pub object: Option<String>,
    /// Lower-case letters, digits and `_`, starting with a letter; not a built-in field's name.
    pub key: Option<String>,
    pub label: Option<String>,
    #[schema(value_type = Option<CustomKind>)]
    pub kind: Option<String>,
    pub options: Option<Vec<String>>,
    #[schema(value_type = Option<Object>)]
    pub target: Option<String>,
    pub required: Option<bool>,
    pub unique: Option<bool>,
    /// `null` clears the default.
    #[serde(default, with = "double_option")]
    #[schema(value_type = Option<Object>)]
    pub default: Option<Option<Value>>,
    pub help: Option<String>,
    pub position: Option<i64>,
    /// `true` retires the field, `false` brings it back.
    pub retired: Option<bool>,
}

/// Tells an absent member (`None`) from one sent as `null` (`Some(None)`).
mod double_option {
    use serde::{Deserialize, Deserializer};

    pub fn deserialize<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<Option<T>>, D::Error> {
        Option::<T>::deserialize(d).map(Some)
    }
}

/// What checking a value needs to know about its workspace.
#[derive(Clone, Copy, Debug)]
pub struct ValueContext {
    pub region: CountryCode,
    pub currency: CurrencyCode,
}

/// A value's indexed forms: folded text or a number, and the key uniqueness is decided on.
#[derive(Clone, Debug, PartialEq)]
pub struct IndexValue {
    pub text: Option<String>,
    pub number: Option<f64>,
}

/// Long texts are indexed by their beginning only: enough to sort and to find by prefix.
const INDEXED_TEXT: usize = 200;

/// Checks one value against `field`, answering its stored form or why it is refused.
pub fn check(field: &CustomField, raw: &Value, ctx: ValueContext) -> Result<Value, String> {
    let text = || -> Result<String, String> {
        match raw {
            Value::String(s) if !s.trim().is_empty() => Ok(s.trim().to_owned()),
            Value::Number(n) => Ok(n.to_string()),
            _ => Err("must be text".into()),
        }
    };
    let stored = match field.kind {
        CustomKind::Text | CustomKind::LongText => Value::String(text()?),
        CustomKind::Number => match raw {
            Value::Number(n) => Value::Number(n.clone()),
            Value::String(s) => {
                let n: f64 = s.trim().parse().map_err(|_| "must be a number".to_owned())?;
                serde_json::Number::from_f64(n).map(Value::Number).ok_or("must be a finite number")?
            }
            _ => return Err("must be a number".into()),
        },
        CustomKind::Decimal => Value::String(decimal(&text()?)?),
        CustomKind::Money => {
            let (amount, currency) = match raw {
                Value::Object(map) => (
                    map.get("amount").map(|a| a.as_str().map_or_else(|| a.to_string(), str::to_owned)),
                    map.get("currency").and_then(Value::as_str).map(str::to_owned),
                ),
                Value::String(s) => match s.split_whitespace().collect::<Vec<_>>()[..] {
                    [amount, code] if code.len() == 3 => (Some(amount.to_owned()), Some(code.to_owned())),
                    [code, amount] if code.len() == 3 && code.chars().all(|c| c.is_ascii_alphabetic()) => {
                        (Some(amount.to_owned()), Some(code.to_owned()))
                    }
                    _ => (Some(s.trim().to_owned()), None),
                },
                other => (Some(other.to_string()), None),
            };
            let currency = match currency {
                Some(code) => CurrencyCode::parse(&code).map_err(|e| format!("currency {e}"))?,
                None => ctx.currency,
            };
            let amount = amount.ok_or("must be an amount such as {\"amount\": \"19.99\", \"currency\": \"EUR\"}")?;
            let money = Money::parse_decimal(&amount, currency).map_err(|e| e.to_string())?;
            money_json(money)
        }
        CustomKind::Date => {
            let day = NaiveDate::parse_from_str(&text()?, "%Y-%m-%d").map_err(|_| "must be a date as YYYY-MM-DD")?;
            Value::String(day.format("%Y-%m-%d").to_string())
        }
        CustomKind::DateTime => {
            let at = DateTime::parse_from_rfc3339(&text()?).map_err(|_| "must be a date and time as RFC 3339")?;
            Value::String(at.with_timezone(&Utc).format("%Y-%m-%dT%H:%M:%SZ").to_string())
        }
        CustomKind::Boolean => match raw {
            Value::Bool(b) => Value::Bool(*b),
            Value::String(s) if matches!(s.as_str(), "true" | "on" | "yes" | "1") => Value::Bool(true),
            Value::String(s) if matches!(s.as_str(), "false" | "off" | "no" | "0") => Value::Bool(false),
            _ => return Err("must be true or false".into()),
        },
        CustomKind::Select => Value::String(option(field, &text()?)?),
        CustomKind::MultiSelect => {
            let items: Vec<String> = match raw {
                Value::Array(items) => items.iter().filter_map(Value::as_str).map(str::to_owned).collect(),
                Value::String(s) => s.split(',').map(str::to_owned).collect(),
                _ => return Err("must be a list of options".into()),
            };
            let mut chosen: Vec<String> = Vec::new();
            for item in items.iter().filter(|i| !i.trim().is_empty()) {
                let item = option(field, item)?;
                if !chosen.contains(&item) {
                    chosen.push(item);
                }
            }
            json!(chosen)
        }
        CustomKind::Url => Value::String(crate::profile::web_url(&text()?)?.to_string()),
        CustomKind::Email => Value::String(Email::parse(&text()?).map_err(|e| e.to_string())?.as_str().to_owned()),
        CustomKind::Phone => {
            Value::String(Phone::parse(&text()?, ctx.region).map_err(|e| e.to_string())?.as_e164().to_owned())
        }
        CustomKind::Relation => match raw {
            Value::Number(n) if n.as_i64().is_some_and(|id| id > 0) => Value::Number(n.clone()),
            Value::String(s) => {
                Value::from(s.trim().parse::<i64>().ok().filter(|id| *id > 0).ok_or("must be a record id")?)
            }
            _ => return Err("must be a record id".into()),
        },
    };
    Ok(stored)
}

/// A stored value's indexed forms (several for a multi select, none for an empty list).
pub fn index_values(kind: CustomKind, stored: &Value) -> Vec<IndexValue> {
    let folded = |s: &str| IndexValue {
        text: Some(s.chars().take(INDEXED_TEXT).collect::<String>().to_lowercase()),
        number: None,
    };
    let number = |n: Option<f64>| IndexValue { text: None, number: n };
    match (kind, stored) {
        (CustomKind::MultiSelect, Value::Array(items)) => items.iter().filter_map(Value::as_str).map(folded).collect(),
        // Indexed in major units, so a filter "above 10000" reads as the amount a person types.
        (CustomKind::Money, Value::Object(map)) => {
            let currency = map.get("currency").and_then(Value::as_str).and_then(|c| CurrencyCode::parse(c).ok());
            let minor = map.get("minor").and_then(Value::as_f64);
            vec![IndexValue {
                text: currency.map(|c| c.as_str().to_owned()),
                number: minor.zip(currency).map(|(m, c)| m / 10f64.powi(i32::try_from(c.exponent()).unwrap_or(2))),
            }]
        }
        (CustomKind::Boolean, Value::Bool(b)) => vec![number(Some(f64::from(u8::from(*b))))],
        (CustomKind::Decimal, Value::String(s)) => vec![number(s.parse().ok())],
        (_, Value::Number(n)) => vec![number(n.as_f64())],
        (_, Value::String(s)) => vec![folded(s)],
        _ => Vec::new(),
    }
}

/// How a stored value reads back in the API: money as a decimal amount and its currency.
pub fn shown(kind: CustomKind, stored: &Value) -> Value {
    match (kind, stored) {
        (CustomKind::Money, Value::Object(map)) => {
            let currency = map.get("currency").and_then(Value::as_str).and_then(|c| CurrencyCode::parse(c).ok());
            let minor = map.get("minor").and_then(Value::as_i64);
            match (minor, currency) {
                (Some(minor), Some(currency)) => {
                    let text = Money::new(minor, currency).to_string();
                    let amount = text.split(' ').next().unwrap_or_default().to_owned();
                    json!({ "amount": amount, "currency": currency.as_str() })
                }
                _ => stored.clone(),
            }
        }
        _ => stored.clone(),
    }
}

/// A stored value as a form's input holds it, read back by [`check`] unchanged.
pub fn form_text(kind: CustomKind, stored: &Value) -> String {
    match (kind, stored) {
        (CustomKind::Boolean, Value::Bool(b)) => b.to_string(),
        _ => text_of(kind, stored),
    }
}

/// A stored value as one line of text for pages.
pub fn text_of(kind: CustomKind, stored: &Value) -> String {
    match (kind, shown(kind, stored)) {
        (CustomKind::Money, Value::Object(map)) => format!(
            "{} {}",
            map.get("amount").and_then(Value::as_str).unwrap_or_default(),
            map.get("currency").and_then(Value::as_str).unwrap_or_default()
        ),
        (CustomKind::Boolean, Value::Bool(b)) => if b { "Yes" } else { "No" }.to_owned(),
        (_, Value::Array(items)) => items.iter().filter_map(Value::as_str).collect::<Vec<_>>().join(", "),
        (_, Value::String(s)) => s,
        (_, other) => other.to_string(),
    }
}

fn money_json(money: Money) -> Value {
    json!({ "minor": money.minor, "currency": money.currency.as_str() })
}

/// A decimal in its shortest exact form: `"012.50"` is `"12.50"`; no exponent, no float.
fn decimal(raw: &str) -> Result<String, String> {
    let (sign, digits) = raw.strip_prefix('-').map_or(("", raw), |rest| ("-", rest));
    let (whole, fraction) = digits.split_once('.').unwrap_or((digits, ""));
    let ok = !whole.is_empty()
        && whole.bytes().all(|b| b.is_ascii_digit())
        && fraction.bytes().all(|b| b.is_ascii_digit())
        && whole.len() + fraction.len() <= 30
        && !(digits.contains('.') && fraction.is_empty());
    if !ok {
        return Err("must be a decimal number such as 12.50".into());
    }
    let whole = whole.trim_start_matches('0');
    let whole = if whole.is_empty() { "0" } else { whole };
    Ok(if fraction.is_empty() { format!("{sign}{whole}") } else { format!("{sign}{whole}.{fraction}") })
}

fn option(field: &CustomField, raw: &str) -> Result<String, String> {
    let raw = raw.trim();
    field
        .options
        .iter()
        .find(|o| o.eq_ignore_ascii_case(raw))
        .cloned()
        .ok_or_else(|| format!("must be one of {}", field.options.join(", ")))
}

/// A field key's shape: what CSV headers, filters and JSON keys can all carry unquoted.
pub fn valid_key(key: &str) -> bool {
    let mut chars = key.chars();
    chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && key.len() <= 63
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

/// The stored values of a record by field id (the `custom` column), retired fields' included.
pub type Stored = BTreeMap<String, Value>;
