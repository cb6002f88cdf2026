//! Profile types shared by every object: the vocabulary entries, labelled contact points and
//! addresses, and the collector that turns raw input into typed values or a list of every bad
//! field at once.

use std::fmt::Display;

use rapport_core::{CountryCode, Email, Phone};
use serde::{Deserialize, Serialize};

use crate::http::FieldErrors;

/// How a field's values look, so that import, export, filters and field permissions can treat
/// any field without knowing its object.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum FieldKind {
    Text,
    Number,
    Email,
    Phone,
    Date,
    Country,
    Currency,
    Choice,
    User,
    Tags,
    Labelled,
    Map,
}

/// One name of the shared field vocabulary.
#[derive(Clone, Copy, Debug, Serialize, utoipa::ToSchema)]
pub struct FieldDef {
    /// As used in the API, CSV headers and import mappings: `first_name`, `address.city`.
    pub key: &'static str,
    pub label: &'static str,
    pub kind: FieldKind,
}

/// A contact point with an optional label (`work`, `home`) and whether it is the primary one.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Labelled<T> {
    pub value: T,
    pub label: Option<String>,
    pub primary: bool,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct LabelledInput {
    pub value: String,
    #[serde(default)]
    pub label: Option<String>,
    #[serde(default)]
    pub primary: bool,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AddressInput {
    pub street: Option<String>,
    pub street2: Option<String>,
    pub city: Option<String>,
    pub region: Option<String>,
    pub postal_code: Option<String>,
    /// ISO 3166-1 alpha-2.
    pub country: Option<String>,
}

/// A postal address; every part optional, the country checked.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Address {
    pub street: Option<String>,
    pub street2: Option<String>,
    pub city: Option<String>,
    pub region: Option<String>,
    pub postal_code: Option<String>,
    pub country: Option<CountryCode>,
}

impl Address {
    pub fn parse(input: &AddressInput, parsed: &mut Parsed) -> Self {
        Self {
            street: text(input.street.as_deref()),
            street2: text(input.street2.as_deref()),
            city: text(input.city.as_deref()),
            region: text(input.region.as_deref()),
            postal_code: text(input.postal_code.as_deref()),
            country: input.country.as_deref().and_then(|raw| parsed.field("address.country", CountryCode::parse(raw))),
        }
    }

    pub fn to_input(&self) -> AddressInput {
        AddressInput {
            street: self.street.clone(),
            street2: self.street2.clone(),
            city: self.city.clone(),
            region: self.region.clone(),
            postal_code: self.postal_code.clone(),
            country: self.country.map(|c| c.as_str().to_owned()),
        }
    }
}

impl<T> Labelled<T> {
    /// The input this reads back as, with the value written by `show`.
    pub fn to_input(&self, show: impl Fn(&T) -> String) -> LabelledInput {
        LabelledInput { value: show(&self.value), label: self.label.clone(), primary: self.primary }
    }
}

/// The value of the entry marked primary.
pub fn primary(all: &[LabelledInput]) -> Option<String> {
    all.iter().find(|l| l.primary).map(|l| l.value.clone())
}

/// Trimmed text, with blank meaning absent.
pub fn text(raw: Option<&str>) -> Option<String> {
    raw.map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned)
}

/// Collects every bad field of one input so that a 422 names them all, not only the first.
#[derive(Default)]
pub struct Parsed {
    errors: FieldErrors,
}

impl Parsed {
    /// The value, or `None` with the error recorded under `name`.
    pub fn field<T, E: Display>(&mut self, name: &str, result: Result<T, E>) -> Option<T> {
        result.map_err(|err| self.error(name, err)).ok()
    }

    pub fn error(&mut self, name: &str, message: impl Display) {
        self.errors.entry(name.to_owned()).or_default().push(message.to_string());
    }

    pub fn finish<T>(self, value: T) -> Result<T, FieldErrors> {
        if self.errors.is_empty() { Ok(value) } else { Err(self.errors) }
    }
}

/// Emails from the list `emails` and the primary `email`: each checked (errors under
/// `emails[i]` and `email`), duplicates dropped, exactly one primary when there are any.
pub fn parse_emails(primary: Option<&str>, all: &[LabelledInput], parsed: &mut Parsed) -> Vec<Labelled<Email>> {
    labelled("email", "emails", primary, all, parsed, Email::parse, |email| email.canonical())
}

/// Phones the same way as [`parse_emails`], national numbers read in `region`.
pub fn parse_phones(
    primary: Option<&str>,
    all: &[LabelledInput],
    region: CountryCode,
    parsed: &mut Parsed,
) -> Vec<Labelled<Phone>> {
    labelled("phone", "phones", primary, all, parsed, |raw| Phone::parse(raw, region), |p| p.as_e164().to_owned())
}

fn labelled<T, E: Display>(
    primary_name: &str,
    list_name: &str,
    primary: Option<&str>,
    all: &[LabelledInput],
    parsed: &mut Parsed,
    parse: impl Fn(&str) -> Result<T, E>,
    identity: impl Fn(&T) -> String,
) -> Vec<Labelled<T>> {
    let mut out: Vec<Labelled<T>> = Vec::new();
    for (i, input) in all.iter().enumerate() {
        let Some(value) = parsed.field(&format!("{list_name}[{i}]"), parse(&input.value)) else { continue };
        if out.iter().all(|seen| identity(&seen.value) != identity(&value)) {
            out.push(Labelled { value, label: text(input.label.as_deref()), primary: input.primary });
        }
    }
    if out.iter().filter(|l| l.primary).count() > 1 {
        parsed.error(list_name, "only one can be primary");
    }
    if let Some(value) =
        primary.filter(|raw| !raw.trim().is_empty()).and_then(|raw| parsed.field(primary_name, parse(raw)))
    {
        out.iter_mut().for_each(|l| l.primary = false);
        match out.iter_mut().find(|l| identity(&l.value) == identity(&value)) {
            Some(existing) => existing.primary = true,
            None => out.insert(0, Labelled { value, label: None, primary: true }),
        }
    }
    if !out.iter().any(|l| l.primary)
        && let Some(first) = out.first_mut()
    {
        first.primary = true;
    }
    out
}
