//! What record pages of every object share: a record's fields as label and text, as far as
//! the caller's role may see them, and the create and edit form (its inputs, built-in and
//! custom, with inline errors and the version an edit was opened at). Each object names its
//! form's built-in fields and the input type they fill; nothing here knows about any one object.

use std::collections::BTreeMap;

use askama::Template;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use super::{FieldDef, governing_field};
use crate::access::FieldAccess;
use crate::field::{self, CustomField};
use crate::http::FieldErrors;
use crate::identity::Principal;
use crate::web::{Layout, csrf_token};

/// The fields of a serialised record (`values`, the primaries already filled in) that have a
/// value and that the caller may see, in vocabulary order, as (label, text).
pub fn shown_fields(defs: &[FieldDef], values: &Value, access: &FieldAccess) -> Vec<(&'static str, String)> {
    defs.iter()
        .filter(|def| access.visible(governing_field(def.key)))
        .filter_map(|def| {
            let value = def.key.split('.').try_fold(values, |v, part| v.get(part))?;
            let text = match value {
                Value::String(s) => s.clone(),
                Value::Array(items) if !items.is_empty() => items
                    .iter()
                    .map(|i| i.get("value").unwrap_or(i).as_str().map_or_else(|| i.to_string(), str::to_owned))
                    .collect::<Vec<_>>()
                    .join(", "),
                Value::Object(map) if !map.is_empty() => map
                    .iter()
                    .map(|(k, v)| format!("{k}: {}", v.as_str().unwrap_or_default()))
                    .collect::<Vec<_>>()
                    .join(", "),
                Value::Number(n) => n.to_string(),
                _ => return None,
            };
            Some((def.label, text))
        })
        .collect()
}

/// A value as a reader says it: `—` for none, a labelled list by its values.
pub fn value_text(value: &Value) -> String {
    match value {
        Value::Null => "—".into(),
        Value::String(s) => s.clone(),
        Value::Array(items) => items
            .iter()
            .map(|i| i.get("value").unwrap_or(i).as_str().map_or_else(|| i.to_string(), str::to_owned))
            .collect::<Vec<_>>()
            .join(", "),
        other => other.to_string(),
    }
}

/// Whether the caller's role may see `key` on a page.
pub fn shows(access: &FieldAccess, key: &str) -> bool {
    access.visible(governing_field(key))
}

/// One built-in input of a form: vocabulary key, label, input type, autocomplete hint.
pub type FormField = (&'static str, &'static str, &'static str, &'static str);

/// The prefix of custom fields' input names.
pub const CUSTOM: &str = "custom.";

/// A record's input a form fills: built-in fields by vocabulary key, custom values apart.
pub trait Fillable: DeserializeOwned {
    fn custom_mut(&mut self) -> &mut BTreeMap<String, Value>;
}

/// A stored record as its edit form opens on it.
pub struct Editing<'a> {
    /// The record's input as JSON (`serde_json::to_value(&record.fields)`).
    pub fields: Value,
    /// Custom values by key.
    pub custom: &'a BTreeMap<String, Value>,
    pub version: i64,
}

impl Editing<'_> {
    /// The form's text of built-in `key`: `email` and `phone` are the primary ones.
    fn text(&self, key: &str) -> String {
        let primary = |list: &str| {
            self.fields[list]
                .as_array()
                .and_then(|items| items.iter().find(|item| item["primary"] == true))
                .and_then(|item| item["value"].as_str())
                .unwrap_or_default()
                .to_owned()
        };
        match key {
            "email" => primary("emails"),
            "phone" => primary("phones"),
            _ => match key.split('.').try_fold(&self.fields, |v, part| v.get(part)) {
                Some(Value::String(s)) => s.clone(),
                Some(Value::Number(n)) => n.to_string(),
                _ => String::new(),
            },
        }
    }

    /// The labelled emails or phones but the primary one, for a cleared primary to drop alone.
    fn others(&self, list: &str) -> Value {
        let items = self.fields[list].as_array().map(Vec::as_slice).unwrap_or_default();
        Value::Array(items.iter().filter(|item| item["primary"] != true).cloned().collect())
    }
}

