//! A workspace's settings as parsed values: the default currency, the time zone relative dates
//! are read in, the locale, and the country whose conventions national phone numbers follow.
//! A patch is checked field by field, so a refusal names every bad field at once.

use std::collections::BTreeMap;

use rapport_core::{CountryCode, CurrencyCode};
use serde_json::Value;

use super::model::WorkspaceName;

#[derive(Clone, Debug, PartialEq)]
pub struct WorkspaceSettings {
    pub name: WorkspaceName,
    pub default_currency: CurrencyCode,
    pub time_zone: chrono_tz::Tz,
    pub locale: Locale,
    pub country: CountryCode,
}

/// A BCP 47 language tag of the common shapes: `fr`, `fr-CA`, `zh-Hant-TW`, `es-419`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Locale(String);

impl Locale {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let mut parts = raw.trim().split(['-', '_']);
        let language = parts.next().unwrap_or_default();
        if !(2..=3).contains(&language.len()) || !language.bytes().all(|b| b.is_ascii_alphabetic()) {
            return Err("must be a language tag such as en-US or fr".into());
        }
        let mut tag = language.to_ascii_lowercase();
        for part in parts {
            let canonical = match part.len() {
                4 if part.bytes().all(|b| b.is_ascii_alphabetic()) => {
                    let (first, rest) = part.split_at(1);
                    format!("{}{}", first.to_ascii_uppercase(), rest.to_ascii_lowercase())
                }
                2 if part.bytes().all(|b| b.is_ascii_alphabetic()) => part.to_ascii_uppercase(),
                3 if part.bytes().all(|b| b.is_ascii_digit()) => part.to_owned(),
                _ => return Err("must be a language tag such as en-US or fr".into()),
            };
            tag.push('-');
            tag.push_str(&canonical);
        }
        Ok(Self(tag))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl WorkspaceSettings {
    /// Applies a JSON patch of settings (`name`, `default_currency`, `time_zone`, `locale`,
    /// `country`); an unknown key or a bad value is named in the errors and nothing changes.
    pub fn patched(&self, patch: &serde_json::Map<String, Value>) -> Result<Self, BTreeMap<String, Vec<String>>> {
        let mut next = self.clone();
        let mut errors: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (key, value) in patch {
            let Some(text) = value.as_str() else {
                errors.entry(key.clone()).or_default().push("must be a string".into());
                continue;
            };
            let outcome = match key.as_str() {
                "name" => WorkspaceName::parse(text).map(|v| next.name = v).map_err(|e| e.to_string()),
                "default_currency" => {
                    CurrencyCode::parse(text).map(|v| next.default_currency = v).map_err(|e| e.to_string())
                }
                "time_zone" => text
                    .parse::<chrono_tz::Tz>()
                    .map(|v| next.time_zone = v)
                    .map_err(|_| "must be an IANA time zone such as Europe/Paris".to_owned()),
                "locale" => Locale::parse(text).map(|v| next.locale = v),
                "country" => CountryCode::parse(text).map(|v| next.country = v).map_err(|e| e.to_string()),
                _ => Err("is not a workspace setting".to_owned()),
            };
            if let Err(message) = outcome {
                errors.entry(key.clone()).or_default().push(message);
            }
        }
        if errors.is_empty() { Ok(next) } else { Err(errors) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locales_are_checked_and_canonicalised() {
        assert_eq!(Locale::parse("fr_ca").map(|l| l.0), Ok("fr-CA".into()));
        assert_eq!(Locale::parse("zh-hant-tw").map(|l| l.0), Ok("zh-Hant-TW".into()));
        assert_eq!(Locale::parse("es-419").map(|l| l.0), Ok("es-419".into()));
        assert!(Locale::parse("english").is_err());
        assert!(Locale::parse("en-USA1").is_err());
    }
}
