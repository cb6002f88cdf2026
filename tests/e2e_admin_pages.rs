//! The settings, roles and audit pages in a real browser at a phone's width and a desktop's:
//! an owner signs in, changes the workspace settings (a bad time zone first, shown beside its
//! field), creates a custom role, and finds the sign-in and the new role in the security log
//! and the settings change in the audit trail. Skipped when Chromium is not installed (see
//! `browser::tools`).

mod browser;
mod util;

use browser::{Browser, Server};
use fantoccini::Locator;

const PHONE: (u32, u32) = (390, 844);
const DESKTOP: (u32, u32) = (1280, 800);

#[tokio::test]
async fn the_settings_roles_and_audit_pages_fit_a_phone_and_show_what_the_owner_did() {
    let Some(mut browser) = Browser::launch().await else {
        return;
    };
    let server = Server::start().await;
    browser.set_viewport(PHONE.0, PHONE.1).await;
    browser.set_up_and_sign_in(&server).await;

    browser.goto(&format!("{}/settings", server.url)).await.expect("the settings page loads");
    browser.assert_document_status("the settings page", 200).await;
    browser.assert_no_horizontal_overflow("the settings page at 390 px").await;
    browser.fill("#time_zone", "Mars/Olympus").await;
    browser.fill("#country", "FR").await;
    browser.click_and_wait_for_next_page("form[action='/settings'] button[type=submit]").await;
    browser.assert_document_status("the settings page with a bad time zone", 422).await;
    let error = browser.find(Locator::Css("#time_zone-error")).await.expect("an error beside the field");
    assert!(error.text().await.expect("text").contains("IANA time zone"));
    browser.assert_no_horizontal_overflow("the settings errors at 390 px").await;
    browser.assert_no_console_errors("the settings errors at 390 px").await;
    browser.fill("#time_zone", "Europe/Paris").await;
    browser.click_and_wait_for_next_page("form[action='/settings'] button[type=submit]").await;
    browser.assert_document_status("the saved settings", 200).await;
    let zone = browser.find(Locator::Css("#time_zone")).await.expect("the field").prop("value").await;
    assert_eq!(zone.expect("a value").as_deref(), Some("Europe/Paris"));

    browser.goto(&format!("{}/people/new", server.url)).await.expect("the create form loads");
    browser.fill("#first_name", "Ada").await;
    browser.click_and_wait_for_next_page("form[action='/people/new'] button[type=submit]").await;
    browser.click_and_wait_for_next_page("a[href$='/edit']").await;
    browser.fill("#last_name", "Lovelace").await;
    browser.click_and_wait_for_next_page("form[action$='/edit'] button[type=submit]").await;
    browser.click_and_wait_for_next_page("a[href$='/history']").await;
    browser.assert_document_status("a person's history tab", 200).await;
    browser.assert_no_horizontal_overflow("a person's history tab at 390 px").await;
    let history = browser.find(Locator::Css("main")).await.expect("a main").text().await.expect("text");
    assert!(history.contains("Last name: — → Lovelace"), "the edit is in the history tab: {history}");
    browser.screenshot("person-history-390").await;

    browser.goto(&format!("{}/roles", server.url)).await.expect("the roles page loads");
    browser.assert_document_status("the roles page", 200).await;
    browser.fill("form[action='/roles/create'] input[name=name]", "Support").await;
    browser.fill("form[action='/roles/create'] textarea[name=grants]", "people:read:all\npeople:update:own").await;
    browser.click_and_wait_for_next_page("form[action='/roles/create'] button[type=submit]").await;
    let text = browser.find(Locator::Css("main")).await.expect("a main").text().await.expect("text");
    assert!(text.contains("Support"), "the new role is listed: {text}");

    for (width, height) in [PHONE, DESKTOP] {
        browser.set_viewport(width, height).await;
        let pages = [
            ("settings", "/settings"),
            ("roles", "/roles"),
            ("audit trail", "/audit"),
            ("security log", "/audit?log=security"),
        ];
        for (page, path) in pages {
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
    browser.goto(&format!("{}/audit?entity=workspace", server.url)).await.expect("the audit trail loads");
    let trail = browser.find(Locator::Css("table.log")).await.expect("the trail").text().await.expect("text");
    assert!(trail.contains("Europe/Paris") && trail.contains("FR"), "the settings change is audited: {trail}");
    browser.close().await;
}
