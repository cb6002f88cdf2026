//! Merge types: which person's value a field keeps ([`Side`]), the request ([`MergeRequest`]),
//! how the survivor's fields are combined ([`combine`]) and put back by an undo ([`restored`]),
//! what moved to the survivor ([`Moved`]), a stored merge ([`Merge`]) and a bulk merge
//! ([`Run`]).

use std::collections::BTreeMap;

use chrono::Utc;
use rapport_core::{PersonId, Timestamp, UserId};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::dedup::Pair;
use crate::person::PersonInput;
use crate::profile::LabelledInput;

/// How long a merge can be undone: as long as the trash keeps the person merged away.
pub const UNDO_KEEP: chrono::Duration = crate::profile::TRASH_KEEP;

/// Whose value a field keeps.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Side {
    #[default]
    Survivor,
    Merged,
}

/// The fields a merge chooses between, besides the workspace's custom fields by key. Emails,
/// phones, tags and social profiles are not chosen but joined: the survivor keeps every
/// address and number of both, `email` and `phone` choosing only which is primary.
pub const CHOSEN: [(&str, &str); 13] = [
    ("first_name", "First name"),
    ("last_name", "Last name"),
    ("email", "Primary email"),
    ("phone", "Primary phone"),
    ("birthday", "Birthday"),
    ("address", "Address"),
    ("language", "Language"),
    ("time_zone", "Time zone"),
    ("currency", "Currency"),
    ("lifecycle_stage", "Lifecycle stage"),
    ("owner", "Owner"),
    ("source", "Source"),
    ("external_id", "External id"),
];

/// A merge as a client asks for it: `merged` goes into `survivor`; `fields` says whose value a
/// field keeps where the default (the survivor's, or the other's where the survivor has none)
/// will not do.
#[derive(Clone, Debug, Deserialize, utoipa::ToSchema)]
pub struct MergeRequest {
    pub survivor: i64,
    pub merged: i64,
    /// Field key (`first_name`, `address`, a custom field's key …) → `survivor` or `merged`.
    #[serde(default)]
    pub fields: BTreeMap<String, Side>,
}

/// A field's value as compared and chosen: `email` and `phone` are the primaries, `address` the
/// whole address, a custom field its value; `null` when empty.
pub fn value_of(input: &PersonInput, key: &str) -> Value {
    let primary = |all: &[LabelledInput]| {
        all.iter().find(|l| l.primary).or(all.first()).map_or(Value::Null, |l| Value::String(l.value.clone()))
    };
    match key {
        "email" => primary(&input.emails),
        "phone" => primary(&input.phones),
        _ => {
            let value = serde_json::to_value(input).ok().and_then(|v| v.get(key).cloned()).unwrap_or(Value::Null);
            if is_empty(&value) { Value::Null } else { value }
        }
    }
}

fn is_empty(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::String(s) => s.trim().is_empty(),
        Value::Array(items) => items.is_empty(),
        Value::Object(map) => map.values().all(is_empty),
        _ => false,
    }
}

/// The choice a merge makes when not told: the survivor's value, or the other's where the
/// survivor has none.
pub fn default_side(survivor: &PersonInput, merged: &PersonInput, key: &str) -> Side {
    if value_of(survivor, key).is_null() && !value_of(merged, key).is_null() { Side::Merged } else { Side::Survivor }
}

/// The survivor's fields after the merge: each chosen field from the side `choices` (or the
/// default) names; every email, phone, tag and social profile of both.
pub fn combine(
    survivor: &PersonInput,
    merged: &PersonInput,
    keys: &[String],
    choices: &BTreeMap<String, Side>,
) -> PersonInput {
    let side = |key: &str| choices.get(key).copied().unwrap_or_else(|| default_side(survivor, merged, key));
    let mut out = as_map(survivor);
    let other = as_map(merged);
    for key in keys.iter().filter(|k| !matches!(k.as_str(), "email" | "phone")) {
        if side(key) == Side::Merged {
            out.insert(key.clone(), other.get(key).cloned().unwrap_or(Value::Null));
        }
    }
    let mut combined: PersonInput = serde_json::from_value(Value::Object(out)).unwrap_or_else(|_| survivor.clone());
    combined.emails = joined(&survivor.emails, &merged.emails, side("email") == Side::Merged);
    combined.phones = joined(&survivor.phones, &merged.phones, side("phone") == Side::Merged);
    combined.tags = survivor.tags.iter().chain(&merged.tags).fold(Vec::new(), |mut tags, tag| {
        if !tags.iter().any(|t: &String| t.eq_ignore_ascii_case(tag)) {
            tags.push(tag.clone());
        }
        tags
    });
    combined.social = merged.social.clone().into_iter().chain(survivor.social.clone()).collect();
    combined
}

