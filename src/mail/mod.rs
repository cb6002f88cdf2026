//! Outgoing email. Modules render a [`Message`] from their askama templates (a plain-text and an
//! HTML body) and hand it to [`enqueue`] inside the transaction of the change that causes it, so
//! a message exists if and only if that change committed. The `mail.send` job delivers it over
//! SMTP and retries with backoff while the server is unreachable.
//!
//! This module knows nothing of why a message is sent; it never reads business tables. When no
//! SMTP server is configured, the job writes the message to the log at WARN instead, so that a
//! fresh installation can still follow its own links.

mod transport;

use std::sync::Arc;

use askama::Template;
use rapport_core::Email;
use rapport_db::{DbError, Tx};
use rapport_jobs::{JobContext, NewJob, Registry};
use serde::{Deserialize, Serialize};

use crate::config::MailConfig;

pub const SEND: &str = "mail.send";

/// SMTP outages can last hours: eight attempts back off to about half an hour apart.
const ATTEMPTS: i32 = 8;

/// One message to one recipient, ready to send.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Message {
    pub to: String,
    pub subject: String,
    pub text: String,
    pub html: String,
}

#[derive(Debug, thiserror::Error)]
pub enum MailError {
    #[error("rendering the message failed: {0}")]
    Render(#[from] askama::Error),
    #[error(transparent)]
    Db(#[from] DbError),
}

impl Message {
    /// A message whose bodies are the two templates rendered.
    pub fn render(
        to: &Email,
        subject: impl Into<String>,
        text: &impl Template,
        html: &impl Template,
    ) -> Result<Self, MailError> {
        Ok(Self { to: to.as_str().to_owned(), subject: subject.into(), text: text.render()?, html: html.render()? })
    }
}

/// Enqueues `message` for delivery in the caller's transaction.
pub async fn enqueue(tx: &mut Tx, message: &Message) -> Result<(), MailError> {
    let payload = serde_json::to_value(message).map_err(|e| DbError::Unavailable(e.to_string()))?;
    rapport_jobs::enqueue(tx, &NewJob::new(SEND, payload).max_attempts(ATTEMPTS)).await?;
    Ok(())
}

/// Adds the `mail.send` handler, sending with `config`.
pub fn register(registry: Registry, config: &MailConfig) -> Registry {
    let config = Arc::new(config.clone());
    registry.handle(SEND, move |ctx: JobContext| {
        let config = Arc::clone(&config);
        async move {
            let message: Message = serde_json::from_value(ctx.payload)?;
            if config.smtp_host.is_empty() {
                tracing::warn!(
                    to = %message.to,
                    subject = %message.subject,
                    body = %message.text,
                    "mail is not configured (set [mail] smtp_host); this message was written here instead of sent"
                );
                return Ok(());
            }
            transport::send(&config, &message).await
        }
    })
}
