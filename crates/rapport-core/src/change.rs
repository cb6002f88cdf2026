//! A change to one field of a record, as services compute it and the audit trail, the timeline
//! and webhooks record it. Values are JSON so that every field type, custom fields included,
//! travels in one shape; `null` means "was empty" or "is now empty".

use serde_json::Value;

#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct FieldChange {
    /// The field's name in the shared vocabulary (`first_name`, `address.city`, a custom key).
    pub field: String,
    pub old: Value,
    pub new: Value,
}

impl FieldChange {
    /// The change from `old` to `new`, or `None` when nothing changed.
    pub fn between(field: &str, old: Value, new: Value) -> Option<Self> {
        (old != new).then(|| Self { field: field.to_owned(), old, new })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_values_are_no_change() {
        assert_eq!(FieldChange::between("city", "Lyon".into(), "Lyon".into()), None);
        let change = FieldChange::between("city", Value::Null, "Lyon".into()).expect("a change");
        assert_eq!((change.field.as_str(), change.new.as_str()), ("city", Some("Lyon")));
    }
}
