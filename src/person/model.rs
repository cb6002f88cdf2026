//! A person's types: the input shape the API, forms and import share ([`PersonInput`], keyed by
//! the field vocabulary), the checked value a write stores ([`NewPerson`]), and the field
//! vocabulary itself ([`fields`]).

use std::collections::BTreeMap;

use chrono::NaiveDate;
use rapport_core::{CountryCode, CurrencyCode, Email, FieldChange, PersonId, Phone, Timestamp, UserId};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::field::Stored;
use crate::http::FieldErrors;
use crate::profile::{
    Address, AddressInput, FieldDef, FieldKind, Labelled, LabelledInput, Parsed, diff, flat_values, merge_patch,
    parse_emails, parse_phones, primary, tags, text, web_url,
};
pub use crate::profile::{TimelineEntry, governing_field};

/// Where a person stands with the business.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LifecycleStage {
    Subscriber,
    Lead,
    Opportunity,
    Customer,
    Evangelist,
    Churned,
    Other,
}

impl LifecycleStage {
    pub const ALL: [Self; 7] =
        [Self::Subscriber, Self::Lead, Self::Opportunity, Self::Customer, Self::Evangelist, Self::Churned, Self::Other];

    pub fn parse(raw: &str) -> Result<Self, String> {
        let raw = raw.trim();
        Self::ALL.into_iter().find(|stage| stage.as_str() == raw).ok_or_else(|| {
            let names: Vec<&str> = Self::ALL.iter().map(|s| s.as_str()).collect();
            format!("must be one of {}", names.join(", "))
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Subscriber => "subscriber",
            Self::Lead => "lead",
            Self::Opportunity => "opportunity",
            Self::Customer => "customer",
            Self::Evangelist => "evangelist",
            Self::Churned => "churned",
            Self::Other => "other",
        }
    }
}

/// A person as written by a client: every field optional, names from the shared vocabulary.
/// `email` and `phone` name the primary ones; `emails` and `phones` list them all.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PersonInput {
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    #[serde(default)]
    pub emails: Vec<LabelledInput>,
    #[serde(default)]
    pub phones: Vec<LabelledInput>,
    /// `YYYY-MM-DD`.
    pub birthday: Option<String>,
    #[serde(default)]
    pub address: AddressInput,
    /// A BCP 47 tag such as `fr` or `pt-BR`.
    pub language: Option<String>,
    /// An IANA zone such as `Europe/Paris`.
    pub time_zone: Option<String>,
    /// ISO 4217.
    pub currency: Option<String>,
    pub lifecycle_stage: Option<String>,
    /// A user id; the user must be a member of the workspace.
    pub owner: Option<i64>,
    pub source: Option<String>,
    #[serde(default)]
    pub tags: Vec<String>,
    /// Network name → profile URL.
    #[serde(default)]
    pub social: BTreeMap<String, String>,
    /// The id another system knows this person by; unique in the workspace.
    pub external_id: Option<String>,
    /// The workspace's custom fields by key (`GET /api/v1/custom-fields?object=person`); any
    /// other key is refused.
    #[serde(flatten)]
    #[schema(additional_properties)]
    pub custom: BTreeMap<String, Value>,
}

/// A person whose every field was checked, ready to store.
#[derive(Clone, Debug)]
pub struct NewPerson {
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub emails: Vec<Labelled<Email>>,
    pub phones: Vec<Labelled<Phone>>,
    pub birthday: Option<NaiveDate>,
    pub address: Address,
    pub language: Option<String>,
    pub time_zone: Option<String>,
    pub currency: Option<CurrencyCode>,
    pub lifecycle_stage: Option<LifecycleStage>,
    pub owner: Option<UserId>,
    pub source: Option<String>,
    pub tags: Vec<String>,
    pub social: BTreeMap<String, url::Url>,
    pub external_id: Option<String>,
    /// Custom values by field id, checked by the service against the workspace's fields.
    pub custom: Stored,
}

