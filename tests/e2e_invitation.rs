//! Invitations in a real browser: the owner sets up a workspace, invites a colleague from
//! `/members`, the link arrives at a loopback SMTP server, and the colleague opens it, chooses a
//! password and lands signed in. The members page and the accept page are checked at a phone's
//! width and a desktop's. Skipped when Chromium or aiosmtpd is not installed.

mod browser;
mod util;

use std::time::{Duration, Instant};

use browser::{Browser, Server};
use fantoccini::Locator;
use util::smtp::{SmtpSink, free_port, link};

const OWNER: &str = "owner@example.com";
const INVITEE: &str = "colleague@example.com";
const PASSWORD: &str = "correct horse battery staple";

async fn main_text(browser: &Browser) -> String {
    browser.find(Locator::Css("main")).await.expect("a page").text().await.expect("text")
}

/// The server's worker sends mail on its own schedule: wait for the message, with a deadline.
async fn invitation_link(sink: &SmtpSink, server_url: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(message) = sink.messages_to(INVITEE).pop() {
            return link(&message, &format!("{server_url}/invitations/accept?token="));
        }
        assert!(Instant::now() < deadline, "no invitation arrived within 30 s");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn an_owner_invites_a_colleague_who_sets_a_password_and_lands_signed_in() {
    let Some(mut browser) = Browser::launch().await else {
        return;
    };
    let Some(sink) = SmtpSink::start_or_skip() else { return };
    let port = sink.port.to_string();
    // Links in mail name the configured address, so the server listens on a known port.
    let listen = format!("127.0.0.1:{}", free_port());
    let server = Server::start_with(&[
        ("RAPPORT_LISTEN", &listen),
        ("RAPPORT_MAIL__SMTP_HOST", "127.0.0.1"),
        ("RAPPORT_MAIL__SMTP_PORT", &port),
        ("RAPPORT_MAIL__TLS", "none"),
    ])
    .await;
    let setup_link = server.setup_link.clone().expect("a fresh installation prints a setup link");
    browser.goto(&setup_link).await.expect("the setup page loads");
    browser.fill("#workspace_name", "Acme Ltd").await;
    browser.fill("#owner_email", OWNER).await;
    browser.fill("#password", PASSWORD).await;
    browser.fill("#password_confirm", PASSWORD).await;
    browser.click_and_wait_for_next_page("form.form button[type=submit]").await;
    browser.goto(&format!("{}/login", server.url)).await.expect("the sign-in page loads");
    browser.fill("#email", OWNER).await;
    browser.fill("#password", PASSWORD).await;
    browser.click_and_wait_for_next_page("form.form button[type=submit]").await;

    browser.goto(&format!("{}/members", server.url)).await.expect("the members page loads");
    browser.check_at_both_widths("members").await;
    browser.fill("#invite-email", INVITEE).await;
    browser.click_and_wait_for_next_page("form#invite button[type=submit]").await;
    let page = main_text(&browser).await;
    assert!(page.contains("Pending invitations") && page.contains(INVITEE), "the invitation is pending: {page}");
    browser.check_at_both_widths("members-invited").await;

    let link = invitation_link(&sink, &server.url).await;
    browser.goto(&link).await.expect("the invitation link opens");
    let page = main_text(&browser).await;
    assert!(page.contains("Join Acme Ltd") && page.contains(OWNER), "workspace and inviter are shown: {page}");
    browser.check_at_both_widths("invitation-accept").await;
    browser.fill("#password", "a colleague's own passphrase").await;
    browser.click_and_wait_for_next_page("form.form button[type=submit]").await;
    let home = main_text(&browser).await;
    assert!(home.contains(&format!("Signed in as {INVITEE}")), "the colleague lands signed in: {home}");
    browser.check_at_both_widths("invitation-signed-in").await;

    browser.close().await;
}
