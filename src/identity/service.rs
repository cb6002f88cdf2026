//! Identity use cases. Password hashing is deliberately slow (argon2id), so it runs on the
//! blocking pool and always before a write transaction opens, never inside one.

use argon2::Argon2;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use rapport_core::{Email, UserId};
use rapport_db::{DbError, Tx};

use super::model::Password;

#[derive(Debug, thiserror::Error)]
pub enum IdentityError {
    #[error("a user with this email already exists")]
    EmailTaken,
    #[error("password hashing failed: {0}")]
    Hashing(String),
    #[error(transparent)]
    Db(#[from] DbError),
}

/// The PHC string (`$argon2id$…`) for `password`, computed off the async threads.
pub async fn hash_password(password: &Password) -> Result<String, IdentityError> {
    let password = password.clone();
    tokio::task::spawn_blocking(move || {
        Argon2::default()
            .hash_password(password.expose().as_bytes())
            .map(|hash| hash.to_string())
            .map_err(|e| IdentityError::Hashing(e.to_string()))
    })
    .await
    .map_err(|e| IdentityError::Hashing(e.to_string()))?
}

/// Argon2 evaluations by [`verify_password`] since start: what guessing has cost this process.
static PASSWORD_EVALUATIONS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

pub fn password_evaluations() -> u64 {
    PASSWORD_EVALUATIONS.load(std::sync::atomic::Ordering::Relaxed)
}

/// Whether `password` matches the stored PHC string `hash`.
pub async fn verify_password(password: &str, hash: &str) -> bool {
    PASSWORD_EVALUATIONS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let (password, hash) = (password.to_string(), hash.to_string());
    tokio::task::spawn_blocking(move || Argon2::default().verify_password(password.as_bytes(), hash.as_str()).is_ok())
        .await
        .unwrap_or(false)
}

/// Creates a user in the caller's transaction, with a password hashed beforehand.
pub async fn create_user(tx: &mut Tx, email: &Email, password_hash: &str) -> Result<UserId, IdentityError> {
    super::store::insert_user(tx, email, password_hash).await.map_err(|err| {
        if err.is_unique("users", "email_canonical", "users_email_canonical_key") {
            IdentityError::EmailTaken
        } else {
            IdentityError::Db(err)
        }
    })
}

/// Where to write to a member of `workspace`, read in the caller's transaction; `None` when the
/// user is not an active member (any more).
pub async fn member_email(
    tx: &mut Tx,
    workspace: rapport_core::WorkspaceId,
    user: UserId,
) -> Result<Option<Email>, DbError> {
    Ok(super::store::member_email(tx, workspace, user).await?.and_then(|raw| Email::parse(&raw).ok()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_hashed_password_verifies_and_a_wrong_one_does_not() {
        let password = Password::parse("correct horse battery").expect("valid");
        let hash = hash_password(&password).await.expect("hashes");
        assert!(hash.starts_with("$argon2id$"));
        assert!(verify_password("correct horse battery", &hash).await);
        assert!(!verify_password("correct horse battery!", &hash).await);
    }
}
