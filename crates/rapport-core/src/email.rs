//! An email address that passed syntax checks and was normalised: surrounding spaces and tabs
//! trimmed, domain lower-cased. The local part keeps its case because RFC 5321 lets servers
//! treat it as case-sensitive; comparisons that want case-insensitivity use [`Email::canonical`].
//!
//! What is accepted, in the isemail suite's categories: every VALID address and every one that
//! only draws a DNS warning (syntax says nothing about mail exchangers), including a domain that
//! is a bare top-level name (`test@io`). Refused: all errors; RFC 5321-only forms that a
//! customer record has no use for and that mail tools mishandle (quoted local parts, IP address
//! literals, a numeric top-level label); RFC 5322-only forms (obsolete syntax, domain
//! literals); comments, folding white space and line breaks (CFWS and DEPREC), except that
//! plain spaces around the address are taken for form-input noise and trimmed. Limits follow
//! RFC 5321: 64 octets before the @, 254 in all, 63 per domain label. Non-ASCII characters are
//! allowed in the local part and domain labels (RFC 6531 internationalised mail).

use std::fmt;

#[derive(Clone, Debug, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(transparent)]
pub struct Email(String);

#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum EmailError {
    #[error("is empty")]
    Empty,
    #[error("must contain exactly one @ between a local part and a domain")]
    MissingAt,
    #[error("is longer than 254 characters")]
    TooLong,
    #[error("has a local part longer than 64 characters")]
    LocalTooLong,
    #[error("has characters not allowed before the @")]
    InvalidLocal,
    #[error("has a domain that is not a valid host name")]
    InvalidDomain,
}

const LOCAL_SPECIALS: &str = "!#$%&'*+/=?^_`{|}~-";

impl Email {
    pub fn parse(input: &str) -> Result<Self, EmailError> {
        let trimmed = input.trim_matches([' ', '\t']);
        if trimmed.is_empty() {
            return Err(EmailError::Empty);
        }
        if trimmed.len() > 254 {
            return Err(EmailError::TooLong);
        }
        let (local, domain) = trimmed.rsplit_once('@').ok_or(EmailError::MissingAt)?;
        if local.is_empty() || domain.is_empty() {
            return Err(EmailError::MissingAt);
        }
        if local.len() > 64 {
            return Err(EmailError::LocalTooLong);
        }
        if !is_dot_atom(local) {
            return Err(EmailError::InvalidLocal);
        }
        let domain = domain.to_ascii_lowercase();
        if !is_host_name(&domain) {
            return Err(EmailError::InvalidDomain);
        }
        Ok(Self(format!("{local}@{domain}")))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The form used for uniqueness and matching: the whole address lower-cased.
    pub fn canonical(&self) -> String {
        self.0.to_lowercase()
    }
}

fn is_dot_atom(local: &str) -> bool {
    local.split('.').all(|atom| {
        !atom.is_empty()
            && atom.chars().all(|c| c.is_ascii_alphanumeric() || LOCAL_SPECIALS.contains(c) || !c.is_ascii())
    })
}

/// LDH labels whose last is not all digits: `test@io` is a host name, `test@1.2.3.4` is an
/// address written without its brackets.
fn is_host_name(domain: &str) -> bool {
    let labels: Vec<&str> = domain.split('.').collect();
    labels.last().is_some_and(|tld| !tld.chars().all(|c| c.is_ascii_digit()))
        && labels.iter().all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.chars().all(|c| c.is_alphanumeric() || c == '-')
        })
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl<'de> serde::Deserialize<'de> for Email {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(deserializer)?;
        Self::parse(&raw).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_plain_address_is_accepted_and_its_domain_lower_cased() {
        let email = Email::parse("  Ada.Lovelace@Example.COM ").expect("valid");
        assert_eq!(email.as_str(), "Ada.Lovelace@example.com");
        assert_eq!(email.canonical(), "ada.lovelace@example.com");
    }

    #[test]
    fn addresses_without_a_host_name_or_with_bad_dots_are_refused() {
        for bad in [
            "",
            "plain",
            "a@1.2.3.4",
            "a\n@example.com",
            "@example.com",
            "a@",
            "a..b@example.com",
            ".a@example.com",
            "a@-x.com",
            "a b@example.com",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad} should be refused");
        }
    }

    #[test]
    fn length_limits_follow_rfc_5321() {
        let long_local = format!("{}@example.com", "a".repeat(65));
        assert_eq!(Email::parse(&long_local), Err(EmailError::LocalTooLong));
        let long_total = format!("a@{}.com", "b".repeat(260));
        assert_eq!(Email::parse(&long_total), Err(EmailError::TooLong));
    }
}
