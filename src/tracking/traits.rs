//! What the traits of an identify or group call say of a person or a company, in the profile
//! vocabulary: Segment's reserved traits (`email`, `firstName`, `address.postalCode` …, in camel
//! or snake case) onto the built-in fields, and any trait named like a custom field's key onto
//! that field. The workspace's own rules ([`TraitRule`]) come first: the traits they name are
//! left out of that mapping, and each goes to the field its rule gives (or nowhere). The result
//! is a merge patch, so a trait the call leaves out changes nothing.

use serde_json::{Map, Value};

use super::model::text;
use super::rules::TraitRule;

/// Built-in person fields and the trait names that carry them, first match wins.
const PERSON_TRAITS: &[(&str, &[&str])] = &[
    ("first_name", &["firstName", "first_name", "firstname"]),
    ("last_name", &["lastName", "last_name", "lastname"]),
    ("email", &["email"]),
    ("phone", &["phone"]),
    ("birthday", &["birthday"]),
];

const ADDRESS_TRAITS: &[(&str, &[&str])] = &[
    ("street", &["street", "line1"]),
    ("street2", &["street2", "line2"]),
    ("city", &["city"]),
    ("region", &["state", "region"]),
    ("postal_code", &["postalCode", "postal_code", "zip"]),
    ("country", &["country"]),
];

const COMPANY_TRAITS: &[(&str, &[&str])] = &[
    ("name", &["name"]),
    ("domain", &["website", "domain"]),
    ("industry", &["industry"]),
    ("email", &["email"]),
    ("phone", &["phone"]),
];

/// A person's fields as `traits` give them; `custom_keys` are the workspace's custom fields.
pub fn person_patch(traits: &Value, custom_keys: &[String], rules: &[TraitRule]) -> Map<String, Value> {
    let mut patch = with_rules(traits, (custom_keys, rules), |traits| {
        let mut patch = pick(traits, PERSON_TRAITS);
        if !patch.contains_key("first_name")
            && !patch.contains_key("last_name")
            && let Some(name) = text(traits.get("name"))
        {
            let mut words = name.splitn(2, char::is_whitespace);
            patch.insert("first_name".into(), words.next().unwrap_or_default().into());
            if let Some(last) = words.next().map(str::trim).filter(|l| !l.is_empty()) {
                patch.insert("last_name".into(), last.into());
            }
        }
        add_address_and_custom(&mut patch, traits, custom_keys);
        patch
    });
    if let Some(Value::String(birthday)) = patch.get_mut("birthday") {
        // Libraries send dates as date-times (`1990-05-17T00:00:00.000Z`): the day is what counts.
        birthday.truncate(birthday.find('T').unwrap_or(birthday.len()));
    }
    patch
}

/// A company's fields as a group call's `traits` give them.
pub fn company_patch(traits: &Value, custom_keys: &[String], rules: &[TraitRule]) -> Map<String, Value> {
    with_rules(traits, (custom_keys, rules), |traits| {
        let mut patch = pick(traits, COMPANY_TRAITS);
        if let Some(employees) = ["employees", "employee_count", "employeeCount"]
            .iter()
            .find_map(|key| traits.get(*key).and_then(Value::as_i64))
        {
            patch.insert("employees".into(), employees.into());
        }
        add_address_and_custom(&mut patch, traits, custom_keys);
        patch
    })
}

/// The patch `built_in` makes of the traits no rule names, with each rule's trait put in its
/// field. Custom fields and `employees` take the value as sent; built-in fields its text.
fn with_rules(
    traits: &Value,
    (custom_keys, rules): (&[String], &[TraitRule]),
    built_in: impl Fn(&Value) -> Map<String, Value>,
) -> Map<String, Value> {
    if rules.is_empty() {
        return built_in(traits);
    }
    let mut rest = traits.clone();
    for rule in rules {
        remove_path(&mut rest, &rule.name);
    }
    let mut patch = built_in(&rest);
    for rule in rules {
        let (Some(field), Some(given)) = (&rule.field, lookup(traits, &rule.name)) else { continue };
        let value = if custom_keys.contains(field) || field == "employees" {
            Some(given.clone()).filter(|v| !v.is_null())
        } else {
            text(Some(given)).map(Value::from)
        };
        let Some(value) = value else { continue };
        match field.split_once('.') {
            Some((outer, inner)) => {
                let nested = patch.entry(outer).or_insert_with(|| Value::Object(Map::new()));
                if let Some(nested) = nested.as_object_mut() {
                    nested.insert(inner.to_owned(), value);
                }
            }
            None => {
                patch.insert(field.clone(), value);
            }
        }
    }
    patch
}

fn lookup<'a>(traits: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.').try_fold(traits, |at, key| at.get(key))
}

fn remove_path(traits: &mut Value, path: &str) {
    let (parent, last) = match path.rsplit_once('.') {
        Some((parent, last)) => (parent.split('.').try_fold(&mut *traits, |at, key| at.get_mut(key)), last),
        None => (Some(traits), path),
    };
    if let Some(Value::Object(map)) = parent {
        map.remove(last);
    }
}