/// A create or edit form as posted: built-in inputs by key, custom ones named `custom.KEY`.
#[derive(Deserialize, Default)]
pub struct RecordForm {
    #[serde(default)]
    csrf_token: String,
    /// The version the edit form was opened at: a change made meanwhile is not overwritten.
    /// Text, because a flattened form reads every value as text.
    #[serde(default)]
    version: String,
    #[serde(flatten)]
    values: BTreeMap<String, String>,
}

crate::http::auth::csrf_protected!(RecordForm);

impl RecordForm {
    fn value(&self, name: &str) -> &str {
        self.values.get(name).map_or("", String::as_str)
    }

    pub fn version(&self) -> Option<i64> {
        self.version.trim().parse().ok()
    }

    /// The form as it opens on an existing record.
    pub fn of(record: &Editing, fields: &[FormField], defs: &[CustomField]) -> Self {
        let builtin = fields.iter().map(|(key, ..)| ((*key).to_owned(), record.text(key)));
        let custom = defs.iter().filter_map(|def| {
            let value = record.custom.get(&def.key)?;
            Some((format!("{CUSTOM}{}", def.key), field::form_text(def.kind, value)))
        });
        Self { csrf_token: String::new(), version: record.version.to_string(), values: builtin.chain(custom).collect() }
    }

    fn custom(&self) -> BTreeMap<String, Value> {
        self.values
            .iter()
            .filter_map(|(name, value)| Some((name.strip_prefix(CUSTOM)?.to_owned(), value.trim())))
            .filter(|(_, value)| !value.is_empty())
            .map(|(key, value)| (key, Value::from(value)))
            .collect()
    }

    /// The input a create sends: the filled-in fields.
    pub fn input<T: Fillable>(&self, fields: &[FormField]) -> Result<T, FieldErrors> {
        let mut builtin = Map::new();
        for (key, ..) in fields {
            let value = self.value(key);
            if !value.trim().is_empty() {
                set_path(&mut builtin, key, Value::from(value));
            }
        }
        let mut input: T = serde_json::from_value(Value::Object(builtin))
            .map_err(|e| FieldErrors::from([("body".into(), vec![e.to_string()])]))?;
        *input.custom_mut() = self.custom();
        Ok(input)
    }

    /// The keys a create writes: those filled in.
    pub fn filled(&self, fields: &[FormField]) -> Vec<String> {
        let builtin = fields.iter().map(|(key, ..)| *key).filter(|key| !self.value(key).trim().is_empty());
        builtin.map(str::to_owned).chain(self.custom().into_keys()).collect()
    }

    /// The merge patch an edit sends and the keys it changes: only the fields that differ from
    /// `record`. Clearing the email or phone drops the primary one and keeps the others.
    pub fn patch(&self, record: &Editing, fields: &[FormField], defs: &[CustomField]) -> (Value, Vec<String>) {
        let before = Self::of(record, fields, defs);
        let mut patch = Map::new();
        let mut changed = Vec::new();
        for def in defs.iter().filter(|def| def.active()) {
            let name = format!("{CUSTOM}{}", def.key);
            let value = self.value(&name).trim();
            if value != before.value(&name).trim() {
                changed.push(def.key.clone());
                patch.insert(def.key.clone(), if value.is_empty() { Value::Null } else { Value::from(value) });
            }
        }
        for (key, ..) in fields {
            let value = self.value(key).trim();
            if value == before.value(key).trim() {
                continue;
            }
            changed.push((*key).to_owned());
            let (name, value) = match (*key, value.is_empty()) {
                ("email", true) => ("emails", record.others("emails")),
                ("phone", true) => ("phones", record.others("phones")),
                (_, true) => (*key, Value::Null),
                (_, false) => (*key, Value::from(value)),
            };
            set_path(&mut patch, name, value);
        }
        (Value::Object(patch), changed)
    }
}

/// Sets `key` in `map`, a dotted key (`address.city`) inside its nested object.
fn set_path(map: &mut Map<String, Value>, key: &str, value: Value) {
    match key.split_once('.') {
        Some((outer, inner)) => {
            let nested = map.entry(outer).or_insert_with(|| Value::Object(Map::new()));
            if let Value::Object(nested) = nested {
                set_path(nested, inner, value);
            }
        }
        None => {
            map.insert(key.to_owned(), value);
        }
    }
}

