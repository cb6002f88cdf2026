//! A workspace's trait rules: which profile field a trait of identify (people) or group
//! (companies) calls fills, or that a trait is ignored. Rules come before the built-in mapping of
//! Segment's reserved traits, so a business whose site sends `zip_code`, `plan` or `nickname`
//! says where each goes. A trait may be a dotted path into nested traits (`billing.zip`). The
//! target is a field of the profile vocabulary (`first_name`, `address.postal_code` …) or a
//! live custom field's key; `null` ignores the trait.

use std::collections::BTreeSet;

use rapport_core::{Actor, FieldChange, WorkspaceId};
use rapport_db::{Db, DbError};
use serde_json::json;

use super::store;
use crate::field::{self, Object};
use crate::http::FieldErrors;

/// The built-in person fields a trait may fill.
pub const PERSON_FIELDS: &[&str] = &[
    "first_name",
    "last_name",
    "email",
    "phone",
    "birthday",
    "language",
    "time_zone",
    "currency",
    "lifecycle_stage",
    "address.street",
    "address.street2",
    "address.city",
    "address.region",
    "address.postal_code",
    "address.country",
];

/// The built-in company fields a trait may fill.
pub const COMPANY_FIELDS: &[&str] = &[
    "name",
    "domain",
    "email",
    "phone",
    "industry",
    "employees",
    "lifecycle_stage",
    "address.street",
    "address.street2",
    "address.city",
    "address.region",
    "address.postal_code",
    "address.country",
];

/// Rules per object, most a workspace may set.
const MAX_RULES: usize = 200;

/// One rule: `trait` fills `field`, or is ignored when `field` is null.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct TraitRule {
    /// The trait's name as sent, or a dotted path into nested traits.
    #[serde(rename = "trait")]
    pub name: String,
    /// A built-in field (`first_name`, `address.city` …) or a custom field's key; null ignores the trait.
    pub field: Option<String>,
}

/// A workspace's rules, for identify (people) and group (companies) calls.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct TraitRules {
    #[serde(default)]
    pub person: Vec<TraitRule>,
    #[serde(default)]
    pub company: Vec<TraitRule>,
}

pub async fn trait_rules(db: &Db, workspace: WorkspaceId) -> Result<TraitRules, DbError> {
    Ok(grouped(store::trait_rules(db, workspace).await?))
}

fn grouped(rows: Vec<(String, String, Option<String>)>) -> TraitRules {
    let mut rules = TraitRules::default();
    for (object, name, field) in rows {
        let rule = TraitRule { name, field };
        if object == Object::Company.as_str() { rules.company.push(rule) } else { rules.person.push(rule) }
    }
    rules
}

/// Checks and stores the workspace's rules in place of the ones it had, audited; refused by
/// rule (`person[2].field`) when a trait is empty, repeated or a field is unknown.
pub async fn save_trait_rules(
    db: &Db,
    (workspace, actor): (WorkspaceId, &Actor),
    rules: &TraitRules,
) -> Result<TraitRules, SaveError> {
    let mut errors = FieldErrors::new();
    let mut cleaned = TraitRules::default();
    for (object, given, kept, built_in) in [
        (Object::Person, &rules.person, &mut cleaned.person, PERSON_FIELDS),
        (Object::Company, &rules.company, &mut cleaned.company, COMPANY_FIELDS),
    ] {
        let custom: BTreeSet<String> = field::definitions(db, workspace, object)
            .await?
            .into_iter()
            .filter(|d| d.retired_at.is_none())
            .map(|d| d.key)
            .collect();
        if given.len() > MAX_RULES {
            errors.entry(object.as_str().to_owned()).or_default().push(format!("at most {MAX_RULES} rules"));
        }
        let mut seen = BTreeSet::new();
        for (n, rule) in given.iter().enumerate() {
            let at = |part: &str| format!("{}[{n}].{part}", object.as_str());
            let name = rule.name.trim();
            if name.is_empty() || name.len() > 200 || name.split('.').any(str::is_empty) {
                errors
                    .entry(at("trait"))
                    .or_default()
                    .push("must be a trait name or dotted path, up to 200 characters".into());
            } else if !seen.insert(name.to_owned()) {
                errors.entry(at("trait")).or_default().push("has a rule already".into());
            }
            let field = rule.field.as_deref().map(str::trim).filter(|f| !f.is_empty());
            if let Some(field) = field
                && !built_in.contains(&field)
                && !custom.contains(field)
            {
                errors.entry(at("field")).or_default().push(format!("`{field}` is no field of this object"));
            }
            kept.push(TraitRule { name: name.to_owned(), field: field.map(str::to_owned) });
        }
    }
    if !errors.is_empty() {
        return Err(SaveError::Invalid(errors));
    }
    let actor = actor.clone();
    let saved = cleaned.clone();
    db.write(move |tx| {
        Box::pin(async move {
            let before = grouped(store::trait_rules_in(tx, workspace).await?);
            let rows: Vec<(&str, &str, Option<&str>)> =
                [(Object::Person, &saved.person), (Object::Company, &saved.company)]
                    .into_iter()
                    .flat_map(|(object, rules)| {
                        rules.iter().map(move |r| (object.as_str(), r.name.as_str(), r.field.as_deref()))
                    })
                    .collect();
            store::replace_trait_rules(tx, workspace, &rows).await?;
            let changes: Vec<FieldChange> =
                [("person", &before.person, &saved.person), ("company", &before.company, &saved.company)]
                    .into_iter()
                    .filter_map(|(name, old, new)| FieldChange::between(name, json!(old), json!(new)))
                    .collect();
            crate::audit::record_setting(tx, (workspace, &actor), "trait_rules", &changes).await?;
            Ok::<_, DbError>(())
        })
    })
    .await?;
    Ok(cleaned)
}

#[derive(Debug, thiserror::Error)]
pub enum SaveError {
    #[error("some rules are invalid")]
    Invalid(FieldErrors),
    #[error(transparent)]
    Db(#[from] DbError),
}
