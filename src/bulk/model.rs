//! A bulk action's types: what is done ([`Action`]), to which records ([`Selection`]), the
//! request as a client sends it ([`BulkRequest`]) and checked ([`NewBulk`]), the stored job
//! ([`BulkJob`]) and its life ([`Status`]).

use rapport_core::{Timestamp, UserId};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::export::Format;
pub use crate::export::Object;
use crate::http::FieldErrors;

/// Records an explicit selection may name.
pub const MAX_IDS: usize = 10_000;
/// Failed records whose reason a job keeps.
pub const ERROR_SAMPLE: usize = 20;

/// What a bulk job does to each record.
#[derive(Clone, Debug, PartialEq)]
pub enum Action {
    AddTag(String),
    RemoveTag(String),
    /// `None` leaves the records without an owner.
    SetOwner(Option<UserId>),
    /// A vocabulary field (`address.city`) or a custom field's key; `Value::Null` clears it.
    SetField {
        field: String,
        value: Value,
    },
    /// To the trash.
    Delete,
    /// One export of the selection, written by the export module.
    Export(Format),
}

impl Action {
    pub const NAMES: [&'static str; 6] = ["add_tag", "remove_tag", "set_owner", "set_field", "delete", "export"];

    pub fn name(&self) -> &'static str {
        match self {
            Self::AddTag(_) => "add_tag",
            Self::RemoveTag(_) => "remove_tag",
            Self::SetOwner(_) => "set_owner",
            Self::SetField { .. } => "set_field",
            Self::Delete => "delete",
            Self::Export(_) => "export",
        }
    }

    /// The action's argument as stored: `{"value": …}`, with `"field"` for `set_field`.
    pub fn argument(&self) -> Value {
        match self {
            Self::AddTag(tag) | Self::RemoveTag(tag) => json!({ "value": tag }),
            Self::SetOwner(owner) => json!({ "value": owner }),
            Self::SetField { field, value } => json!({ "field": field, "value": value }),
            Self::Delete => json!({}),
            Self::Export(format) => json!({ "value": format.as_str() }),
        }
    }

    /// The action of a stored job.
    pub fn stored(name: &str, argument: &Value) -> Option<Self> {
        let value = argument.get("value").cloned().unwrap_or(Value::Null);
        Some(match name {
            "add_tag" => Self::AddTag(value.as_str()?.to_owned()),
            "remove_tag" => Self::RemoveTag(value.as_str()?.to_owned()),
            "set_owner" => Self::SetOwner(match value {
                Value::Null => None,
                other => Some(UserId::new(other.as_i64()?)),
            }),
            "set_field" => Self::SetField { field: argument.get("field")?.as_str()?.to_owned(), value },
            "delete" => Self::Delete,
            "export" => Self::Export(Format::parse(value.as_str()?)?),
            _ => return None,
        })
    }

    /// The merge patch the action applies to a record carrying `tags`, or `None` when the
    /// record already is as the action would leave it (or the action writes no field).
    pub fn patch(&self, tags: &[String]) -> Option<Value> {
        let holds = |tag: &str| tags.iter().any(|t| t.eq_ignore_ascii_case(tag));
        match self {
            Self::AddTag(tag) if holds(tag) => None,
            Self::AddTag(tag) => {
                let mut tags = tags.to_vec();
                tags.push(tag.clone());
                Some(json!({ "tags": tags }))
            }
            Self::RemoveTag(tag) if !holds(tag) => None,
            Self::RemoveTag(tag) => {
                let kept: Vec<&String> = tags.iter().filter(|t| !t.eq_ignore_ascii_case(tag)).collect();
                Some(json!({ "tags": kept }))
            }
            Self::SetOwner(owner) => Some(json!({ "owner": owner })),
            Self::SetField { field, value } => Some(match field.split_once('.') {
                Some((outer, inner)) => json!({ outer: { inner: value } }),
                None => json!({ field.as_str(): value }),
            }),
            Self::Delete | Self::Export(_) => None,
        }
    }
}

