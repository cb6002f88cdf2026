//! Bulk actions in a real browser at a phone's width and a desktop's: an owner ticks every row
//! of the people list with "select all on this page", tags them from the action bar, and
//! follows the job on its progress page until it is done; both pages fit a 390 px screen.
//! Skipped when Chromium is not installed (see `browser::tools`).

mod browser;
mod util;

use std::time::Duration;

use browser::{Browser, Server};
use fantoccini::Locator;

#[tokio::test]
async fn people_ticked_on_the_list_are_tagged_by_a_job_whose_progress_page_follows_it() {
    let Some(mut browser) = Browser::launch().await else {
        return;
    };
    let server = Server::start().await;
    let setup_link = server.setup_link.clone().expect("a fresh installation prints a setup link");
    browser.set_viewport(390, 844).await;
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
    for name in ["Ada", "Grace", "Katherine"] {
        browser.goto(&format!("{}/people/new", server.url)).await.expect("the create form loads");
        browser.fill("#first_name", name).await;
        browser.click_and_wait_for_next_page("form[action='/people/new'] button[type=submit]").await;
    }

    browser.goto(&format!("{}/people", server.url)).await.expect("the list loads");
    browser.check_at_both_widths("people-bulk-bar").await;
    browser
        .find(Locator::Css("input[data-select-all]"))
        .await
        .expect("select all is shown")
        .click()
        .await
        .expect("a click");
    let ticked = browser
        .execute("return document.querySelectorAll('input[form=\"bulk-form\"]:checked').length;", vec![])
        .await
        .expect("the page runs a script");
    assert_eq!(ticked, 3, "select all ticks every row of the page");
    browser.fill("#bulk-form input[name=value]", "vip").await;
    // The Apply button asks to confirm; WebDriver answers the dialog by replacing it.
    browser.execute("window.confirm = () => true;", vec![]).await.expect("the page runs a script");
    browser.click_and_wait_for_next_page("#bulk-form button[type=submit]").await;
    let progress = browser.current_url().await.expect("a page").to_string();
    assert!(progress.contains("/bulk/"), "the form leads to the job's page: {progress}");

    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        browser.goto(&progress).await.expect("the progress page loads");
        let text = browser.find(Locator::Css("main")).await.expect("a page").text().await.expect("text");
        if text.contains("Status: done") {
            assert!(text.contains("3 of 3"), "{text}");
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "the job did not finish: {text}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    browser.check_at_both_widths("bulk-progress").await;
    browser.goto(&format!("{}/people?tag=vip", server.url)).await.expect("the filtered list loads");
    let rows = browser.find_all(Locator::Css("tbody tr")).await.expect("rows");
    assert_eq!(rows.len(), 3, "every ticked person carries the tag");
    browser.close().await;
}
