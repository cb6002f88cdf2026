//! ISO codes that reach Rapport as text: countries (ISO 3166-1 alpha-2) and currencies
//! (ISO 4217). Parsing accepts any letter case and answers the canonical upper-case code, so
//! `"fr"` and `"FR"` are one country everywhere.

use std::fmt;

#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CodeError {
    #[error("is not an ISO 3166-1 alpha-2 country code")]
    Country,
    #[error("is not an ISO 4217 currency code")]
    Currency,
}

/// A country by its two-letter code; also the default region for reading phone numbers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct CountryCode(isocountry::CountryCode);

impl CountryCode {
    pub fn parse(raw: &str) -> Result<Self, CodeError> {
        let upper = raw.trim().to_ascii_uppercase();
        isocountry::CountryCode::for_alpha2(&upper).map(Self).map_err(|_| CodeError::Country)
    }

    /// A country as files from other systems name it: an alpha-2 or alpha-3 code, or the
    /// English short name (`Canada`, `Germany`), whatever the case.
    pub fn parse_loose(raw: &str) -> Result<Self, CodeError> {
        let raw = raw.trim();
        Self::parse(raw)
            .or_else(|_| isocountry::CountryCode::for_alpha3_caseless(raw).map(Self).map_err(|_| CodeError::Country))
            .or_else(|_| {
                isocountry::CountryCode::iter()
                    .find(|code| code.name().eq_ignore_ascii_case(raw))
                    .map(|code| Self(*code))
                    .ok_or(CodeError::Country)
            })
    }

    pub fn as_str(&self) -> &'static str {
        self.0.alpha2()
    }

    /// The English short name, for menus.
    pub fn name(&self) -> &'static str {
        self.0.name()
    }
}

impl fmt::Display for CountryCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A currency by its three-letter code, knowing how many minor units it has.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct CurrencyCode(iso_currency::Currency);

impl CurrencyCode {
    pub fn parse(raw: &str) -> Result<Self, CodeError> {
        let upper = raw.trim().to_ascii_uppercase();
        iso_currency::Currency::from_code(&upper).map(Self).ok_or(CodeError::Currency)
    }

    pub fn as_str(&self) -> &'static str {
        self.0.code()
    }

    /// Decimal places of the minor unit: 2 for EUR, 0 for JPY, 3 for KWD. Codes without minor
    /// units (gold, testing codes) count as 0.
    pub fn exponent(&self) -> u32 {
        self.0.exponent().map_or(0, u32::from)
    }
}

impl fmt::Display for CurrencyCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

macro_rules! text_serde {
    ($name:ident) => {
        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let raw = String::deserialize(deserializer)?;
                Self::parse(&raw).map_err(serde::de::Error::custom)
            }
        }
    };
}

text_serde!(CountryCode);
text_serde!(CurrencyCode);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn country_codes_are_case_insensitive_and_checked() {
        assert_eq!(CountryCode::parse("fr").map(|c| c.as_str()), Ok("FR"));
        assert_eq!(CountryCode::parse(" US ").map(|c| c.as_str()), Ok("US"));
        assert_eq!(CountryCode::parse("XX"), Err(CodeError::Country));
        assert_eq!(CountryCode::parse("FRA"), Err(CodeError::Country));
    }

    #[test]
    fn currency_codes_know_their_minor_units() {
        let exponent = |code: &str| CurrencyCode::parse(code).map(|c| c.exponent());
        assert_eq!(exponent("eur"), Ok(2));
        assert_eq!(exponent("JPY"), Ok(0));
        assert_eq!(exponent("KWD"), Ok(3));
        assert_eq!(CurrencyCode::parse("EURO"), Err(CodeError::Currency));
    }
}
