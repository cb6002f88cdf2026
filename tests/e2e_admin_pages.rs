//! The audit and roles pages in a real browser at a phone's width and a desktop's: an owner
//! signs in, creates a custom role, and finds the sign-in and the new role in the security
//! log. Skipped when Chromium is not installed (see `browser::tools`).

mod browser;
mod util;

use browser::{Browser, Server};
use fantoccini::Locator;

const PHONE: (u32, u32) = (390, 844);
const DESKTOP: (u32, u32) = (1280, 800);

#[tokio::test]
async fn the_roles_and_audit_pages_fit_a_phone_and_show_what_the_owner_did() {
    let Some(mut browser) = Browser::launch().await else {
        return;
    };
    let server = Server::start().await;
    let setup_link = server.setup_link.clone().expect("a fresh installation prints a setup link");
    browser.set_viewport(PHONE.0, PHONE.1).await;
    browser.goto(&setup_link).await.expect("the setup page loads");
    browser.fill("#workspace_name", "Acme Ltd").await;
    browser.fill("#owner_email", "owner@example.com").await;
    browser.fill("#password", "correct horse battery staple").await;
    browser.fill("#password_confirm", "correct horse battery staple").await;
    browser.click_and_wait_for_next_page("form.form button[type=submit]").await;

    browser.goto(&format!("{}/login", server.url)).await.expect("the sign-in page loads");
    browser.fill("#email", "owner@example.com").await;
    browser.fill("#password", "correct horse battery staple").await;
    browser.click_and_wait_for_next_page("form button[type=submit]").await;

    browser.goto(&format!("{}/roles", server.url)).await.expect("the roles page loads");
    browser.assert_document_status("the roles page", 200).await;
    browser.fill("form[action='/roles/create'] input[name=name]", "Support").await;
    browser.fill("form[action='/roles/create'] textarea[name=grants]", "people:read:all\npeople:update:own").await;
    browser.click_and_wait_for_next_page("form[action='/roles/create'] button[type=submit]").await;
    let text = browser.find(Locator::Css("main")).await.expect("a main").text().await.expect("text");
    assert!(text.contains("Support"), "the new role is listed: {text}");

    for (width, height) in [PHONE, DESKTOP] {
        browser.set_viewport(width, height).await;
        for (page, path) in [("roles", "/roles"), ("security log", "/audit?log=security")] {
            let step = format!("the {page} page at {width} px");
            browser.goto(&format!("{}{path}", server.url)).await.expect("the page loads");
            browser.assert_document_status(&step, 200).await;
            browser.assert_no_horizontal_overflow(&step).await;
            browser.assert_no_console_errors(&step).await;
            browser.screenshot(&format!("{}-{width}", page.replace(' ', "-"))).await;
        }
    }
    let log = browser.find(Locator::Css("table.log")).await.expect("the log table").text().await.expect("text");
    assert!(log.contains("permission_changed") && log.contains("login"), "{log}");
    browser.close().await;
}