impl NewPerson {
    /// Checks every field, reading national phone numbers in `region`; on failure, every bad
    /// field is named.
    pub fn parse(input: &PersonInput, region: CountryCode) -> Result<Self, FieldErrors> {
        let mut parsed = Parsed::default();
        let first_name = text(input.first_name.as_deref());
        let last_name = text(input.last_name.as_deref());
        let emails = parse_emails(input.email.as_deref(), &input.emails, &mut parsed);
        let phones = parse_phones(input.phone.as_deref(), &input.phones, region, &mut parsed);
        if first_name.is_none() && last_name.is_none() && emails.is_empty() && phones.is_empty() {
            parsed.error("first_name", "a person needs a name, an email or a phone");
        }
        let person = Self {
            first_name,
            last_name,
            emails,
            phones,
            birthday: text(input.birthday.as_deref()).and_then(|raw| {
                parsed.field(
                    "birthday",
                    NaiveDate::parse_from_str(&raw, "%Y-%m-%d").map_err(|_| "must be a date as YYYY-MM-DD"),
                )
            }),
            address: Address::parse(&input.address, &mut parsed),
            language: text(input.language.as_deref()).and_then(|raw| parsed.field("language", language(&raw))),
            time_zone: text(input.time_zone.as_deref()).and_then(|raw| parsed.field("time_zone", time_zone(&raw))),
            currency: text(input.currency.as_deref())
                .and_then(|raw| parsed.field("currency", CurrencyCode::parse(&raw))),
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
        parsed.finish(person)
    }

    /// The normalised input this person reads back as, custom values aside: they read back by
    /// key only through the workspace's definitions (`crate::field::named`).
    pub fn to_input(&self) -> PersonInput {
        PersonInput {
            first_name: self.first_name.clone(),
            last_name: self.last_name.clone(),
            email: None,
            phone: None,
            emails: self.emails.iter().map(|l| l.to_input(|e| e.as_str().to_owned())).collect(),
            phones: self.phones.iter().map(|l| l.to_input(|p| p.as_e164().to_owned())).collect(),
            birthday: self.birthday.map(|d| d.format("%Y-%m-%d").to_string()),
            address: self.address.to_input(),
            language: self.language.clone(),
            time_zone: self.time_zone.clone(),
            currency: self.currency.map(|c| c.as_str().to_owned()),
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

impl PersonInput {
    /// This input with `patch` applied as a JSON merge patch (RFC 7396): keys present replace,
    /// `null` clears, objects merge. The primaries are left out of the base so that a patch of
    /// `emails` alone is not overridden by the old primary.
    pub fn merged(&self, patch: &Value) -> Result<Self, serde_json::Error> {
        let mut base = serde_json::to_value(Self { email: None, phone: None, ..self.clone() })?;
        merge_patch(&mut base, patch);
        serde_json::from_value(base)
    }

    /// The fields by their vocabulary name, `address` flattened and the primaries included.
    fn values(&self) -> BTreeMap<String, Value> {
        let mut values = flat_values(serde_json::to_value(self).unwrap_or(Value::Null));
        values.insert("email".into(), primary(&self.emails).map_or(Value::Null, Value::String));
        values.insert("phone".into(), primary(&self.phones).map_or(Value::Null, Value::String));
        values
    }
}

/// The fields that differ between two versions of a person; `None` is "no person" (before a
/// create, after a purge), so every set field counts.
pub fn changes(old: Option<&PersonInput>, new: Option<&PersonInput>) -> Vec<FieldChange> {
    let values =
        |input: Option<&PersonInput>| input.map_or_else(|| PersonInput::default().values(), PersonInput::values);
    diff(&values(old), &values(new))
}

/// A person as stored and read back.
#[derive(Clone, Debug)]
pub struct Person {
    pub id: PersonId,
    /// The fields by vocabulary name, custom values by key once named by the service.
    pub fields: PersonInput,
    /// Custom values as stored, by field id, retired fields' included.
    pub custom: Stored,
    pub version: i64,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub deleted_at: Option<Timestamp>,
    /// The survivor this person was merged into; they stay in the trash until the merge is
    /// undone or the trash purges them.
    pub merged_into: Option<PersonId>,
}

impl Person {
    /// What search finds this person by: names, every email and phone, and tags, each under
    /// the field whose rule governs it. Emails are listed primary first, so a result shows the
    /// primary one.
    pub fn search_document(&self) -> crate::search::Document {
        use crate::search::Value;
        let fields = &self.fields;
        let mut values: Vec<Value> = [("first_name", &fields.first_name), ("last_name", &fields.last_name)]
            .into_iter()
            .filter_map(|(field, text)| text.as_deref().map(|text| Value::new(field, text)))
            .collect();
        let mut emails: Vec<&LabelledInput> = fields.emails.iter().collect();
        emails.sort_by_key(|email| !email.primary);
        values.extend(emails.into_iter().map(|email| Value::new("email", &email.value)));
        values.extend(fields.phones.iter().map(|phone| Value::new("phone", &phone.value)));
        values.extend(fields.tags.iter().map(|tag| Value::new("tags", tag)));
        crate::search::Document {
            object: crate::search::Object::Person,
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

/// A language tag's shape (BCP 47 primary subtag with an optional region or script), not a
/// registry lookup.
fn language(raw: &str) -> Result<String, &'static str> {
    let mut parts = raw.split(['-', '_']);
    let primary = parts.next().unwrap_or_default();
    let ok = (2..=3).contains(&primary.len())
        && primary.chars().all(|c| c.is_ascii_alphabetic())
        && parts.all(|p| (2..=8).contains(&p.len()) && p.chars().all(|c| c.is_ascii_alphanumeric()));
    if ok { Ok(raw.replace('_', "-")) } else { Err("must be a language tag such as en or pt-BR") }
}

/// An IANA zone name's shape (`UTC`, `Area/Location`); the zone database is not consulted.
fn time_zone(raw: &str) -> Result<String, &'static str> {
    let ok = raw == "UTC"
        || (raw.contains('/')
            && raw
                .split('/')
                .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_alphanumeric() || "_+-".contains(c))));
    if ok { Ok(raw.to_owned()) } else { Err("must be a time zone such as Europe/Paris") }
}

/// The field vocabulary of people, for the API, CSV, import and field permissions.
pub fn fields() -> &'static [FieldDef] {
    use FieldKind::*;
    const FIELDS: &[FieldDef] = &[
        FieldDef { key: "first_name", label: "First name", kind: Text },
        FieldDef { key: "last_name", label: "Last name", kind: Text },
        FieldDef { key: "email", label: "Email", kind: Email },
        FieldDef { key: "phone", label: "Phone", kind: Phone },
        FieldDef { key: "emails", label: "Emails", kind: Labelled },
        FieldDef { key: "phones", label: "Phones", kind: Labelled },
        FieldDef { key: "birthday", label: "Birthday", kind: Date },
        FieldDef { key: "address.street", label: "Street", kind: Text },
        FieldDef { key: "address.street2", label: "Street (line 2)", kind: Text },
        FieldDef { key: "address.city", label: "City", kind: Text },
        FieldDef { key: "address.region", label: "Region", kind: Text },
        FieldDef { key: "address.postal_code", label: "Postal code", kind: Text },
        FieldDef { key: "address.country", label: "Country", kind: Country },
        FieldDef { key: "language", label: "Language", kind: Text },
        FieldDef { key: "time_zone", label: "Time zone", kind: Text },
        FieldDef { key: "currency", label: "Currency", kind: Currency },
        FieldDef { key: "lifecycle_stage", label: "Lifecycle stage", kind: Choice },
        FieldDef { key: "owner", label: "Owner", kind: User },
        FieldDef { key: "source", label: "Source", kind: Text },
        FieldDef { key: "tags", label: "Tags", kind: Tags },
        FieldDef { key: "social", label: "Social profiles", kind: Map },
        FieldDef { key: "external_id", label: "External id", kind: Text },
    ];
    FIELDS
}
