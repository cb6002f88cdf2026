//! The filter language of list views and its parse: a condition tree in JSON
//! (`{"and": [...]}`, `{"or": [...]}`, `{"not": …}`, `{"field", "op", "value"}`) checked
//! against an object's fields, a sort key, and the opaque cursor of a sorted page.

use base64::Engine;
use chrono::{Duration, NaiveDate, Utc};
use serde_json::{Value, json};

use crate::field::{CustomField, CustomKind};

/// How a field's values compare, which decides the operators it takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FieldType {
    Text,
    Number,
    Date,
    DateTime,
    /// One of a fixed set of words (lifecycle stage, a select).
    Choice,
    /// A list of words (tags, a multi select).
    Tags,
    /// A member of the workspace, by user id (`"me"` is the caller).
    User,
    Boolean,
}

/// A built-in field a list can filter or sort on: its vocabulary key, its column and type.
#[derive(Clone, Copy, Debug)]
pub struct Column {
    pub key: &'static str,
    pub column: &'static str,
    pub kind: FieldType,
    /// Whether an index serves sorting on it at scale.
    pub sortable: bool,
}

/// An object's table and what a list may filter and sort it on.
#[derive(Clone, Copy, Debug)]
pub struct Table {
    pub name: &'static str,
    /// The object its custom values are kept under.
    pub object: crate::field::Object,
    pub columns: &'static [Column],
}

/// The field a condition or sort names.
#[derive(Clone, Debug)]
pub enum Target {
    Column(Column),
    Custom { id: i64, kind: FieldType, numeric: bool },
}

impl Target {
    pub fn kind(&self) -> FieldType {
        match self {
            Self::Column(c) => c.kind,
            Self::Custom { kind, .. } => *kind,
        }
    }
}

/// An operand as bound into a query.
#[derive(Clone, Debug, PartialEq)]
pub enum Operand {
    Text(String),
    Number(f64),
    Int(i64),
    Bool(bool),
}

#[derive(Clone, Debug)]
pub enum Op {
    Is(Operand),
    IsNot(Operand),
    In(Vec<Operand>),
    NotIn(Vec<Operand>),
    Contains(String),
    NotContains(String),
    StartsWith(String),
    Lt(Operand),
    Lte(Operand),
    Gt(Operand),
    Gte(Operand),
    Between(Operand, Operand),
    HasAny(Vec<Operand>),
    HasAll(Vec<Operand>),
    HasNone(Vec<Operand>),
    IsEmpty,
    IsNotEmpty,
}

/// A checked condition tree.
#[derive(Clone, Debug)]
pub enum Filter {
    All(Vec<Filter>),
    Any(Vec<Filter>),
    Not(Box<Filter>),
    Condition { target: Target, op: Op },
}

/// The operators each type takes, as the API and the filter builder name them.
pub fn operators(kind: FieldType) -> &'static [&'static str] {
    match kind {
        FieldType::Text => {
            &["is", "is_not", "contains", "not_contains", "starts_with", "in", "not_in", "is_empty", "is_not_empty"]
        }
        FieldType::Number => {
            &["is", "is_not", "in", "not_in", "lt", "lte", "gt", "gte", "between", "is_empty", "is_not_empty"]
        }
        FieldType::Date | FieldType::DateTime => {
            &["is", "before", "after", "between", "in_last_days", "in_next_days", "is_empty", "is_not_empty"]
        }
        FieldType::Choice | FieldType::User => &["is", "is_not", "in", "not_in", "is_empty", "is_not_empty"],
        FieldType::Tags => &["has_any", "has_all", "has_none", "is_empty", "is_not_empty"],
        FieldType::Boolean => &["is", "is_empty", "is_not_empty"],
    }
}

/// What the parse needs besides the tree: the fields, and who "me" is.
pub struct Vocabulary<'a> {
    pub table: &'a Table,
    pub custom: &'a [CustomField],
    pub me: i64,
    /// Today in the workspace's time zone, for relative dates.
    pub today: NaiveDate,
    /// The caller's field rules: a hidden field filters and sorts as if it did not exist.
    pub access: crate::access::FieldAccess,
}

impl Vocabulary<'_> {
    pub fn target(&self, key: &str) -> Option<Target> {
        if !self.access.visible(crate::profile::governing_field(key)) {
            return None;
        }
        if let Some(column) = self.table.columns.iter().find(|c| c.key == key) {
            return Some(Target::Column(*column));
        }
        let field = self.custom.iter().find(|f| f.active() && f.key == key)?;
        let kind = match field.kind {
            CustomKind::Number | CustomKind::Decimal | CustomKind::Money | CustomKind::Relation => FieldType::Number,
            CustomKind::Date => FieldType::Date,
            CustomKind::DateTime => FieldType::DateTime,
            CustomKind::Boolean => FieldType::Boolean,
            CustomKind::Select => FieldType::Choice,
            CustomKind::MultiSelect => FieldType::Tags,
            _ => FieldType::Text,
        };
        Some(Target::Custom { id: field.id.get(), kind, numeric: field.kind.numeric() })
    }
}

