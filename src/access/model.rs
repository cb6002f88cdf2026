//! Access values: role names as parsed input, field rules and the field projection every path
//! that reads or writes a record's fields goes through.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use rapport_core::UserId;

use crate::identity::Grant;

/// A custom role's or a team's name: 1 to 60 characters once trimmed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Name(String);

impl Name {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let name = raw.trim();
        if name.is_empty() || name.chars().count() > 60 {
            return Err("must be 1 to 60 characters".into());
        }
        Ok(Self(name.to_owned()))
    }

    /// Whether a role of this name would be mistaken for a built-in one.
    pub fn is_builtin_role(&self) -> bool {
        crate::identity::Role::parse(&self.0.to_lowercase()).is_some()
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// How a role may see a field; a field without a rule is visible and writable.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FieldRule {
    Hidden,
    ReadOnly,
}

impl FieldRule {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Hidden => "hidden",
            Self::ReadOnly => "read_only",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        [Self::Hidden, Self::ReadOnly].into_iter().find(|rule| rule.as_str() == raw)
    }
}

/// A write to a field the caller may not change (403 `field_read_only`, naming the field).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("the field {field} is read-only for your role")]
pub struct ForbiddenField {
    pub field: String,
}

/// One caller's field rules for one kind of record. Obtain it once per request with
/// [`super::field_access`] and use it for every record of the response: rules can change
/// between requests, so it is never cached beyond one.
#[derive(Clone, Debug, Default)]
pub struct FieldAccess {
    rules: BTreeMap<String, FieldRule>,
}

impl FieldAccess {
    pub(super) fn new(rules: BTreeMap<String, FieldRule>) -> Self {
        Self { rules }
    }

    /// The rule for `field`: its own, or the closest rule on an enclosing key (a rule on
    /// `address` covers `address.city`), the stricter one winning.
    fn rule(&self, field: &str) -> Option<FieldRule> {
        let mut found = self.rules.get(field).copied();
        for (end, _) in field.match_indices('.') {
            match self.rules.get(&field[..end]) {
                Some(FieldRule::Hidden) => return Some(FieldRule::Hidden),
                Some(FieldRule::ReadOnly) => found = found.or(Some(FieldRule::ReadOnly)),
                None => {}
            }
        }
        found
    }

    pub fn visible(&self, field: &str) -> bool {
        self.rule(field) != Some(FieldRule::Hidden)
    }

    /// Removes every hidden field from `record`, nested keys (`address.city`) included.
    pub fn project(&self, record: &mut Map<String, Value>) {
        self.project_under("", record);
    }

    fn project_under(&self, prefix: &str, record: &mut Map<String, Value>) {
        record.retain(|key, value| {
            let path = if prefix.is_empty() { key.clone() } else { format!("{prefix}.{key}") };
            if !self.visible(&path) {
                return false;
            }
            if let Value::Object(nested) = value {
                self.project_under(&path, nested);
            }
            true
        });
    }

    /// Refuses a write that touches a read-only or hidden field, naming the first one.
    pub fn check_write<'a>(&self, fields: impl IntoIterator<Item = &'a str>) -> Result<(), ForbiddenField> {
        match fields.into_iter().find(|field| self.rule(field).is_some()) {
            Some(field) => Err(ForbiddenField { field: field.to_owned() }),
            None => Ok(()),
        }
    }
}

/// Which records of a module one action reaches for one caller, by their owner: any record of
/// the workspace, or only those owned by one of these members (the caller, and for reach
/// `team` everyone sharing a team with them). A record without an owner is reached only by
/// [`OwnerFilter::Any`]: nobody owns it, so it is nobody's "own".
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OwnerFilter {
    Any,
    OwnedBy(Vec<UserId>),
}

impl OwnerFilter {
    pub fn covers(&self, owner: Option<UserId>) -> bool {
        match self {
            Self::Any => true,
            Self::OwnedBy(owners) => owner.is_some_and(|owner| owners.contains(&owner)),
        }
    }

    /// The owners a store puts in its `owner_id IN (…)` condition; `None` for no condition.
    pub fn owners(&self) -> Option<&[UserId]> {
        match self {
            Self::Any => None,
            Self::OwnedBy(owners) => Some(owners),
        }
    }
}

/// Whether `owner` keeps a record within the update reach `change` of the caller `me`: anyone
/// for a reach of `all`, the caller or a team mate for `team`, the caller for `own`. Making
/// oneself the owner is always allowed, since it hands nothing away.
pub fn owner_allowed(me: UserId, change: Option<&OwnerFilter>, owner: Option<UserId>) -> bool {
    owner == Some(me) || change.is_some_and(|change| change.covers(owner))
}

/// A custom role as the roles page lists it.
#[derive(Clone, Debug)]
pub struct RoleSummary {
    pub id: i64,
    pub name: String,
    pub grants: Vec<Grant>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn access() -> FieldAccess {
        FieldAccess::new(BTreeMap::from([
            ("email".to_owned(), FieldRule::Hidden),
            ("address.city".to_owned(), FieldRule::Hidden),
            ("first_name".to_owned(), FieldRule::ReadOnly),
        ]))
    }

    #[test]
    fn projection_removes_hidden_fields_including_nested_ones() {
        let mut record = serde_json::json!({
            "first_name": "Ada", "email": "ada@example.com",
            "address": {"city": "London", "country": "GB"}
        });
        access().project(record.as_object_mut().unwrap());
        assert_eq!(record, serde_json::json!({"first_name": "Ada", "address": {"country": "GB"}}));
    }

    #[test]
    fn read_only_and_hidden_fields_refuse_writes_naming_the_field() {
        let access = access();
        assert_eq!(access.check_write(["last_name", "first_name"]).unwrap_err().field, "first_name");
        assert_eq!(access.check_write(["email"]).unwrap_err().field, "email");
        assert!(access.check_write(["last_name", "address.country"]).is_ok());
        assert!(!access.visible("address.city") && access.visible("address"));
    }

    #[test]
    fn an_owner_filter_reaches_only_its_owners_and_never_an_unowned_record() {
        let (me, mate) = (UserId::new(1), UserId::new(2));
        let team = OwnerFilter::OwnedBy(vec![me, mate]);
        assert!(team.covers(Some(mate)) && !team.covers(Some(UserId::new(3))) && !team.covers(None));
        assert!(OwnerFilter::Any.covers(None) && OwnerFilter::Any.owners().is_none());
        assert_eq!(team.owners(), Some([me, mate].as_slice()));
    }

    #[test]
    fn a_rule_on_a_parent_key_covers_its_children() {
        let access = FieldAccess::new(BTreeMap::from([("address".to_owned(), FieldRule::Hidden)]));
        assert!(!access.visible("address.city"));
        assert!(Name::parse(" Admin ").unwrap().is_builtin_role());
        assert!(Name::parse("  ").is_err());
    }
}
