//! What record pages of every object share: a record's fields as label and text, as far as
//! the caller's role may see them, and the shape of a create form's inputs.

use serde_json::Value;

use super::{FieldDef, governing_field};
use crate::access::FieldAccess;
use crate::http::FieldErrors;

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

/// One input of a create form: vocabulary key, label, input type, autocomplete hint.
pub type FormField = (&'static str, &'static str, &'static str, &'static str);

/// An input as a form page shows it, with what was typed and its errors.
pub struct FormInput {
    pub key: &'static str,
    pub label: &'static str,
    pub kind: &'static str,
    pub autocomplete: &'static str,
    pub value: String,
    pub errors: Vec<String>,
    pub autofocus: bool,
}

/// The inputs of a form with what was typed (`value_of`) and each field's errors; focus goes
/// to the first field with an error (else the first field) so the keyboard opens where the fix is.
pub fn form_inputs<'a>(
    fields: &[FormField],
    value_of: impl Fn(&str) -> &'a str,
    errors: &FieldErrors,
) -> Vec<FormInput> {
    let first_bad = fields.iter().position(|(key, ..)| errors.contains_key(*key)).unwrap_or(0);
    fields
        .iter()
        .enumerate()
        .map(|(i, (key, label, kind, autocomplete))| FormInput {
            key,
            label,
            kind,
            autocomplete,
            value: value_of(key).to_owned(),
            errors: errors.get(*key).cloned().unwrap_or_default(),
            autofocus: i == first_bad,
        })
        .collect()
}