/// Takes out of `patch` the fields a check refused (`email`, `address.country`, a custom key),
/// so the rest can still be stored. Answers whether anything was taken out.
pub fn drop_fields<'a>(patch: &mut Map<String, Value>, refused: impl IntoIterator<Item = &'a String>) -> bool {
    let mut dropped = false;
    for name in refused {
        dropped |= match name.split_once('.') {
            Some((outer, inner)) => {
                let removed = patch.get_mut(outer).and_then(Value::as_object_mut).and_then(|o| o.remove(inner));
                if patch.get(outer).and_then(Value::as_object).is_some_and(Map::is_empty) {
                    patch.remove(outer);
                }
                removed.is_some()
            }
            None => patch.remove(name.as_str()).is_some(),
        };
    }
    dropped
}

/// The address (Segment's `address` object) and the custom fields both objects take.
fn add_address_and_custom(patch: &mut Map<String, Value>, traits: &Value, custom_keys: &[String]) {
    if let Some(address) = traits.get("address") {
        let address = pick(address, ADDRESS_TRAITS);
        if !address.is_empty() {
            patch.insert("address".into(), Value::Object(address));
        }
    }
    for key in custom_keys {
        if let Some(value) = traits.get(key).filter(|v| !v.is_null()) {
            patch.insert(key.clone(), value.clone());
        }
    }
}

fn pick(source: &Value, names: &[(&str, &[&str])]) -> Map<String, Value> {
    let mut picked = Map::new();
    for (field, aliases) in names {
        if let Some(value) = aliases.iter().find_map(|alias| text(source.get(*alias))) {
            picked.insert((*field).into(), value.into());
        }
    }
    picked
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn reserved_traits_map_in_either_case_and_custom_keys_pass_through() {
        let traits = json!({
            "firstName": "Ada", "last_name": "Lovelace", "email": "ada@example.com", "phone": 14155550100_i64,
            "birthday": "1815-12-10T00:00:00.000Z", "plan": "pro", "ignored": {"deep": true},
            "address": {"city": "London", "postalCode": "W1", "state": "Greater London", "country": "GB"}
        });
        let patch = person_patch(&traits, &["plan".to_owned()], &[]);
        assert_eq!(
            Value::Object(patch),
            json!({
                "first_name": "Ada", "last_name": "Lovelace", "email": "ada@example.com", "phone": "14155550100",
                "birthday": "1815-12-10", "plan": "pro",
                "address": {"city": "London", "postal_code": "W1", "region": "Greater London", "country": "GB"}
            })
        );
    }

    #[test]
    fn a_full_name_splits_when_no_parts_are_given() {
        let patch = person_patch(&json!({"name": "Grace Brewster Hopper"}), &[], &[]);
        assert_eq!(Value::Object(patch), json!({"first_name": "Grace", "last_name": "Brewster Hopper"}));
        let patch = person_patch(&json!({"name": "Grace Hopper", "firstName": "Amazing"}), &[], &[]);
        assert_eq!(Value::Object(patch), json!({"first_name": "Amazing"}));
    }

    #[test]
    fn refused_fields_are_dropped_nested_or_not() {
        let mut patch =
            person_patch(&json!({"email": "nope", "address": {"country": "Narnia"}, "lastName": "X"}), &[], &[]);
        assert!(drop_fields(&mut patch, &["email".to_owned(), "address.country".to_owned()]));
        assert_eq!(Value::Object(patch), json!({"last_name": "X"}));
    }

    #[test]
    fn company_traits_take_the_website_as_domain() {
        let patch = company_patch(
            &json!({"name": "Initech", "website": "https://initech.example", "employees": 120}),
            &[],
            &[],
        );
        assert_eq!(
            Value::Object(patch),
            json!({"name": "Initech", "domain": "https://initech.example", "employees": 120})
        );
    }

    #[test]
    fn the_workspaces_rules_come_before_the_built_in_mapping() {
        let rules = [
            TraitRule { name: "zip_code".into(), field: Some("address.postal_code".into()) },
            TraitRule { name: "billing.plan".into(), field: Some("plan".into()) },
            TraitRule { name: "name".into(), field: None },
            TraitRule { name: "given".into(), field: Some("first_name".into()) },
        ];
        let traits = json!({"zip_code": 94107, "billing": {"plan": {"tier": "pro"}}, "name": "Nick Name",
            "given": "Ada", "lastName": "Lovelace", "plan": "ignored: the rule reads billing.plan"});
        let patch = person_patch(&traits, &["plan".to_owned()], &rules);
        assert_eq!(patch.get("address"), Some(&json!({"postal_code": "94107"})));
        assert_eq!(patch.get("plan"), Some(&json!({"tier": "pro"})), "a custom field takes the value as sent");
        assert_eq!(patch.get("first_name"), Some(&json!("Ada")), "the ignored name is not split");
        assert_eq!(patch.get("last_name"), Some(&json!("Lovelace")), "traits no rule names map as ever");
    }
}
