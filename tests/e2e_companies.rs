//! Company pages in a real browser at a phone's width and a desktop's: an owner defines a
//! custom field for companies, creates a company with a value for it, edits the company,
//! filters the company list by the custom field, saves that view and opens it again. Every
//! page is checked for sideways scrolling at 390 px and for console errors, with screenshots
//! under `target/e2e/`. Skipped when Chromium is not installed (see `browser::tools`).

mod browser;
mod util;

use browser::{Browser, Server};
use fantoccini::Locator;

const PHONE: (u32, u32) = (390, 844);
const DESKTOP: (u32, u32) = (1280, 800);

/// The text of the page's `main`.
async fn main_text(browser: &Browser) -> String {
    browser.find(Locator::Css("main")).await.expect("a main").text().await.expect("text")
}

/// Picks `value` in the select matched by `select`.
async fn choose(browser: &Browser, select: &str, value: &str) {
    let option = format!("{select} option[value='{value}']");
    browser
        .find(Locator::Css(&option))
        .await
        .unwrap_or_else(|err| panic!("no {option}: {err}"))
        .click()
        .await
        .expect("a click");
}

/// Checks the page on screen at both widths: no sideways scrolling at the phone's, no console
/// errors, a screenshot of each; ends at the phone's width.
async fn check(browser: &mut Browser, name: &str) {
    for (width, height) in [DESKTOP, PHONE] {
        let step = format!("{name} at {width} px");
        browser.set_viewport(width, height).await;
        if width == PHONE.0 {
            browser.assert_no_horizontal_overflow(&step).await;
        }
        browser.assert_no_console_errors(&step).await;
        browser.screenshot(&format!("{name}-{width}")).await;
    }
}

#[tokio::test]
async fn a_company_with_a_custom_field_is_created_edited_found_by_it_and_kept_as_a_view() {
    let Some(mut browser) = Browser::launch().await else {
        return;
    };
    let server = Server::start().await;
    browser.set_viewport(PHONE.0, PHONE.1).await;
    browser.set_up_and_sign_in(&server).await;

    browser.goto(&format!("{}/settings/fields", server.url)).await.expect("the fields page loads");
    let new_field = "form[action='/settings/fields']:has(input[name=object][value=company])";
    let opener = "details:has(input[name=object][value=company]) summary";
    browser.find(Locator::Css(opener)).await.expect("the new field form").click().await.expect("a click");
    browser.fill(&format!("{new_field} input[name=label]"), "Tier").await;
    browser.fill(&format!("{new_field} input[name=key]"), "tier").await;
    choose(&browser, &format!("{new_field} select[name=kind]"), "select").await;
    browser.fill(&format!("{new_field} textarea[name=options]"), "gold\nsilver").await;
    browser.click_and_wait_for_next_page(&format!("{new_field} button[type=submit]")).await;
    browser.assert_document_status("the defined field", 200).await;

    browser.goto(&format!("{}/companies/new", server.url)).await.expect("the create form loads");
    check(&mut browser, "company-new").await;
    browser.fill("#name", "Initech").await;
    browser.fill("#domain", "not a domain").await;
    choose(&browser, "select[name='custom.tier']", "gold").await;
    browser.click_and_wait_for_next_page("form[action='/companies/new'] button[type=submit]").await;
    browser.assert_document_status("the create form with a bad domain", 422).await;
    let error = browser.find(Locator::Css("[id='domain-error']")).await.expect("an error beside the field");
    assert!(error.text().await.expect("text").contains("domain"));
    check(&mut browser, "company-new-errors").await;
    browser.fill("#domain", "initech.example").await;
    browser.click_and_wait_for_next_page("form[action='/companies/new'] button[type=submit]").await;
    browser.assert_document_status("the new company's page", 200).await;
    let company_page = browser.current_url().await.expect("a page").to_string();
    let text = main_text(&browser).await;
    assert!(text.contains("Initech") && text.contains("Tier") && text.contains("gold"), "{text}");

    browser.click_and_wait_for_next_page("a[href$='/edit']").await;
    browser.assert_document_status("the edit form", 200).await;
    check(&mut browser, "company-edit").await;
    browser.fill("#industry", "Software").await;
    choose(&browser, "select[name='custom.tier']", "silver").await;
    browser.click_and_wait_for_next_page("form[action$='/edit'] button[type=submit]").await;
    assert_eq!(browser.current_url().await.expect("a page").as_str(), company_page);
    let text = main_text(&browser).await;
    assert!(text.contains("Software") && text.contains("silver"), "the edit is saved: {text}");
    check(&mut browser, "company-detail").await;

    browser.goto(&format!("{}/companies/new", server.url)).await.expect("the create form loads");
    browser.fill("#name", "Globex").await;
    choose(&browser, "select[name='custom.tier']", "gold").await;
    browser.click_and_wait_for_next_page("form[action='/companies/new'] button[type=submit]").await;

    browser.goto(&format!("{}/companies", server.url)).await.expect("the list loads");
    let text = main_text(&browser).await;
    assert!(text.contains("Initech") && text.contains("Globex"), "{text}");
    choose(&browser, "select[name=f0]", "tier").await;
    choose(&browser, "select[name=o0]", "is").await;
    browser.fill("input[name=v0]", "silver").await;
    browser.fill("input[name=columns]", "domain,tier").await;
    browser.click_and_wait_for_next_page("form.filters button[type=submit]").await;
    browser.assert_document_status("the filtered list", 200).await;
    let rows = browser.find(Locator::Css("table.records-table")).await.expect("a table").text().await.expect("text");
    assert!(rows.contains("Initech") && rows.contains("silver") && !rows.contains("Globex"), "{rows}");
    check(&mut browser, "companies-filtered").await;

    browser.find(Locator::Css("details summary")).await.expect("the save form").click().await.expect("a click");
    browser.fill("form[action='/companies/views'] input[name=name]", "Silver tier").await;
    browser.click_and_wait_for_next_page("form[action='/companies/views'] button[type=submit]").await;
    browser.assert_document_status("the saved view", 200).await;
    assert!(browser.current_url().await.expect("a page").as_str().contains("/companies?view="));

    browser.goto(&format!("{}/companies", server.url)).await.expect("the list loads");
    browser.click_and_wait_for_next_page("nav.views a").await;
    browser.assert_document_status("the reopened view", 200).await;
    let rows = browser.find(Locator::Css("table.records-table")).await.expect("a table").text().await.expect("text");
    assert!(rows.contains("Initech") && !rows.contains("Globex"), "the view keeps its filter: {rows}");
    let headers =
        browser.find(Locator::Css("table.records-table thead")).await.expect("a head").text().await.expect("text");
    assert!(headers.contains("Tier") && headers.contains("Domain"), "and its columns: {headers}");
    check(&mut browser, "companies-view").await;
    browser.close().await;
}
