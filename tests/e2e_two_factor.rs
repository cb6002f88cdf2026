//! Two-factor authentication in a real browser, at a phone's width and a desktop's: an owner
//! signs in, turns two-factor on with a code computed from the key on the page, signs out, and
//! signs in again with password and code. The account pages (sessions, tokens, password) are
//! checked for overflow and console errors on the way. Skipped when Chromium is not installed
//! (see `browser::tools`).

mod browser;
mod util;

use browser::{Browser, Server};
use fantoccini::Locator;

const PHONE: (u32, u32) = (390, 844);
const EMAIL: &str = "owner@example.com";
const PASSWORD: &str = "correct horse battery staple";

/// The code an authenticator app shows `steps` steps from now.
fn code(secret: &str, steps: u64) -> String {
    let secret = totp_rs::Secret::try_from_base32(secret).expect("the page shows a base32 key");
    let totp = totp_rs::Builder::new().with_secret(secret).build().expect("a valid key");
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("after 1970").as_secs();
    totp.generate(now + steps * 30).to_string()
}

async fn heading(browser: &Browser) -> String {
    browser.find(Locator::Css("h1")).await.expect("the page has a heading").text().await.expect("text")
}

async fn sign_in(browser: &Browser, server: &Server) {
    browser.goto(&format!("{}/login", server.url)).await.expect("the sign-in page loads");
    browser.fill("#email", EMAIL).await;
    browser.fill("#password", PASSWORD).await;
    browser.click_and_wait_for_next_page("form.form button[type=submit]").await;
}

#[tokio::test]
async fn an_owner_turns_on_two_factor_and_signs_in_with_a_code_at_phone_and_desktop_widths() {
    let Some(mut browser) = Browser::launch().await else {
        return;
    };
    let server = Server::start().await;
    let setup_link = server.setup_link.clone().expect("a fresh installation prints a setup link");
    browser.goto(&setup_link).await.expect("the setup page loads");
    browser.fill("#workspace_name", "Acme Ltd").await;
    browser.fill("#owner_email", EMAIL).await;
    browser.fill("#password", PASSWORD).await;
    browser.fill("#password_confirm", PASSWORD).await;
    browser.click_and_wait_for_next_page("form.form button[type=submit]").await;

    browser.set_viewport(PHONE.0, PHONE.1).await;
    sign_in(&browser, &server).await;
    let home = browser.find(Locator::Css("main")).await.expect("a page").text().await.expect("text");
    assert!(home.contains("Signed in as"), "a password alone signs in before enrolment: {home}");

    browser.goto(&format!("{}/account/two-factor", server.url)).await.expect("the enrolment page loads");
    assert_eq!(heading(&browser).await, "Two-factor authentication");
    let qr = browser.find(Locator::Css(".qr svg")).await.expect("a QR code is on the page");
    assert!(qr.is_displayed().await.expect("the QR code answers"), "the QR code is visible");
    let secret = browser
        .find(Locator::Css("[data-totp-secret]"))
        .await
        .expect("the key is on the page")
        .text()
        .await
        .expect("the key has text");
    browser.check_at_both_widths("two-factor-enrol").await;

    browser.fill("#code", &code(&secret, 0)).await;
    browser.click_and_wait_for_next_page("form[action='/account/two-factor/enable'] button").await;
    let codes = browser.find_all(Locator::Css("[data-recovery-codes] li")).await.expect("recovery codes are listed");
    assert_eq!(codes.len(), 10, "ten recovery codes are shown");
    browser.check_at_both_widths("two-factor-recovery-codes").await;

    for page in ["sessions", "tokens", "password"] {
        browser.goto(&format!("{}/account/{page}", server.url)).await.expect("the account page loads");
        browser.check_at_both_widths(&format!("account-{page}")).await;
        if page == "sessions" {
            let list =
                browser.find(Locator::Css(".rows")).await.expect("sessions are listed").text().await.expect("text");
            assert!(list.contains("This session") && list.contains("IP 127.0.0.1"), "{list}");
        }
    }

    browser.goto(&server.url).await.expect("the start page loads");
    browser.click_and_wait_for_next_page("form[action='/logout'] button").await;
    sign_in(&browser, &server).await;
    assert_eq!(heading(&browser).await, "Two-factor check", "the password alone no longer signs in");
    browser.check_at_both_widths("two-factor-challenge").await;

    // The code used to enrol is spent; the next one, within the accepted skew, is not.
    browser.fill("#code", &code(&secret, 1)).await;
    browser.click_and_wait_for_next_page("form.form button[type=submit]").await;
    let home = browser.find(Locator::Css("main")).await.expect("a page").text().await.expect("text");
    assert!(home.contains("Signed in as owner@example.com"), "password and code sign in: {home}");
    browser.check_at_both_widths("two-factor-signed-in").await;

    browser.close().await;
}