/// Which records a bulk job acts on.
#[derive(Clone, Debug, PartialEq)]
pub enum Selection {
    /// These records, in id order, each once.
    Ids(Vec<i64>),
    /// Every record the caller may read that matches the filter tree (`None`: every record),
    /// read batch by batch in id order.
    Filter(Option<Value>),
}

impl Selection {
    pub fn to_json(&self) -> Value {
        match self {
            Self::Ids(ids) => json!({ "ids": ids }),
            Self::Filter(tree) => json!({ "filter": tree.clone().unwrap_or_else(|| json!({})) }),
        }
    }

    pub fn stored(raw: &Value) -> Option<Self> {
        if let Some(ids) = raw.get("ids") {
            return serde_json::from_value(ids.clone()).ok().map(Self::Ids);
        }
        raw.get("filter").map(|tree| Self::Filter(tree_of(tree)))
    }

    /// The filter tree the records of this selection match, as the list language writes it.
    pub fn tree(&self) -> Option<Value> {
        match self {
            Self::Ids(ids) => Some(json!({ "field": "id", "op": "in", "value": ids })),
            Self::Filter(tree) => tree.clone(),
        }
    }
}

/// An empty object (`{}`) or `null` selects everything.
fn tree_of(raw: &Value) -> Option<Value> {
    match raw {
        Value::Null => None,
        Value::Object(map) if map.is_empty() => None,
        other => Some(other.clone()),
    }
}

/// A bulk action as a client asks for it.
#[derive(Clone, Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BulkRequest {
    /// `add_tag`, `remove_tag`, `set_owner`, `set_field`, `delete` or `export`.
    pub action: String,
    /// The tag, the owner's user id (`null` for none), the field's new value (`null` or `""`
    /// clears it) or the export's format (`csv`, `jsonl`, `xlsx`, `vcard`).
    #[serde(default)]
    #[schema(value_type = Object)]
    pub value: Value,
    /// For `set_field`: a vocabulary field (`lifecycle_stage`, `address.city`) or a custom
    /// field's key.
    pub field: Option<String>,
    /// The records to act on, at most 10000.
    pub ids: Option<Vec<i64>>,
    /// Instead of `ids`: a filter tree of the list language; `{}` acts on every record.
    #[schema(value_type = Option<Object>)]
    pub filter: Option<Value>,
}

/// A checked bulk request; whether its field exists and may be written is the service's to
/// check, since that depends on the workspace and the caller.
#[derive(Clone, Debug, PartialEq)]
pub struct NewBulk {
    pub object: Object,
    pub action: Action,
    pub selection: Selection,
}

impl NewBulk {
    pub fn parse(object: Object, request: &BulkRequest) -> Result<Self, FieldErrors> {
        let mut errors = FieldErrors::new();
        let mut error = |field: &str, message: &str| errors.entry(field.to_owned()).or_default().push(message.into());
        let action = match parse_action(object, request) {
            Ok(action) => Some(action),
            Err((field, message)) => {
                error(field, &message);
                None
            }
        };
        let selection = match (&request.ids, &request.filter) {
            (Some(_), Some(_)) | (None, None) => {
                error("ids", "give either ids or filter");
                None
            }
            (Some(ids), None) if ids.is_empty() => {
                error("ids", "must name at least one record");
                None
            }
            (Some(ids), None) if ids.len() > MAX_IDS => {
                error("ids", "may name at most 10000 records; use a filter for more");
                None
            }
            (Some(ids), None) => {
                let mut ids = ids.clone();
                ids.sort_unstable();
                ids.dedup();
                Some(Selection::Ids(ids))
            }
            (None, Some(tree)) if !matches!(tree, Value::Object(_) | Value::Null) => {
                error("filter", "must be a filter tree");
                None
            }
            (None, Some(tree)) => Some(Selection::Filter(tree_of(tree))),
        };
        match (action, selection) {
            (Some(action), Some(selection)) if errors.is_empty() => Ok(Self { object, action, selection }),
            _ => Err(errors),
        }
    }
}