/// A stored person with `incoming` (an imported row, say) merged in the way a merge with the
/// default choices does: the person's values stay, `incoming` fills what is empty and adds its
/// emails, phones, tags and social profiles.
pub fn fill_from(person: &PersonInput, incoming: &PersonInput) -> PersonInput {
    let with_primaries = |input: &PersonInput| {
        let mut input = input.clone();
        for (primary, all) in [(input.email.take(), &mut input.emails), (input.phone.take(), &mut input.phones)] {
            if let Some(value) = primary.filter(|v| !all.iter().any(|l| l.value.eq_ignore_ascii_case(v))) {
                all.iter_mut().for_each(|l| l.primary = false);
                all.insert(0, LabelledInput { value, label: None, primary: true });
            }
        }
        input
    };
    let incoming = with_primaries(incoming);
    let keys: Vec<String> = CHOSEN
        .iter()
        .map(|(key, _)| (*key).to_owned())
        .chain(person.custom.keys().chain(incoming.custom.keys()).cloned())
        .collect();
    combine(person, &incoming, &keys, &BTreeMap::new())
}

fn as_map(input: &PersonInput) -> Map<String, Value> {
    match serde_json::to_value(PersonInput { email: None, phone: None, ..input.clone() }) {
        Ok(Value::Object(map)) => map,
        _ => Map::new(),
    }
}

/// The survivor's emails or phones, then the other's not already there; the primary stays the
/// survivor's unless `primary_from_other`.
fn joined(kept: &[LabelledInput], other: &[LabelledInput], primary_from_other: bool) -> Vec<LabelledInput> {
    let same = |x: &str, y: &str| x.trim().eq_ignore_ascii_case(y.trim());
    let mut all = kept.to_vec();
    for item in other {
        if !all.iter().any(|k| same(&k.value, &item.value)) {
            all.push(LabelledInput { primary: false, ..item.clone() });
        }
    }
    let primary = if primary_from_other { other.iter().find(|l| l.primary).or(other.first()) } else { None };
    if let Some(primary) = primary {
        for item in &mut all {
            item.primary = same(&item.value, &primary.value);
        }
    }
    all
}

/// The survivor's fields an undo leaves: each field the merge changed goes back to what it was
/// before, unless it has been changed again since (that later edit stands).
pub fn restored(before: &PersonInput, after: &PersonInput, current: &PersonInput) -> PersonInput {
    let (before, after, mut out) = (as_map(before), as_map(after), as_map(current));
    let keys: Vec<String> = before.keys().chain(after.keys()).cloned().collect();
    for key in keys {
        let (was, set) = (before.get(&key).unwrap_or(&Value::Null), after.get(&key).unwrap_or(&Value::Null));
        if was != set && out.get(&key).unwrap_or(&Value::Null) == set {
            out.insert(key, was.clone());
        }
    }
    serde_json::from_value(Value::Object(out)).unwrap_or_else(|_| current.clone())
}

/// What a merge moved from the merged person to the survivor, by id, for its undo.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Moved {
    pub notes: Vec<i64>,
    pub tasks: Vec<i64>,
    pub attachments: Vec<i64>,
    /// Companies whose link to the merged person now links the survivor.
    pub companies: Vec<i64>,
    /// The tracked ids (kind, value) that named the merged person; their events came along.
    #[serde(default)]
    #[schema(value_type = Vec<Vec<String>>)]
    pub identities: Vec<(String, String)>,
    #[serde(default)]
    pub orders: Vec<i64>,
    #[serde(default)]
    pub carts: Vec<i64>,
}

/// A merge as stored.
#[derive(Clone, Debug)]
pub struct Merge {
    pub id: i64,
    pub survivor_id: PersonId,
    pub merged_id: PersonId,
    pub survivor_before: PersonInput,
    pub survivor_after: PersonInput,
    /// The external id the merged person gave up to the survivor.
    pub merged_external_id: Option<String>,
    pub moved: Moved,
    /// The pair as the queue showed it, put back if the merge is undone.
    pub pair: Option<Pair>,
    /// The bulk merge that made it, if any.
    pub run_id: Option<i64>,
    pub actor: String,
    pub merged_at: Timestamp,
    pub undone_at: Option<Timestamp>,
}

impl Merge {
    pub fn undo_until(&self) -> Timestamp {
        self.merged_at + UNDO_KEEP
    }

