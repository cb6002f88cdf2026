//! The setup page of a fresh installation in a real browser, at a phone's width and a desktop's:
//! what a new owner sees and does first. Skipped when Chromium is not installed (see
//! `browser::tools`).

mod browser;
mod util;

use browser::{Browser, Server};
use fantoccini::Locator;

const PHONE: (u32, u32) = (390, 844);
const DESKTOP: (u32, u32) = (1280, 800);
const SUBMIT: &str = "form.form button[type=submit]";

#[tokio::test]
async fn setup_page_renders_at_phone_and_desktop_widths_without_console_errors_and_creates_the_workspace() {
    let Some(mut browser) = Browser::launch().await else {
        return;
    };
    let server = Server::start().await;
    let setup_link = server.setup_link.clone().expect("a fresh installation prints a setup link");

    for (width, height) in [PHONE, DESKTOP] {
        let step = format!("the setup page at {width} px");
        browser.set_viewport(width, height).await;
        browser.goto(&setup_link).await.expect("the setup page loads");
        let title = browser.title().await.expect("the page has a title");
        assert!(title.contains("Set up"), "{step}: the title is {title:?}");
        let form = browser.find(Locator::Css("form.form")).await.expect("the setup form is on the page");
        assert!(form.is_displayed().await.expect("the form answers"), "{step}: the form is not visible");
        for field in ["workspace_name", "owner_email", "password", "password_confirm"] {
            let input = browser
                .find(Locator::Css(&format!("input[name={field}]")))
                .await
                .unwrap_or_else(|err| panic!("{step}: no field {field}: {err}"));
            assert!(input.is_displayed().await.expect("the field answers"), "{step}: the field {field} is not visible");
        }
        browser.assert_no_horizontal_overflow(&step).await;
        browser.assert_no_console_errors(&step).await;
        browser.screenshot(&format!("setup-{width}")).await;
    }

    // A new owner on a phone mistypes. The browser's own validation would stop these values,
    // so turn it off to show what the server answers (old browsers, scripts, pasted values).
    browser.set_viewport(PHONE.0, PHONE.1).await;
    browser.fill("#workspace_name", "Acme Ltd").await;
    browser.fill("#owner_email", "owner.example.com").await;
    browser.fill("#password", "short").await;
    browser.fill("#password_confirm", "short").await;
    let valid_to_the_browser = browser
        .execute(
            "const form = document.querySelector('form.form'); \
             const valid = form.checkValidity(); form.noValidate = true; return valid;",
            vec![],
        )
        .await
        .expect("the page runs a script");
    assert_eq!(
        valid_to_the_browser,
        serde_json::Value::Bool(false),
        "the browser's own validation flags the email and the short password"
    );
    browser.click_and_wait_for_next_page(SUBMIT).await;
    let step = "the setup form with mistakes at 390 px";
    browser.assert_document_status(step, 422).await;
    let invalid = invalid_fields(&browser).await;
    assert_eq!(invalid, ["owner_email", "password"], "{step}");
    let messages = browser
        .find(Locator::Css("form.form"))
        .await
        .expect("the form is shown again")
        .text()
        .await
        .expect("the form has text");
    assert!(messages.contains("This address must contain exactly one @"), "{step}: {messages}");
    assert!(messages.contains("at least 8 characters"), "{step}: {messages}");
    assert_eq!(field_value(&browser, "#workspace_name").await, "Acme Ltd", "{step}: what the owner typed is kept");
    browser.assert_no_horizontal_overflow(step).await;
    browser.assert_no_console_errors(step).await;
    browser.screenshot("setup-errors-390").await;

    browser.fill("#owner_email", "owner@example.com").await;
    browser.fill("#password", "correct horse battery staple").await;
    browser.fill("#password_confirm", "correct horse battery staple").await;
    browser.click_and_wait_for_next_page(SUBMIT).await;
    let heading = browser.find(Locator::Css("h1")).await.expect("the page has a heading");
    let step = "the page after a valid setup at 390 px";
    assert_eq!(heading.text().await.expect("the heading has text"), "Your workspace is ready", "{step}");
    browser.assert_document_status(step, 200).await;
    browser.assert_no_horizontal_overflow(step).await;
    browser.assert_no_console_errors(step).await;
    browser.screenshot("setup-done-390").await;
    browser.set_viewport(DESKTOP.0, DESKTOP.1).await;
    let step = "the page after a valid setup at 1280 px";
    browser.assert_no_horizontal_overflow(step).await;
    browser.assert_no_console_errors(step).await;
    browser.screenshot("setup-done-1280").await;

    // The link is spent: whoever opens it now learns that setup is done, not a form.
    let again = reqwest::get(&setup_link).await.expect("the server answers");
    assert_eq!(again.status(), 200);
    let page = again.text().await.expect("a page");
    assert!(page.contains("Rapport is already set up"), "{page}");
    assert!(!page.contains("<form"), "{page}");

    browser.close().await;
}

/// The names of the inputs the page marks invalid, in page order.
async fn invalid_fields(browser: &Browser) -> Vec<String> {
    let names = browser
        .execute("return [...document.querySelectorAll('.field.invalid input')].map((i) => i.name);", vec![])
        .await
        .expect("the page runs a script");
    serde_json::from_value(names).expect("a list of names")
}

async fn field_value(browser: &Browser, selector: &str) -> String {
    browser
        .find(Locator::Css(selector))
        .await
        .unwrap_or_else(|err| panic!("no field {selector}: {err}"))
        .prop("value")
        .await
        .expect("the field answers")
        .unwrap_or_default()
}