/// Where in the tree a problem is, and what: `filter.and[1].value: must be a number`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FilterError {
    pub path: String,
    pub message: String,
}

impl std::fmt::Display for FilterError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

const MAX_DEPTH: usize = 8;
const MAX_CONDITIONS: usize = 50;

/// Checks a condition tree against the vocabulary; every operand is typed before it reaches SQL.
pub fn parse(raw: &Value, vocabulary: &Vocabulary<'_>) -> Result<Filter, FilterError> {
    let mut count = 0;
    node(raw, "filter", 0, vocabulary, &mut count)
}

fn node(raw: &Value, path: &str, depth: usize, v: &Vocabulary<'_>, count: &mut usize) -> Result<Filter, FilterError> {
    let fail = |at: &str, message: &str| FilterError { path: at.to_owned(), message: message.to_owned() };
    if depth > MAX_DEPTH {
        return Err(fail(path, "nests too deep"));
    }
    let Some(map) = raw.as_object() else { return Err(fail(path, "must be an object")) };
    let mut group = |key: &str| -> Result<Vec<Filter>, FilterError> {
        let at = format!("{path}.{key}");
        let items = map[key].as_array().ok_or_else(|| fail(&at, "must be a list of conditions"))?;
        items.iter().enumerate().map(|(i, item)| node(item, &format!("{at}[{i}]"), depth + 1, v, count)).collect()
    };
    if map.len() == 1 && map.contains_key("and") {
        return Ok(Filter::All(group("and")?));
    }
    if map.len() == 1 && map.contains_key("or") {
        return Ok(Filter::Any(group("or")?));
    }
    if map.len() == 1 && map.contains_key("not") {
        return Ok(Filter::Not(Box::new(node(&map["not"], &format!("{path}.not"), depth + 1, v, count)?)));
    }
    if let Some(unknown) = map.keys().find(|k| !["field", "op", "value"].contains(&k.as_str())) {
        return Err(fail(
            path,
            &format!("unknown member {unknown}; a condition has field, op and value, a group and, or or not"),
        ));
    }
    *count += 1;
    if *count > MAX_CONDITIONS {
        return Err(fail(path, "has more than 50 conditions"));
    }
    let key = map.get("field").and_then(Value::as_str).ok_or_else(|| fail(&format!("{path}.field"), "is required"))?;
    let target =
        v.target(key).ok_or_else(|| fail(&format!("{path}.field"), &format!("{key} is not a field of this list")))?;
    let op = map.get("op").and_then(Value::as_str).ok_or_else(|| fail(&format!("{path}.op"), "is required"))?;
    let kind = target.kind();
    if !operators(kind).contains(&op) {
        return Err(fail(&format!("{path}.op"), &format!("{key} takes {}", operators(kind).join(", "))));
    }
    let value = map.get("value").unwrap_or(&Value::Null);
    let at = format!("{path}.value");
    let op = operation(op, value, kind, v).map_err(|message| fail(&at, &message))?;
    Ok(Filter::Condition { target, op })
}

fn operation(op: &str, value: &Value, kind: FieldType, v: &Vocabulary<'_>) -> Result<Op, String> {
    let one = || operand(value, kind, v);
    let list = || -> Result<Vec<Operand>, String> {
        let items = match value {
            Value::Array(items) if !items.is_empty() => items.clone(),
            Value::Array(_) => return Err("must list at least one value".into()),
            other => vec![other.clone()],
        };
        items.iter().map(|item| operand(item, kind, v)).collect()
    };
    let text = || -> Result<String, String> {
        value.as_str().map(|s| s.trim().to_lowercase()).filter(|s| !s.is_empty()).ok_or_else(|| "must be text".into())
    };
    let days = || -> Result<i64, String> {
        let days = value.as_i64().or_else(|| value.as_str().and_then(|s| s.trim().parse().ok()));
        days.filter(|d| (0..=36_600).contains(d)).ok_or_else(|| "must be a number of days".into())
    };
    let day = |offset: i64| day_operand(v.today + Duration::days(offset), kind);
    Ok(match op {
        "is" => Op::Is(one()?),
        "is_not" => Op::IsNot(one()?),
        "in" => Op::In(list()?),
        "not_in" => Op::NotIn(list()?),
        "contains" => Op::Contains(text()?),
        "not_contains" => Op::NotContains(text()?),
        "starts_with" => Op::StartsWith(text()?),
        "lt" | "before" => Op::Lt(one()?),
        "lte" => Op::Lte(one()?),
        "gt" => Op::Gt(one()?),
        "after" => Op::Gt(one()?),
        "gte" => Op::Gte(one()?),
        "between" => match value.as_array().map(Vec::as_slice) {
            Some([low, high]) => Op::Between(operand(low, kind, v)?, operand(high, kind, v)?),
            _ => return Err("must be a list of two values: [from, to]".into()),
        },
        "in_last_days" => Op::Between(day(-days()?), day(0)),
        "in_next_days" => Op::Between(day(0), day(days()?)),
        "has_any" => Op::HasAny(list()?),
        "has_all" => Op::HasAll(list()?),
        "has_none" => Op::HasNone(list()?),
        "is_empty" => Op::IsEmpty,
        "is_not_empty" => Op::IsNotEmpty,
        other => return Err(format!("unknown operator {other}")),
    })
}

