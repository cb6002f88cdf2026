//! Import in a real browser, at a phone's width and a desktop's: an owner uploads a CSV with a
//! bad row, maps its columns (one onto a new custom field), dry-runs it and sees what would be
//! refused, imports it, downloads the error report from the page's link, finds the imported
//! people in the list, and undoes the import. Every page fits a 390 px screen. Skipped when
//! Chromium is not installed (see `browser::tools`).

mod browser;
mod util;

use std::time::Duration;

use browser::{Browser, Server};
use fantoccini::Locator;

const FILE: &str = "First Name,Last Name,E-mail,Plan\n\
    Ada,Lovelace,ada@example.com,gold\n\
    Bad,Row,not-an-email,silver\n\
    Grace,Hopper,grace@example.com,bronze\n";

/// Reloads the import's page until its status line reads `status`; answers the page's text.
async fn wait_for(browser: &Browser, page: &str, status: &str) -> String {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        browser.goto(page).await.expect("the import page loads");
        let text = browser.find(Locator::Css("main")).await.expect("a page").text().await.expect("text");
        if text.contains(&format!("Status: {status}")) {
            return text;
        }
        assert!(tokio::time::Instant::now() < deadline, "the import never became {status}: {text}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test]
async fn a_csv_is_uploaded_mapped_dry_run_imported_reported_and_undone() {
    let Some(mut browser) = Browser::launch().await else {
        return;
    };
    let server = Server::start().await;
    browser.set_viewport(390, 844).await;
    browser.set_up_and_sign_in(&server).await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("contacts.csv");
    std::fs::write(&file, FILE).unwrap();

    browser.goto(&format!("{}/imports", server.url)).await.expect("the imports page loads");
    browser.check_at_both_widths("import-upload").await;
    browser
        .find(Locator::Css("input[type=file]"))
        .await
        .expect("a file input")
        .send_keys(&file.display().to_string())
        .await
        .expect("the file is chosen");
    browser.click_and_wait_for_next_page("form[action='/imports'] button[type=submit]").await;
    let page = browser.current_url().await.expect("a page").to_string();
    assert!(page.contains("/imports/"), "the upload leads to the import's page: {page}");
    let text = browser.find(Locator::Css("main")).await.expect("a page").text().await.expect("text");
    assert!(text.contains("3 rows") && text.contains("Lovelace"), "the page previews the file: {text}");
    let suggested = browser
        .execute("return document.querySelector('select[name=\"map.2\"]').value;", vec![])
        .await
        .expect("the page runs a script");
    assert_eq!(suggested, "email", "E-mail is suggested as the email field");
    browser
        .execute("const plan = document.querySelector('select[name=\"map.3\"]'); plan.value = '+plan';", vec![])
        .await
        .expect("the page runs a script");
    browser.check_at_both_widths("import-mapping").await;

    browser.click_and_wait_for_next_page("#dry-run").await;
    let text = wait_for(&browser, &page, "dry run done").await;
    assert!(text.contains("Would create\n2") || text.contains("Would create 2"), "{text}");
    assert!(text.contains("Row 2, E-mail"), "the refused row is named with its column: {text}");
    browser.goto(&format!("{}/people", server.url)).await.expect("the list loads");
    let rows = browser.find_all(Locator::Css("tbody tr")).await.expect("rows");
    assert!(rows.is_empty(), "a dry run imports no one");

    browser.goto(&page).await.expect("the import page loads");
    browser.click_and_wait_for_next_page("#start-import").await;
    let text = wait_for(&browser, &page, "done").await;
    assert!(text.contains("Created\n2") || text.contains("Created 2"), "{text}");
    browser.check_at_both_widths("import-done").await;
    let report = browser
        .execute(
            "const link = document.querySelector('#error-report'); \
             return fetch(link.href).then(r => r.text());",
            vec![],
        )
        .await
        .expect("the report downloads");
    let report = report.as_str().expect("text").to_owned();
    assert!(report.starts_with("row,column,reason"), "{report}");
    assert!(report.contains("2,E-mail,"), "{report}");

    browser.goto(&format!("{}/people", server.url)).await.expect("the list loads");
    let list = browser.find(Locator::Css("main")).await.expect("a page").text().await.expect("text");
    assert!(list.contains("Lovelace") && list.contains("Hopper"), "{list}");

    browser.goto(&page).await.expect("the import page loads");
    browser.execute("window.confirm = () => true;", vec![]).await.expect("the page runs a script");
    browser.click_and_wait_for_next_page("#undo").await;
    wait_for(&browser, &page, "undone").await;
    browser.goto(&format!("{}/people", server.url)).await.expect("the list loads");
    let rows = browser.find_all(Locator::Css("tbody tr")).await.expect("rows");
    assert!(rows.is_empty(), "the undo took the imported people back");
    browser.close().await;
}