/// An input as a form page shows it, with what was typed and its errors.
pub struct FormInput {
    /// The input's name: a vocabulary key, or `custom.KEY`.
    pub name: String,
    pub label: String,
    /// An `<input>` type, or `textarea` / `select`.
    pub kind: &'static str,
    pub autocomplete: &'static str,
    /// A select's choices, the empty one first.
    pub options: Vec<String>,
    pub help: Option<String>,
    pub value: String,
    pub errors: Vec<String>,
    pub autofocus: bool,
    pub read_only: bool,
}

/// Where a form posts and what it is called: a new record, or an edit of one.
pub struct FormTarget {
    pub heading: String,
    /// The page the form posts to.
    pub action: String,
    /// The page "Back" returns to.
    pub back: String,
    pub submit: &'static str,
}

impl FormTarget {
    /// The form that creates a record of the list at `list` (`/people`).
    pub fn create(heading: &str, list: &str) -> Self {
        Self { heading: heading.into(), action: format!("{list}/new"), back: list.into(), submit: "Create" }
    }

    /// The form that edits the record whose page is `record` (`/people/7`), called `name`.
    pub fn edit(name: &str, record: &str) -> Self {
        Self { heading: format!("Edit {name}"), action: format!("{record}/edit"), back: record.into(), submit: "Save" }
    }
}

#[derive(Template)]
#[template(path = "record_form.html")]
pub struct FormPage {
    layout: Layout,
    heading: String,
    action: String,
    back: String,
    submit: &'static str,
    csrf_token: String,
    version: Option<i64>,
    inputs: Vec<FormInput>,
    errors: FieldErrors,
    /// Set when the record changed since the edit form was opened: the save was refused.
    stale: bool,
}

impl FormPage {
    /// The form page: the built-in `fields` and active custom fields the caller's role may see
    /// (read-only ones locked), focus on the first field with an error (else the first field)
    /// so the keyboard opens where the fix is.
    pub fn new(
        principal: &Principal,
        target: FormTarget,
        (fields, access, defs): (&[FormField], &FieldAccess, &[CustomField]),
        form: &RecordForm,
        errors: FieldErrors,
    ) -> Self {
        let builtin =
            fields.iter().filter(|(key, ..)| shows(access, key)).map(|(key, label, kind, autocomplete)| FormInput {
                name: (*key).to_owned(),
                label: (*label).to_owned(),
                kind,
                autocomplete,
                options: Vec::new(),
                help: None,
                value: form.value(key).to_owned(),
                errors: errors.get(*key).cloned().unwrap_or_default(),
                autofocus: false,
                read_only: access.check_write([*key]).is_err(),
            });
        let custom = defs.iter().filter(|def| def.active() && shows(access, &def.key)).map(|def| {
            let name = format!("{CUSTOM}{}", def.key);
            let (kind, options) = field::input_kind(def);
            FormInput {
                value: form.value(&name).to_owned(),
                name,
                label: if def.required { format!("{} (required)", def.label) } else { def.label.clone() },
                kind,
                autocomplete: "off",
                options,
                help: def.help.clone(),
                errors: errors.get(&def.key).cloned().unwrap_or_default(),
                autofocus: false,
                read_only: access.check_write([def.key.as_str()]).is_err(),
            }
        });
        let mut inputs: Vec<FormInput> = builtin.chain(custom).collect();
        let first_bad = inputs.iter().position(|input| !input.errors.is_empty()).unwrap_or(0);
        if let Some(input) = inputs.get_mut(first_bad) {
            input.autofocus = true;
        }
        Self {
            layout: Layout::for_caller(target.heading.clone(), principal),
            heading: target.heading,
            action: target.action,
            back: target.back,
            submit: target.submit,
            csrf_token: csrf_token(principal),
            version: form.version(),
            inputs,
            errors,
            stale: false,
        }
    }

    /// The same form after a save refused because the record changed meanwhile: what was
    /// typed stays, and the page says how to see the other change.
    pub fn stale(self) -> Self {
        Self { stale: true, ..self }
    }
}
