//! A telephone number that libphonenumber's metadata accepts as valid, held in E.164
//! (`+33612345678`) for storage and matching and shown in international format
//! (`+33 6 12 34 56 78`). Numbers typed without a country prefix are read in a default region,
//! which callers pass in (a workspace's country), never guess.
//!
//! The metadata is large and loaded lazily: the first parse costs about a hundred milliseconds,
//! so servers call [`Phone::warm`] at start-up rather than charge it to the first request.

use std::fmt;
use std::str::FromStr;

use phonenumber::country::Id;
use phonenumber::{Mode, PhoneNumber};

use crate::CountryCode;

#[derive(Clone, Debug)]
pub struct Phone {
    e164: String,
    number: PhoneNumber,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PhoneError {
    #[error("is empty")]
    Empty,
    #[error("is not a phone number")]
    Unreadable,
    #[error("is not a valid phone number for its country")]
    Invalid,
}

impl Phone {
    /// Reads `input` as typed by a person: with a `+` prefix it names its own country,
    /// otherwise it is read as a national number of `default_region`.
    pub fn parse(input: &str, default_region: CountryCode) -> Result<Self, PhoneError> {
        let trimmed = input.trim();
        if trimmed.is_empty() {
            return Err(PhoneError::Empty);
        }
        let region = Id::from_str(default_region.as_str()).ok();
        let number = phonenumber::parse(region, trimmed).map_err(|_| PhoneError::Unreadable)?;
        if !phonenumber::is_valid(&number) {
            return Err(PhoneError::Invalid);
        }
        let e164 = number.format().mode(Mode::E164).to_string();
        Ok(Self { e164, number })
    }

    /// Reads a number stored in E.164 by [`Phone::parse`].
    pub fn from_e164(stored: &str) -> Result<Self, PhoneError> {
        if !stored.starts_with('+') {
            return Err(PhoneError::Unreadable);
        }
        let number = phonenumber::parse(None, stored).map_err(|_| PhoneError::Unreadable)?;
        Ok(Self { e164: stored.to_owned(), number })
    }

    /// Loads the metadata so that the first real parse is as fast as the others.
    pub fn warm() {
        let _ = phonenumber::parse(None, "+14155550123");
    }

    pub fn as_e164(&self) -> &str {
        &self.e164
    }

    /// The number for people to read, e.g. `+44 20 7946 0958`.
    pub fn international(&self) -> String {
        self.number.format().mode(Mode::International).to_string()
    }
}

impl PartialEq for Phone {
    fn eq(&self, other: &Self) -> bool {
        self.e164 == other.e164
    }
}

impl Eq for Phone {}

impl fmt::Display for Phone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.international())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn region(code: &str) -> CountryCode {
        CountryCode::parse(code).expect("a country")
    }

    #[test]
    fn a_national_number_is_read_in_the_default_region() {
        let phone = Phone::parse("020 7946 0958", region("GB")).expect("valid");
        assert_eq!(phone.as_e164(), "+442079460958");
        assert_eq!(phone.international(), "+44 20 7946 0958");
    }

    #[test]
    fn a_number_with_a_country_prefix_ignores_the_default_region() {
        let phone = Phone::parse("+33 6 12 34 56 78", region("US")).expect("valid");
        assert_eq!(phone.as_e164(), "+33612345678");
        assert_eq!(Phone::from_e164(phone.as_e164()).expect("stored"), phone);
    }

    #[test]
    fn text_and_impossible_numbers_are_refused() {
        assert_eq!(Phone::parse("  ", region("US")), Err(PhoneError::Empty));
        assert_eq!(Phone::parse("call me", region("US")), Err(PhoneError::Unreadable));
        assert_eq!(Phone::parse("123", region("US")), Err(PhoneError::Invalid));
    }
}
