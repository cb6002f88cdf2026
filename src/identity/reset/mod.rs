//! Password reset: a user who forgot their password asks for a link by email; the link carries a
//! random 256-bit token (only its SHA-256 is stored), works once and expires after
//! [`RESET_VALID`]. Setting a new password through it revokes every session of the user, so
//! whoever knew the old password is signed out everywhere.
//!
//! Asking for a link answers the same whether or not the address has an account. The email
//! travels as a `mail.send` job enqueued with the link, in one transaction.

mod store;
pub mod web;

use askama::Template;
use chrono::{Duration, Utc};
use rapport_core::Email;
use rapport_db::{Db, DbError};

use super::model::Password;
use super::service::{IdentityError, hash_password};
use crate::mail::{self, MailError, Message};

/// How long a reset link works.
pub const RESET_VALID: Duration = Duration::hours(1);
const TOKEN_PREFIX: &str = "rpr";

#[derive(Debug, thiserror::Error)]
pub enum ResetError {
    #[error("this link is invalid, expired or was already used")]
    LinkInvalid,
    #[error(transparent)]
    Identity(#[from] IdentityError),
    #[error(transparent)]
    Mail(#[from] MailError),
    #[error(transparent)]
    Db(#[from] DbError),
}

#[derive(Template)]
#[template(path = "mail/password_reset.txt")]
struct ResetText<'a> {
    link: &'a str,
    minutes: i64,
}

#[derive(Template)]
#[template(path = "mail/password_reset.html")]
struct ResetHtml<'a> {
    link: &'a str,
    minutes: i64,
}

/// Emails a reset link to `email` if it belongs to an active account; otherwise does nothing,
/// and the caller cannot tell which happened.
#[tracing::instrument(skip_all)]
pub async fn request_reset(db: &Db, email: &str, public_url: &str) -> Result<(), ResetError> {
    let Ok(email) = Email::parse(email) else { return Ok(()) };
    let Some(user) = store::active_user(db, &email.canonical()).await? else { return Ok(()) };
    let token = super::secret::random(TOKEN_PREFIX).map_err(|e| DbError::Unavailable(e.to_string()))?;
    let link = super::secret::emailed_link(public_url, "/password/reset", &token);
    let minutes = RESET_VALID.num_minutes();
    let message = Message::render(
        &email,
        "Reset your Rapport password",
        &ResetText { link: &link, minutes },
        &ResetHtml { link: &link, minutes },
    )?;
    let token_hash = super::secret::hash(&token);
    let now = Utc::now();
    db.write(move |tx| {
        Box::pin(async move {
            store::insert_reset(tx, &token_hash, user, now, now + RESET_VALID).await?;
            mail::enqueue(tx, &message).await?;
            Ok::<_, ResetError>(())
        })
    })
    .await
}

/// Whether `token` is a reset link that still works, to show the form or say so up front.
pub async fn reset_link_valid(db: &Db, token: &str) -> Result<bool, ResetError> {
    Ok(store::live_reset(db, &super::secret::hash(token), Utc::now()).await?)
}

/// Sets a new password through a reset link, spending the link and every other outstanding link
/// of the user, clearing failed sign-ins and revoking all of the user's sessions.
#[tracing::instrument(skip_all)]
pub async fn reset_password(db: &Db, token: &str, password: &Password) -> Result<(), ResetError> {
    if !reset_link_valid(db, token).await? {
        return Err(ResetError::LinkInvalid);
    }
    let password_hash = hash_password(password).await?;
    let token_hash = super::secret::hash(token);
    let now = Utc::now();
    db.write(move |tx| {
        Box::pin(async move {
            let user = store::spend_reset(tx, &token_hash, now).await?.ok_or(ResetError::LinkInvalid)?;
            store::set_password(tx, user, &password_hash, now).await?;
            store::revoke_user_sessions(tx, user, now).await?;
            Ok(())
        })
    })
    .await
}