fn parse_action(object: Object, request: &BulkRequest) -> Result<Action, (&'static str, String)> {
    let tag = || {
        request
            .value
            .as_str()
            .map(str::trim)
            .filter(|tag| !tag.is_empty() && tag.chars().count() <= 100)
            .map(str::to_owned)
            .ok_or(("value", "must be a tag of 1 to 100 characters".to_owned()))
    };
    let action = match request.action.trim() {
        "add_tag" => Action::AddTag(tag()?),
        "remove_tag" => Action::RemoveTag(tag()?),
        "set_owner" => Action::SetOwner(match &request.value {
            Value::Null => None,
            Value::Number(n) => Some(UserId::new(n.as_i64().ok_or(("value", "must be a user id".to_owned()))?)),
            Value::String(s) if s.trim().is_empty() => None,
            Value::String(s) => Some(UserId::new(s.trim().parse().map_err(|_| ("value", "must be a user id".into()))?)),
            _ => return Err(("value", "must be a user id or null".into())),
        }),
        "set_field" => {
            let field = request.field.as_deref().map(str::trim).filter(|f| !f.is_empty());
            let field = field.ok_or(("field", "names the field to set".to_owned()))?;
            if ["tags", "owner"].contains(&field) {
                return Err(("field", format!("{field} has an action of its own")));
            }
            let value = match &request.value {
                Value::String(s) if s.trim().is_empty() => Value::Null,
                other => other.clone(),
            };
            Action::SetField { field: field.to_owned(), value }
        }
        "delete" => Action::Delete,
        "export" => {
            let format = request.value.as_str().and_then(Format::parse);
            match format {
                Some(Format::Vcard) if object == Object::Companies => {
                    return Err(("value", "vCards hold people; export companies as csv, jsonl or xlsx".into()));
                }
                Some(format) => Action::Export(format),
                None => return Err(("value", "must be csv, jsonl, xlsx or vcard".into())),
            }
        }
        _ => return Err(("action", format!("must be one of {}", Action::NAMES.join(", ")))),
    };
    if request.field.is_some() && !matches!(action, Action::SetField { .. }) {
        return Err(("field", "is only for set_field".into()));
    }
    Ok(action)
}

/// Where a bulk job is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    Queued,
    Running,
    Done,
    /// It could not go on at all (the requester left, or lost the permission).
    Failed,
    Cancelled,
}

impl Status {
    pub fn parse(raw: &str) -> Option<Self> {
        [Self::Queued, Self::Running, Self::Done, Self::Failed, Self::Cancelled].into_iter().find(|s| s.as_str() == raw)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Running => "running",
            Self::Done => "done",
            Self::Failed => "failed",
            Self::Cancelled => "cancelled",
        }
    }

    pub fn is_finished(self) -> bool {
        matches!(self, Self::Done | Self::Failed | Self::Cancelled)
    }
}

/// A record the action could not be applied to, and why, in words for the requester.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RecordError {
    pub id: i64,
    /// `not_found`, `forbidden`, `invalid` or `changed`.
    pub code: String,
    pub reason: String,
}

/// A bulk job as stored.
#[derive(Clone, Debug)]
pub struct BulkJob {
    pub id: i64,
    pub user_id: UserId,
    pub object: Object,
    pub action: Action,
    pub selection: Selection,
    pub status: Status,
    /// The records selected when the job was asked for.
    pub total: i64,
    pub done: i64,
    pub failed: i64,
    /// The highest record id processed; the next batch starts after it.
    pub last_id: i64,
    /// The first failed records, at most [`ERROR_SAMPLE`].
    pub errors: Vec<RecordError>,
    /// Why the job as a whole failed.
    pub error: Option<String>,
    /// The export an `export` action handed the selection to.
    pub export_id: Option<i64>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub finished_at: Option<Timestamp>,
}

/// The progress one batch adds.
#[derive(Clone, Debug, Default)]
pub struct Progress {
    pub done: i64,
    pub failed: i64,
    pub last_id: i64,
    pub errors: Vec<RecordError>,
}

