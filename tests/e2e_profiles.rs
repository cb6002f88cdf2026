//! A customer's folder in a real browser, at a phone's width and a desktop's: an owner adds a
//! custom field, creates a person with an invalid phone (the error shows beside the field and
//! nothing is saved), fixes it and saves; adds a note and a task on the person's page; finds the
//! person from the top bar's search with a typo and opens the result; filters the people list by
//! the custom field, saves the view and reloads it. Each page fits the phone's width.
//! Screenshots go to `target/e2e/`. Skipped when Chromium is not installed (see `browser::tools`).

mod browser;
mod util;

use browser::{Browser, Server};
use fantoccini::Locator;

const PHONE: (u32, u32) = (390, 844);
const DESKTOP: (u32, u32) = (1280, 800);
const ENTER: &str = "\u{E007}";

async fn choose(browser: &Browser, selector: &str, value: &str) {
    browser
        .execute(
            "const select = document.querySelector(arguments[0]); select.value = arguments[1]; \
             return select.value;",
            vec![serde_json::json!(selector), serde_json::json!(value)],
        )
        .await
        .unwrap_or_else(|e| panic!("{selector} takes {value}: {e}"));
}

async fn text_of(browser: &Browser, selector: &str) -> String {
    let element = browser.find(Locator::Css(selector)).await.unwrap_or_else(|e| panic!("{selector}: {e}"));
    element.text().await.unwrap_or_default()
}

async fn fits(browser: &mut Browser, step: &str, width: u32) {
    browser.assert_no_console_errors(step).await;
    if width == PHONE.0 {
        browser.assert_no_horizontal_overflow(step).await;
    }
    browser.screenshot(&step.replace(' ', "-")).await;
}

#[tokio::test]
async fn a_person_is_created_annotated_found_with_a_typo_and_listed_by_a_saved_view() {
    let Some(mut browser) = Browser::launch().await else {
        return;
    };
    let server = Server::start().await;
    browser.set_viewport(PHONE.0, PHONE.1).await;
    browser.set_up_and_sign_in(&server).await;

    browser.goto(&format!("{}/settings/fields", server.url)).await.expect("the fields page loads");
    let person_section = "form[action='/settings/fields']:has(input[name=object][value=person])";
    let summary = "details:has(input[name=object][value=person]) summary";
    browser.find(Locator::Css(summary)).await.expect("the new field's form").click().await.expect("it opens");
    browser.fill(&format!("{person_section} input[name=label]"), "Plan").await;
    browser.fill(&format!("{person_section} input[name=key]"), "plan").await;
    choose(&browser, &format!("{person_section} select[name=kind]"), "text").await;
    browser.click_and_wait_for_next_page(&format!("{person_section} button[type=submit]")).await;
    browser.assert_document_status("the custom field is added", 200).await;

    for (width, height) in [PHONE, DESKTOP] {
        browser.set_viewport(width, height).await;
        let (first, plan) = (format!("Ada{width}"), format!("Gold{width}"));

        browser.goto(&format!("{}/people/new", server.url)).await.expect("the create form loads");
        browser.fill("#first_name", &first).await;
        browser.fill("#last_name", "Lovelace").await;
        browser.fill("[name='custom.plan']", &plan).await;
        browser.fill("#phone", "not a phone").await;
        browser.click_and_wait_for_next_page("form[action='/people/new'] button[type=submit]").await;
        browser.assert_document_status("an invalid phone is refused", 422).await;
        let error = text_of(&browser, "#phone-error").await;
        assert!(!error.is_empty(), "the phone's error is shown beside it");
        let invalid = browser.find(Locator::Css("#phone")).await.expect("the phone input");
        assert_eq!(invalid.attr("aria-invalid").await.expect("an attribute").as_deref(), Some("true"));
        let kept = browser.find(Locator::Css("[name='custom.plan']")).await.expect("the plan input");
        assert_eq!(kept.prop("value").await.expect("a value").as_deref(), Some(plan.as_str()), "nothing typed is lost");
        fits(&mut browser, &format!("profile invalid phone {width}"), width).await;

        browser.fill("#phone", "+44 20 7946 0958").await;
        browser.click_and_wait_for_next_page("form[action='/people/new'] button[type=submit]").await;
        browser.assert_document_status("the fixed person is saved", 200).await;
        let person_page = browser.current_url().await.expect("a page").to_string();
        assert!(person_page.contains("/people/"), "the person's page opens: {person_page}");

        browser.fill("#note-body", "Called about the renewal").await;
        browser.click_and_wait_for_next_page("form[action='/notes/new'] button[type=submit]").await;
        browser.fill("form[action='/tasks/new'] input[name=title]", "Send the contract").await;
        browser.click_and_wait_for_next_page("form[action='/tasks/new'] button[type=submit]").await;
        let page = text_of(&browser, "main").await;
        assert!(page.contains("Called about the renewal") && page.contains("Send the contract"), "{page}");
        assert!(page.contains(&plan), "the custom value is on the page");
        fits(&mut browser, &format!("profile person {width}"), width).await;

        let search = browser.find(Locator::Css(".topsearch input[name=q]")).await.expect("the top bar's search box");
        search.send_keys(&format!("{first} Lovelase{ENTER}")).await.expect("typing a search");
        browser.wait().for_element(Locator::Css("ol.search-results")).await.expect("results are listed");
        let marked = text_of(&browser, "ol.search-results li:first-child mark").await;
        assert!(!marked.is_empty(), "the match is highlighted");
        fits(&mut browser, &format!("profile search {width}"), width).await;
        browser.click_and_wait_for_next_page("ol.search-results li:first-child a").await;
        assert_eq!(
            browser.current_url().await.expect("a page").to_string(),
            person_page,
            "the result opens the person"
        );

        browser.goto(&format!("{}/people", server.url)).await.expect("the list loads");
        choose(&browser, "select[name=f0]", "plan").await;
        choose(&browser, "select[name=o0]", "is").await;
        browser.fill("input[name=v0]", &plan).await;
        browser.click_and_wait_for_next_page("form.filters button[type=submit]").await;
        let listed = text_of(&browser, "main").await;
        assert!(listed.contains(&first) && !listed.contains(if width == PHONE.0 { "Ada1280" } else { "Ada390" }));
        let save = browser.find(Locator::Css("details:has(form[action='/people/views']) summary")).await;
        save.expect("the save-view form").click().await.expect("it opens");
        browser.fill("form[action='/people/views'] input[name=name]", &format!("{plan} plan")).await;
        browser.click_and_wait_for_next_page("form[action='/people/views'] button[type=submit]").await;
        let saved = browser.current_url().await.expect("a page").to_string();
        assert!(saved.contains("view="), "the saved view opens: {saved}");
        browser.goto(&saved).await.expect("the saved view reloads");
        let reloaded = text_of(&browser, "main").await;
        assert!(reloaded.contains(&first) && reloaded.contains(&format!("{plan} plan")), "{reloaded}");
        fits(&mut browser, &format!("profile saved view {width}"), width).await;
    }
    browser.close().await;
}
