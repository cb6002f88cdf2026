//! Delivery over SMTP with lettre: TLS by rustls, so no system OpenSSL is needed.

use anyhow::Context;
use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};

use super::Message;
use crate::config::{MailConfig, MailTls};

pub(super) async fn send(config: &MailConfig, message: &Message) -> anyhow::Result<()> {
    let from: Mailbox = config.from.parse().context("[mail] from is not an address")?;
    let to: Mailbox = message.to.parse().context("the recipient is not an address")?;
    let email = lettre::Message::builder()
        .from(from)
        .to(to)
        .subject(&message.subject)
        .multipart(MultiPart::alternative_plain_html(message.text.clone(), message.html.clone()))
        .context("building the message")?;
    let host = config.smtp_host.as_str();
    let builder = match config.tls {
        MailTls::None => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host),
        MailTls::Starttls => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(host)?,
        MailTls::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(host)?,
    };
    let mut builder = builder.port(config.smtp_port);
    if !config.username.is_empty() {
        builder = builder.credentials(Credentials::new(config.username.clone(), config.password.expose().clone()));
    }
    builder.build().send(email).await.with_context(|| format!("sending through {host}:{}", config.smtp_port))?;
    Ok(())
}