    pub fn undoable(&self) -> bool {
        self.undone_at.is_none() && Utc::now() < self.undo_until()
    }
}

/// Where a bulk merge is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RunStatus {
    Queued,
    Running,
    Done,
    Failed,
}

impl RunStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Running => "running",
            Self::Done => "done",
            Self::Failed => "failed",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        [Self::Queued, Self::Running, Self::Done, Self::Failed].into_iter().find(|s| s.as_str() == raw)
    }
}

/// A bulk merge: every queued pair scoring `min_score` or more, each merged into the older
/// person with the default choices, as the member who asked.
#[derive(Clone, Debug)]
pub struct Run {
    pub id: i64,
    pub user_id: UserId,
    pub min_score: f64,
    pub status: RunStatus,
    pub merged: i64,
    /// Pairs left alone: a person already merged in this run, out of reach, or refused.
    pub skipped: i64,
    pub error: Option<String>,
    pub created_at: Timestamp,
    pub finished_at: Option<Timestamp>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn person(json: Value) -> PersonInput {
        serde_json::from_value(json).expect("a person")
    }

    fn keys() -> Vec<String> {
        CHOSEN.iter().map(|(k, _)| (*k).to_owned()).chain(["plan".to_owned()]).collect()
    }

    #[test]
    fn combining_keeps_the_survivor_fills_gaps_and_joins_lists() {
        let survivor = person(serde_json::json!({
            "first_name": "Jon", "last_name": "Smith", "tags": ["vip"],
            "emails": [{"value": "jon@example.com", "primary": true}],
        }));
        let merged = person(serde_json::json!({
            "first_name": "John", "last_name": "Smith", "birthday": "1980-02-03", "tags": ["VIP", "newsletter"],
            "emails": [{"value": "john.smith@example.org", "primary": true}, {"value": "JON@example.com"}],
            "plan": "gold",
        }));
        let combined = combine(&survivor, &merged, &keys(), &BTreeMap::new());
        assert_eq!(combined.first_name.as_deref(), Some("Jon"));
        assert_eq!(combined.birthday.as_deref(), Some("1980-02-03"), "a gap is filled from the other");
        assert_eq!(combined.custom.get("plan"), Some(&Value::from("gold")));
        assert_eq!(combined.tags, ["vip", "newsletter"]);
        let emails: Vec<(&str, bool)> = combined.emails.iter().map(|e| (e.value.as_str(), e.primary)).collect();
        assert_eq!(emails, [("jon@example.com", true), ("john.smith@example.org", false)]);

        let chosen = BTreeMap::from([("first_name".to_owned(), Side::Merged), ("email".to_owned(), Side::Merged)]);
        let combined = combine(&survivor, &merged, &keys(), &chosen);
        assert_eq!(combined.first_name.as_deref(), Some("John"));
        let primary: Vec<&str> = combined.emails.iter().filter(|e| e.primary).map(|e| e.value.as_str()).collect();
        assert_eq!(primary, ["john.smith@example.org"]);
    }

    #[test]
    fn a_row_fills_the_gaps_of_the_person_it_duplicates() {
        let person = person(serde_json::json!({
            "first_name": "Robert", "emails": [{"value": "robert@example.com", "primary": true}],
        }));
        let row = person_row();
        let filled = fill_from(&person, &row);
        assert_eq!(filled.first_name.as_deref(), Some("Robert"), "the person's own value stays");
        assert_eq!(filled.birthday.as_deref(), Some("1971-05-14"));
        let emails: Vec<(&str, bool)> = filled.emails.iter().map(|e| (e.value.as_str(), e.primary)).collect();
        assert_eq!(emails, [("robert@example.com", true), ("bob@mail.example", false)]);
    }

    fn person_row() -> PersonInput {
        person(serde_json::json!({"first_name": "Bob", "email": "bob@mail.example", "birthday": "1971-05-14"}))
    }

    #[test]
    fn an_undo_restores_what_the_merge_changed_but_keeps_later_edits() {
        let before = person(serde_json::json!({"first_name": "Jon", "last_name": "Smith"}));
        let after = person(serde_json::json!({"first_name": "John", "last_name": "Smith", "birthday": "1980-02-03"}));
        let current =
            person(serde_json::json!({"first_name": "Johnny", "last_name": "Smith", "birthday": "1980-02-03"}));
        let back = restored(&before, &after, &current);
        assert_eq!(back.first_name.as_deref(), Some("Johnny"), "edited since the merge");
        assert_eq!(back.birthday, None, "the merge brought it; the undo takes it away");
        assert_eq!(back.last_name.as_deref(), Some("Smith"));
    }
}
