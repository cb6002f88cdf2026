//! A company's types: the input shape the API, forms and import share ([`CompanyInput`], keyed
//! by the field vocabulary), the checked value a write stores ([`NewCompany`]), the vocabulary
//! itself ([`fields`]) and a person's link to a company ([`Link`]).

use std::collections::BTreeMap;

use rapport_core::{CompanyId, Email, FieldChange, PersonId, Phone, Timestamp, UserId};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::field::Stored;
use crate::http::FieldErrors;
use crate::person::LifecycleStage;
use crate::profile::{
    Address, AddressInput, FieldDef, FieldKind, Labelled, LabelledInput, Parsed, diff, flat_values, merge_patch,
    parse_emails, parse_phones, primary, tags, text, web_url,
};

/// A company as written by a client: every field optional but the name. `email` and `phone`
/// name the primary ones; `emails` and `phones` list them all.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CompanyInput {
    pub name: Option<String>,
    /// The company's web domain (`example.com`); a URL is reduced to its host.
    pub domain: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    #[serde(default)]
    pub emails: Vec<LabelledInput>,
    #[serde(default)]
    pub phones: Vec<LabelledInput>,
    #[serde(default)]
    pub address: AddressInput,
    pub industry: Option<String>,
    /// Head count.
    pub employees: Option<i64>,
    pub lifecycle_stage: Option<String>,
    /// A user id; the user must be a member of the workspace.
    pub owner: Option<i64>,
    pub source: Option<String>,
    #[serde(default)]
    pub tags: Vec<String>,
    /// Network name → profile URL.
    #[serde(default)]
    pub social: BTreeMap<String, String>,
    /// The id another system knows this company by; unique in the workspace.
    pub external_id: Option<String>,
    /// The workspace's custom fields by key (`GET /api/v1/custom-fields?object=company`); any
    /// other key is refused.
    #[serde(flatten)]
    #[schema(additional_properties)]
    pub custom: BTreeMap<String, Value>,
}

/// A company whose every field was checked, ready to store.
#[derive(Clone, Debug)]
pub struct NewCompany {
    pub name: String,
    pub domain: Option<String>,
    pub emails: Vec<Labelled<Email>>,
    pub phones: Vec<Labelled<Phone>>,
    pub address: Address,
    pub industry: Option<String>,
    pub employees: Option<i64>,
    pub lifecycle_stage: Option<LifecycleStage>,
    pub owner: Option<UserId>,
    pub source: Option<String>,
    pub tags: Vec<String>,
    pub social: BTreeMap<String, url::Url>,
    pub external_id: Option<String>,
    /// Custom values by field id, checked by the service against the workspace's fields.
    pub custom: Stored,
}

impl NewCompany {
    /// Checks every field, reading national phone numbers in `region`; on failure, every bad
    /// field is named.
    pub fn parse(input: &CompanyInput, region: rapport_core::CountryCode) -> Result<Self, FieldErrors> {
        let mut parsed = Parsed::default();
        let name = text(input.name.as_deref());
        if name.is_none() {
            parsed.error("name", "a company needs a name");
        }
        let company = Self {
            name: name.unwrap_or_default(),
            domain: text(input.domain.as_deref()).and_then(|raw| parsed.field("domain", domain(&raw))),
            emails: parse_emails(input.email.as_deref(), &input.emails, &mut parsed),
            phones: parse_phones(input.phone.as_deref(), &input.phones, region, &mut parsed),
            address: Address::parse(&input.address, &mut parsed),
            industry: text(input.industry.as_deref()),
            employees: input
                .employees
                .and_then(|n| parsed.field("employees", if n >= 0 { Ok(n) } else { Err("must not be negative") })),
            lifecycle_stage: text(input.lifecycle_stage.as_deref())
                .and_then(|raw| parsed.field("lifecycle_stage", LifecycleStage::parse(&raw))),
            owner: input.owner.map(UserId::new),
            source: text(input.source.as_deref()),
            tags: tags(&input.tags),
            social: input
                .social
                .iter()
                .filter_map(|(network, raw)| {
                    let url = parsed.field(&format!("social.{network}"), web_url(raw))?;
                    Some((network.trim().to_lowercase(), url))
                })
                .collect(),
            external_id: text(input.external_id.as_deref()),
            custom: Stored::new(),
        };
        parsed.finish(company)
    }

    /// The normalised input this company reads back as, custom values aside: they read back by
    /// key only through the workspace's definitions (`crate::field::named`).
    pub fn to_input(&self) -> CompanyInput {
        CompanyInput {
            name: Some(self.name.clone()),
            domain: self.domain.clone(),
            email: None,
            phone: None,
            emails: self.emails.iter().map(|l| l.to_input(|e| e.as_str().to_owned())).collect(),
            phones: self.phones.iter().map(|l| l.to_input(|p| p.as_e164().to_owned())).collect(),
            address: self.address.to_input(),
            industry: self.industry.clone(),
            employees: self.employees,
            lifecycle_stage: self.lifecycle_stage.map(|s| s.as_str().to_owned()),
            owner: self.owner.map(UserId::get),
            source: self.source.clone(),
            tags: self.tags.clone(),
            social: self.social.iter().map(|(k, v)| (k.clone(), v.to_string())).collect(),
            external_id: self.external_id.clone(),
            custom: BTreeMap::new(),
        }
    }

    pub fn primary_email(&self) -> Option<&Email> {
        self.emails.iter().find(|l| l.primary).map(|l| &l.value)
    }

    pub fn primary_phone(&self) -> Option<&Phone> {
        self.phones.iter().find(|l| l.primary).map(|l| &l.value)
    }
}

