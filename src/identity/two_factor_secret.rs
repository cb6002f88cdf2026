//! TOTP secrets at rest: sealed with ChaCha20-Poly1305 under a key derived from the
//! installation's secret key (`DATA_DIR/secret.key`, see [`crate::app::installation_key`]), so a
//! copy of the database alone (a backup, a dump) yields no second factor. The user id is bound
//! in as associated data: a sealed secret copied onto another user's row does not open.
//!
//! Stored form: `v1.` then base64 of the 12-byte nonce and the ciphertext with its tag. A value
//! without the prefix is a plaintext base32 secret from before encryption; it opens as it is and
//! the caller seals it in place ([`Opened::legacy`]).

use base64::Engine;
use base64::engine::general_purpose::STANDARD_NO_PAD;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use rapport_core::{Secret, UserId};

const PREFIX: &str = "v1.";
const NONCE: usize = 12;

/// The key TOTP secrets are sealed with.
#[derive(Clone)]
pub struct SecretKey(Secret<[u8; 32]>);

impl std::fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretKey([redacted])")
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SealError {
    #[error("no randomness for a nonce: {0}")]
    Random(String),
    #[error("a stored two-factor secret does not open with this installation's key")]
    Unreadable,
}

/// A stored secret opened: the base32 secret, and whether it was still stored in clear.
pub struct Opened {
    pub secret: Secret<String>,
    pub legacy: bool,
}

impl SecretKey {
    /// This installation's key, from (or, the first time, into) the data directory.
    pub fn of_installation(data_dir: &std::path::Path) -> std::io::Result<Self> {
        crate::app::installation_key(data_dir, "totp").map(|key| Self(Secret::new(key)))
    }

    fn cipher(&self) -> ChaCha20Poly1305 {
        ChaCha20Poly1305::new(&Key::from(*self.0.expose()))
    }

    pub fn seal(&self, user: UserId, secret: &str) -> Result<String, SealError> {
        let mut nonce = [0u8; NONCE];
        getrandom::fill(&mut nonce).map_err(|e| SealError::Random(e.to_string()))?;
        let aad = associated(user);
        let sealed = self
            .cipher()
            .encrypt(&Nonce::from(nonce), Payload { msg: secret.as_bytes(), aad: aad.as_bytes() })
            .map_err(|_| SealError::Unreadable)?;
        let mut stored = nonce.to_vec();
        stored.extend_from_slice(&sealed);
        Ok(format!("{PREFIX}{}", STANDARD_NO_PAD.encode(stored)))
    }

    pub fn open(&self, user: UserId, stored: &str) -> Result<Opened, SealError> {
        let Some(encoded) = stored.strip_prefix(PREFIX) else {
            return Ok(Opened { secret: Secret::new(stored.to_owned()), legacy: true });
        };
        let bytes = STANDARD_NO_PAD.decode(encoded).map_err(|_| SealError::Unreadable)?;
        if bytes.len() <= NONCE {
            return Err(SealError::Unreadable);
        }
        let (nonce, sealed) = bytes.split_at(NONCE);
        let nonce: [u8; NONCE] = nonce.try_into().map_err(|_| SealError::Unreadable)?;
        let aad = associated(user);
        let opened = self
            .cipher()
            .decrypt(&Nonce::from(nonce), Payload { msg: sealed, aad: aad.as_bytes() })
            .map_err(|_| SealError::Unreadable)?;
        let secret = String::from_utf8(opened).map_err(|_| SealError::Unreadable)?;
        Ok(Opened { secret: Secret::new(secret), legacy: false })
    }
}

fn associated(user: UserId) -> String {
    format!("rapport-totp:{user}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(byte: u8) -> SecretKey {
        SecretKey(Secret::new([byte; 32]))
    }

    #[test]
    fn a_sealed_secret_opens_only_with_its_key_and_for_its_user() {
        let (user, other) = (UserId::new(1), UserId::new(2));
        let sealed = key(7).seal(user, "JBSWY3DPEHPK3PXP").unwrap();
        assert!(sealed.starts_with(PREFIX) && !sealed.contains("JBSWY3DP"), "{sealed}");
        let opened = key(7).open(user, &sealed).unwrap();
        assert_eq!((opened.secret.expose().as_str(), opened.legacy), ("JBSWY3DPEHPK3PXP", false));
        assert!(key(8).open(user, &sealed).is_err(), "another installation's key");
        assert!(key(7).open(other, &sealed).is_err(), "copied onto another user's row");
        assert_ne!(key(7).seal(user, "JBSWY3DPEHPK3PXP").unwrap(), sealed, "a fresh nonce each time");
    }

    #[test]
    fn a_secret_stored_in_clear_opens_as_legacy() {
        let opened = key(7).open(UserId::new(1), "JBSWY3DPEHPK3PXP").unwrap();
        assert!(opened.legacy && opened.secret.expose() == "JBSWY3DPEHPK3PXP");
    }
}
