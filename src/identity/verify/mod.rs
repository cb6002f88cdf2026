//! Email verification: a user proves they read mail at their address by opening a link that
//! carries a random 256-bit token (only its SHA-256 is stored). A link works once and for
//! [`VERIFY_VALID`]; asking again sends a fresh one and leaves earlier ones working until they
//! expire. Accepting an invitation proves the address too, without a separate link.
//!
//! The owner created at setup is sent a link by the [`SEND_JOB`] job, which the setup
//! transaction enqueues: the link needs the installation's public address, which the job's
//! registration knows and the workspace module does not.

mod store;
pub mod web;

use askama::Template;
use chrono::{Duration, Utc};
use rapport_core::{Email, Timestamp, UserId};
use rapport_db::{Db, DbError, Tx};
use rapport_jobs::{JobContext, NewJob, Registry};

use crate::mail::{self, MailError, Message};

/// How long a verification link works.
pub const VERIFY_VALID: Duration = Duration::days(2);
/// Sends a user a verification link; its payload is `{"user_id": N}`.
pub const SEND_JOB: &str = "identity.verify_email";
const TOKEN_PREFIX: &str = "rpv";

#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    #[error("this link is invalid, expired or was already used")]
    LinkInvalid,
    #[error(transparent)]
    Mail(#[from] MailError),
    #[error(transparent)]
    Db(#[from] DbError),
}

#[derive(Template)]
#[template(path = "mail/verify_email.txt")]
struct VerifyText<'a> {
    link: &'a str,
    days: i64,
}

#[derive(Template)]
#[template(path = "mail/verify_email.html")]
struct VerifyHtml<'a> {
    link: &'a str,
    days: i64,
}

/// Emails `user` a verification link, unless their address is verified already; returns
/// whether a message was queued.
#[tracing::instrument(skip(db, public_url))]
pub async fn send_verification(db: &Db, user: UserId, public_url: &str) -> Result<bool, VerifyError> {
    let Some((address, verified_at)) = store::user_email(db, user).await? else { return Ok(false) };
    if verified_at.is_some() {
        return Ok(false);
    }
    let email = Email::parse(&address).map_err(|_| DbError::Unavailable(format!("user {user} has no valid email")))?;
    let token = super::secret::random(TOKEN_PREFIX).map_err(|e| DbError::Unavailable(e.to_string()))?;
    let link = super::secret::emailed_link(public_url, "/account/verify-email", &token);
    let days = VERIFY_VALID.num_days();
    let message = Message::render(
        &email,
        "Confirm your email address for Rapport",
        &VerifyText { link: &link, days },
        &VerifyHtml { link: &link, days },
    )?;
    let token_hash = super::secret::hash(&token);
    let now = Utc::now();
    db.write(move |tx| {
        Box::pin(async move {
            store::insert_verification(tx, &token_hash, user, now, now + VERIFY_VALID).await?;
            mail::enqueue(tx, &message).await?;
            Ok::<_, VerifyError>(true)
        })
    })
    .await
}

/// Enqueues, in the caller's transaction, sending `user` a verification link.
pub async fn enqueue_verification(tx: &mut Tx, user: UserId) -> Result<(), DbError> {
    rapport_jobs::enqueue(tx, &NewJob::new(SEND_JOB, serde_json::json!({ "user_id": user }))).await?;
    Ok(())
}

/// Adds the [`SEND_JOB`] handler, whose links point at `public_url`.
pub fn register(registry: Registry, public_url: String) -> Registry {
    registry.handle(SEND_JOB, move |ctx: JobContext| {
        let public_url = public_url.clone();
        async move {
            let user: UserId = serde_json::from_value(ctx.payload["user_id"].clone())?;
            send_verification(&ctx.db, user, &public_url).await?;
            Ok(())
        }
    })
}

/// Verifies the address behind `token`, spending the link.
#[tracing::instrument(skip_all)]
pub async fn verify_email(db: &Db, token: &str) -> Result<(), VerifyError> {
    let token_hash = super::secret::hash(token);
    let now = Utc::now();
    db.write(move |tx| {
        Box::pin(async move {
            let user = store::spend_verification(tx, &token_hash, now).await?.ok_or(VerifyError::LinkInvalid)?;
            store::mark_verified(tx, user, now).await?;
            Ok(())
        })
    })
    .await
}

/// Records, in the caller's transaction, that `user` has proven their address another way.
pub(super) async fn mark_verified(tx: &mut Tx, user: UserId, now: Timestamp) -> Result<(), DbError> {
    store::mark_verified(tx, user, now).await
}

/// Whether `user` has verified their address.
pub async fn is_verified(db: &Db, user: UserId) -> Result<bool, DbError> {
    Ok(store::user_email(db, user).await?.is_some_and(|(_, verified_at)| verified_at.is_some()))
}