impl Progress {
    pub fn merged_errors(kept: &[RecordError], new: &[RecordError]) -> Vec<RecordError> {
        kept.iter().chain(new).take(ERROR_SAMPLE).cloned().collect()
    }
}

/// The list filter an export of `selection` takes, as the export module reads it.
pub fn export_filter(selection: &Selection) -> Value {
    let mut filter = Map::new();
    if let Some(tree) = selection.tree() {
        filter.insert("filter".into(), tree);
    }
    Value::Object(filter)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(body: Value) -> BulkRequest {
        serde_json::from_value(body).unwrap()
    }

    #[test]
    fn a_request_needs_exactly_one_of_ids_and_filter() {
        let both = NewBulk::parse(Object::People, &request(json!({"action": "delete", "ids": [1], "filter": {}})));
        assert!(both.unwrap_err().contains_key("ids"));
        let neither = NewBulk::parse(Object::People, &request(json!({"action": "delete"})));
        assert!(neither.unwrap_err().contains_key("ids"));
        let all = NewBulk::parse(Object::People, &request(json!({"action": "delete", "filter": {}}))).unwrap();
        assert_eq!(all.selection, Selection::Filter(None));
        let ids = NewBulk::parse(Object::People, &request(json!({"action": "delete", "ids": [3, 1, 3]}))).unwrap();
        assert_eq!(ids.selection, Selection::Ids(vec![1, 3]), "sorted and each once");
    }

    #[test]
    fn each_action_reads_its_argument_and_refuses_a_bad_one() {
        let parse = |body: Value| NewBulk::parse(Object::People, &request(body)).map(|new| new.action);
        assert_eq!(parse(json!({"action": "add_tag", "value": " vip ", "ids": [1]})), Ok(Action::AddTag("vip".into())));
        assert_eq!(parse(json!({"action": "set_owner", "value": null, "ids": [1]})), Ok(Action::SetOwner(None)));
        let cleared = parse(json!({"action": "set_field", "field": "source", "value": "", "ids": [1]}));
        assert_eq!(cleared, Ok(Action::SetField { field: "source".into(), value: Value::Null }));
        assert!(parse(json!({"action": "add_tag", "value": "", "ids": [1]})).unwrap_err().contains_key("value"));
        assert!(parse(json!({"action": "set_field", "value": 1, "ids": [1]})).unwrap_err().contains_key("field"));
        assert!(parse(json!({"action": "merge", "ids": [1]})).unwrap_err().contains_key("action"));
        let vcard =
            NewBulk::parse(Object::Companies, &request(json!({"action": "export", "value": "vcard", "ids": [1]})));
        assert!(vcard.unwrap_err().contains_key("value"));
    }

    #[test]
    fn a_stored_action_reads_back_as_it_was_asked() {
        for action in [
            Action::AddTag("vip".into()),
            Action::SetOwner(Some(UserId::new(4))),
            Action::SetOwner(None),
            Action::SetField { field: "address.city".into(), value: json!("Paris") },
            Action::Delete,
            Action::Export(Format::Jsonl),
        ] {
            assert_eq!(Action::stored(action.name(), &action.argument()), Some(action));
        }
        let selection = Selection::Ids(vec![1, 2]);
        assert_eq!(Selection::stored(&selection.to_json()), Some(selection));
        assert_eq!(Selection::stored(&Selection::Filter(None).to_json()), Some(Selection::Filter(None)));
    }

    #[test]
    fn a_patch_changes_only_what_the_action_names() {
        let tags = vec!["VIP".to_owned(), "navy".to_owned()];
        assert_eq!(Action::AddTag("vip".into()).patch(&tags), None, "tags compare without case");
        assert_eq!(Action::AddTag("new".into()).patch(&tags), Some(json!({"tags": ["VIP", "navy", "new"]})));
        assert_eq!(Action::RemoveTag("vip".into()).patch(&tags), Some(json!({"tags": ["navy"]})));
        let city = Action::SetField { field: "address.city".into(), value: json!("Paris") };
        assert_eq!(city.patch(&tags), Some(json!({"address": {"city": "Paris"}})));
    }
}