/// A day as a date field compares it; a date-time field compares from that day's start (UTC).
fn day_operand(day: NaiveDate, kind: FieldType) -> Operand {
    match kind {
        FieldType::DateTime => Operand::Text(format!("{}T00:00:00Z", day.format("%Y-%m-%d"))),
        _ => Operand::Text(day.format("%Y-%m-%d").to_string()),
    }
}

fn operand(value: &Value, kind: FieldType, v: &Vocabulary<'_>) -> Result<Operand, String> {
    match kind {
        FieldType::Number => match value {
            Value::Number(n) => n.as_f64().map(Operand::Number).ok_or_else(|| "must be a number".into()),
            Value::String(s) => s.trim().parse().map(Operand::Number).map_err(|_| "must be a number".into()),
            _ => Err("must be a number".into()),
        },
        FieldType::Boolean => match value {
            Value::Bool(b) => Ok(Operand::Bool(*b)),
            Value::String(s) if s == "true" || s == "false" => Ok(Operand::Bool(s == "true")),
            _ => Err("must be true or false".into()),
        },
        FieldType::User => match value {
            Value::String(s) if s == "me" => Ok(Operand::Int(v.me)),
            Value::Number(n) => n.as_i64().map(Operand::Int).ok_or_else(|| "must be a user id or \"me\"".into()),
            Value::String(s) => s.trim().parse().map(Operand::Int).map_err(|_| "must be a user id or \"me\"".into()),
            _ => Err("must be a user id or \"me\"".into()),
        },
        FieldType::Date => {
            let raw = value.as_str().unwrap_or_default().trim();
            let day = NaiveDate::parse_from_str(raw, "%Y-%m-%d").map_err(|_| "must be a date as YYYY-MM-DD")?;
            Ok(Operand::Text(day.format("%Y-%m-%d").to_string()))
        }
        FieldType::DateTime => {
            let raw = value.as_str().unwrap_or_default().trim();
            if let Ok(day) = NaiveDate::parse_from_str(raw, "%Y-%m-%d") {
                return Ok(day_operand(day, kind));
            }
            let at = chrono::DateTime::parse_from_rfc3339(raw).map_err(|_| "must be a date or an RFC 3339 time")?;
            Ok(Operand::Text(at.with_timezone(&Utc).format("%Y-%m-%dT%H:%M:%SZ").to_string()))
        }
        FieldType::Text | FieldType::Choice | FieldType::Tags => match value {
            Value::String(s) if !s.trim().is_empty() => Ok(Operand::Text(s.trim().to_lowercase())),
            Value::Number(n) => Ok(Operand::Text(n.to_string())),
            _ => Err("must be text".into()),
        },
    }
}

/// A list's order: a field and a direction. `created_at` descending is the default.
#[derive(Clone, Debug)]
pub struct Sort {
    pub target: Option<Target>,
    pub descending: bool,
}

impl Sort {
    pub fn newest() -> Self {
        Self { target: None, descending: true }
    }

    /// `last_name` ascending, `-updated_at` descending; `created_at` is the records' id order.
    pub fn parse(raw: &str, vocabulary: &Vocabulary<'_>) -> Result<Self, FilterError> {
        let raw = raw.trim();
        let (descending, key) = raw.strip_prefix('-').map_or((false, raw), |rest| (true, rest));
        let fail = |message: String| FilterError { path: "sort".into(), message };
        if key.is_empty() || key == "created_at" {
            return Ok(Self { target: None, descending: raw.is_empty() || descending });
        }
        let target = vocabulary.target(key).ok_or_else(|| fail(format!("{key} is not a field of this list")))?;
        let sortable = match &target {
            Target::Column(c) => c.sortable,
            Target::Custom { kind, .. } => *kind != FieldType::Tags,
        };
        if !sortable {
            return Err(fail(format!("lists cannot be sorted by {key}")));
        }
        Ok(Self { target: Some(target), descending })
    }
}