impl CompanyInput {
    /// This input with `patch` applied as a JSON merge patch. The primaries are left out of the
    /// base so that a patch of `emails` alone is not overridden by the old primary.
    pub fn merged(&self, patch: &Value) -> Result<Self, serde_json::Error> {
        let mut base = serde_json::to_value(Self { email: None, phone: None, ..self.clone() })?;
        merge_patch(&mut base, patch);
        serde_json::from_value(base)
    }

    fn values(&self) -> BTreeMap<String, Value> {
        let mut values = flat_values(serde_json::to_value(self).unwrap_or(Value::Null));
        values.insert("email".into(), primary(&self.emails).map_or(Value::Null, Value::String));
        values.insert("phone".into(), primary(&self.phones).map_or(Value::Null, Value::String));
        values
    }
}

/// The fields that differ between two versions of a company; `None` is "no company".
pub fn changes(old: Option<&CompanyInput>, new: Option<&CompanyInput>) -> Vec<FieldChange> {
    let values =
        |input: Option<&CompanyInput>| input.map_or_else(|| CompanyInput::default().values(), CompanyInput::values);
    diff(&values(old), &values(new))
}

/// A domain as people type it (`https://www.Example.com/about`) reduced to its host
/// (`example.com`), so one company has one spelling to match and deduplicate on.
pub(super) fn domain(raw: &str) -> Result<String, &'static str> {
    const BAD: &str = "must be a domain such as example.com";
    let with_scheme = if raw.contains("://") { raw.to_owned() } else { format!("https://{raw}") };
    let url = url::Url::parse(&with_scheme).map_err(|_| BAD)?;
    let host = url.host_str().ok_or(BAD)?.trim_end_matches('.').to_lowercase();
    let host = host.strip_prefix("www.").unwrap_or(&host).to_owned();
    let labels_ok = host.split('.').count() >= 2
        && host.split('.').all(|l| !l.is_empty() && l.chars().all(|c| c.is_alphanumeric() || c == '-'));
    if labels_ok { Ok(host) } else { Err(BAD) }
}

/// A company as stored and read back.
#[derive(Clone, Debug)]
pub struct Company {
    pub id: CompanyId,
    /// The fields by vocabulary name, custom values by key once named by the service.
    pub fields: CompanyInput,
    /// Custom values as stored, by field id, retired fields' included.
    pub custom: Stored,
    pub version: i64,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub deleted_at: Option<Timestamp>,
}

impl Company {
    /// What search finds this company by: name, domain, every email and phone, and tags.
    pub fn search_document(&self) -> crate::search::Document {
        use crate::search::Value;
        let fields = &self.fields;
        let mut values: Vec<Value> = [("name", &fields.name), ("domain", &fields.domain)]
            .into_iter()
            .filter_map(|(field, text)| text.as_deref().map(|text| Value::new(field, text)))
            .collect();
        values.extend(fields.emails.iter().map(|email| Value::new("email", &email.value)));
        values.extend(fields.phones.iter().map(|phone| Value::new("phone", &phone.value)));
        values.extend(fields.tags.iter().map(|tag| Value::new("tags", tag)));
        crate::search::Document {
            object: crate::search::Object::Company,
            record_id: self.id.get(),
            owner: fields.owner.map(UserId::new),
            fields: values,
        }
    }

    /// The value of the `ETag` header for this version.
    pub fn etag(&self) -> String {
        format!("\"{}\"", self.version)
    }
}

/// A person's place at a company.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct Link {
    pub company_id: CompanyId,
    pub company_name: String,
    pub person_id: PersonId,
    pub person_name: String,
    /// The person's role or title there.
    pub title: Option<String>,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
}

/// The field vocabulary of companies, for the API, CSV, import and field permissions.
pub fn fields() -> &'static [FieldDef] {
    use FieldKind::*;
    const FIELDS: &[FieldDef] = &[
        FieldDef { key: "name", label: "Name", kind: Text },
        FieldDef { key: "domain", label: "Domain", kind: Text },
        FieldDef { key: "email", label: "Email", kind: Email },
        FieldDef { key: "phone", label: "Phone", kind: Phone },
        FieldDef { key: "emails", label: "Emails", kind: Labelled },
        FieldDef { key: "phones", label: "Phones", kind: Labelled },
        FieldDef { key: "address.street", label: "Street", kind: Text },
        FieldDef { key: "address.street2", label: "Street (line 2)", kind: Text },
        FieldDef { key: "address.city", label: "City", kind: Text },
        FieldDef { key: "address.region", label: "Region", kind: Text },
        FieldDef { key: "address.postal_code", label: "Postal code", kind: Text },
        FieldDef { key: "address.country", label: "Country", kind: Country },
        FieldDef { key: "industry", label: "Industry", kind: Text },
        FieldDef { key: "employees", label: "Employees", kind: Number },
        FieldDef { key: "lifecycle_stage", label: "Lifecycle stage", kind: Choice },
        FieldDef { key: "owner", label: "Owner", kind: User },
        FieldDef { key: "source", label: "Source", kind: Text },
        FieldDef { key: "tags", label: "Tags", kind: Tags },
        FieldDef { key: "social", label: "Social profiles", kind: Map },
        FieldDef { key: "external_id", label: "External id", kind: Text },
    ];
    FIELDS
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_domain_is_reduced_to_its_lowercase_host() {
        assert_eq!(domain("https://www.Example.com/about").as_deref(), Ok("example.com"));
        assert_eq!(domain("shop.example.co.uk").as_deref(), Ok("shop.example.co.uk"));
        assert!(domain("not a domain").is_err());
        assert!(domain("localhost").is_err());
    }
}