/// A list view saved by a user: a filter, a sort and the columns shown, private to its owner or
/// shared with the workspace.
#[derive(Clone, Debug, serde::Serialize, utoipa::ToSchema)]
pub struct SavedView {
    pub id: i64,
    /// `person` or `company`.
    pub object: String,
    pub name: String,
    /// The user who saved it; only they change it.
    pub owner: i64,
    /// Whether everyone in the workspace sees it.
    pub shared: bool,
    /// The filter tree, as the list takes it.
    #[schema(value_type = Option<Object>)]
    pub filter: Option<Value>,
    /// `last_name`, `-updated_at` …
    pub sort: Option<String>,
    /// The field keys shown as columns, in order.
    pub columns: Vec<String>,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: rapport_core::Timestamp,
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: rapport_core::Timestamp,
}

/// Where a sorted page starts: after the record `id` whose sort value was `value` (`None`:
/// among those without a value, which come last).
#[derive(Clone, Debug, PartialEq)]
pub struct Cursor {
    pub value: Option<Operand>,
    pub id: i64,
}

impl Cursor {
    /// The id alone for the default order, so its cursors stay plain numbers.
    pub fn encode(&self, sort: &Sort) -> String {
        if sort.target.is_none() {
            return self.id.to_string();
        }
        let value = match &self.value {
            None => Value::Null,
            Some(Operand::Text(s)) => json!(s),
            Some(Operand::Number(n)) => json!(n),
            Some(Operand::Int(n)) => json!(n),
            Some(Operand::Bool(b)) => json!(b),
        };
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(json!([value, self.id]).to_string())
    }

    pub fn decode(raw: &str, sort: &Sort) -> Option<Self> {
        if sort.target.is_none() {
            return raw.trim().parse().ok().map(|id| Self { value: None, id });
        }
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(raw.trim()).ok()?;
        let parsed: Value = serde_json::from_slice(&bytes).ok()?;
        let [value, id] = parsed.as_array()?.as_slice() else { return None };
        let numeric = match sort.target.as_ref()? {
            Target::Column(c) => c.kind == FieldType::Number,
            Target::Custom { numeric, .. } => *numeric,
        };
        let value = match value {
            Value::Null => None,
            Value::String(s) if !numeric => Some(Operand::Text(s.clone())),
            Value::Number(n) if numeric => Some(Operand::Number(n.as_f64()?)),
            _ => return None,
        };
        Some(Self { value, id: id.as_i64()? })
    }
}

/// One row of a filter builder form: a field, an operator and the value as typed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BuilderRow {
    pub field: String,
    pub op: String,
    pub value: String,
}

/// The filter tree a builder form's rows make: all (or any) of the conditions. Lists are
/// typed comma-separated; operators without a value take none.
pub fn from_rows(rows: &[BuilderRow], any: bool) -> Option<Value> {
    let conditions: Vec<Value> = rows
        .iter()
        .filter(|row| !row.field.is_empty() && !row.op.is_empty())
        .map(|row| {
            let parts = || row.value.split(',').map(str::trim).filter(|p| !p.is_empty()).collect::<Vec<_>>();
            let value = match row.op.as_str() {
                "is_empty" | "is_not_empty" => Value::Null,
                "in" | "not_in" | "has_any" | "has_all" | "has_none" | "between" => json!(parts()),
                _ => json!(row.value.trim()),
            };
            json!({ "field": row.field, "op": row.op, "value": value })
        })
        .collect();
    if conditions.is_empty() {
        return None;
    }
    Some(if any { json!({ "or": conditions }) } else { json!({ "and": conditions }) })
}

/// The builder rows and match mode a filter tree shows as, when it is a flat group of
/// conditions; a deeper tree has none and is edited as JSON.
pub fn to_rows(filter: &Value) -> Option<(Vec<BuilderRow>, bool)> {
    let (items, any) = match (filter.get("and"), filter.get("or")) {
        (Some(Value::Array(items)), None) => (items.clone(), false),
        (None, Some(Value::Array(items))) => (items.clone(), true),
        _ if filter.get("field").is_some() => (vec![filter.clone()], false),
        _ => return None,
    };
    let rows = items
        .iter()
        .map(|item| {
            let text = |v: &Value| v.as_str().map_or_else(|| v.to_string(), str::to_owned);
            let value = match item.get("value") {
                None | Some(Value::Null) => String::new(),
                Some(Value::Array(parts)) => parts.iter().map(text).collect::<Vec<_>>().join(", "),
                Some(other) => text(other),
            };
            Some(BuilderRow {
                field: item.get("field")?.as_str()?.to_owned(),
                op: item.get("op")?.as_str()?.to_owned(),
                value,
            })
        })
        .collect::<Option<Vec<_>>>()?;
    Some((rows, any))
}
