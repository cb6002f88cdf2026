//! Reviewing duplicates in a real browser: an owner imports a crowd of customers, enters the
//! same customer twice (a nickname and an abbreviated street), sees "possible duplicate" on the
//! second one's page, runs a scan
//! from the duplicates queue, compares the pair side by side, keeps the other's first name,
//! merges, finds the survivor with both emails, and undoes the merge. Every page fits a 390 px
//! screen. Skipped when Chromium is not installed (see `browser::tools`).

mod browser;
mod util;

use std::time::Duration;

use browser::{Browser, Server};
use fantoccini::Locator;

async fn text_of(browser: &Browser, selector: &str) -> String {
    browser.find(Locator::Css(selector)).await.expect(selector).text().await.expect("text")
}

/// Creates a person through the form; answers their page's address.
async fn create(browser: &Browser, server: &Server, (first, email, street): (&str, &str, &str)) -> String {
    browser.goto(&format!("{}/people/new", server.url)).await.expect("the create form loads");
    browser.fill("#first_name", first).await;
    browser.fill("#last_name", "Fairweather").await;
    browser.fill("#email", email).await;
    browser.fill("[name='address.street']", street).await;
    browser.fill("[name='address.postal_code']", "4011").await;
    browser.fill("[name='address.city']", "St James").await;
    browser
        .execute("document.querySelector('#birthday').value = '1971-05-14';", vec![])
        .await
        .expect("the page runs a script");
    browser.click_and_wait_for_next_page("form[action='/people/new'] button[type=submit]").await;
    browser.current_url().await.expect("a page").to_string()
}

/// Imports different people, so the scan has strangers to learn from.
async fn import_crowd(browser: &Browser, server: &Server) {
    let mut file = String::from("first_name,last_name,email,address.street,address.postal_code\n");
    for n in 0..30 {
        let first = ["Mary", "Peter", "Anna", "James", "Olivia"][n % 5];
        file.push_str(&format!("{first},Crowd{n},crowd{n}@example.com,{n} Mill Lane,{}\n", 5000 + n));
    }
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("crowd.csv");
    std::fs::write(&path, file).expect("the file is written");
    browser.goto(&format!("{}/imports", server.url)).await.expect("the imports page loads");
    let input = browser.find(Locator::Css("input[type=file]")).await.expect("a file input");
    input.send_keys(&path.display().to_string()).await.expect("the file is chosen");
    browser.click_and_wait_for_next_page("form[action='/imports'] button[type=submit]").await;
    browser.click_and_wait_for_next_page("#start-import").await;
    let page = browser.current_url().await.expect("a page").to_string();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while !text_of(browser, "#import-status").await.starts_with("done") {
        assert!(tokio::time::Instant::now() < deadline, "the import never finished");
        tokio::time::sleep(Duration::from_millis(200)).await;
        browser.goto(&page).await.expect("the import page loads");
    }
}

#[tokio::test]
async fn a_pair_is_found_compared_merged_and_unmerged() {
    let Some(mut browser) = Browser::launch().await else {
        return;
    };
    let server = Server::start().await;
    browser.set_viewport(390, 844).await;
    browser.set_up_and_sign_in(&server).await;
    import_crowd(&browser, &server).await;

    let robert = create(&browser, &server, ("Robert", "robert@fairweather.example", "12 Tullaroop Street")).await;
    let bob = create(&browser, &server, ("Bob", "bob@mail.example", "12 Tullaroop St")).await;
    let warning = text_of(&browser, "#possible-duplicates").await;
    assert!(warning.contains("Robert Fairweather"), "the second entry warns of the first: {warning}");
    browser.check_at_both_widths("person-possible-duplicate").await;

    browser.goto(&format!("{}/duplicates", server.url)).await.expect("the queue loads");
    browser.click_and_wait_for_next_page("#scan").await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while browser.find_all(Locator::Css("#duplicates li")).await.expect("rows").is_empty() {
        assert!(tokio::time::Instant::now() < deadline, "the scan never filled the queue");
        tokio::time::sleep(Duration::from_millis(300)).await;
        browser.goto(&format!("{}/duplicates", server.url)).await.expect("the queue loads");
    }
    let queue = text_of(&browser, "#duplicates").await;
    assert!(queue.contains("Bob Fairweather") && queue.contains("nicknames"), "{queue}");
    browser.check_at_both_widths("duplicates-queue").await;

    browser.click_and_wait_for_next_page("#duplicates li a.button").await;
    let compared = text_of(&browser, "#comparison").await;
    assert!(compared.contains("bob@mail.example") && compared.contains("12 Tullaroop St"), "{compared}");
    browser.check_at_both_widths("duplicates-compare").await;
    browser
        .find(Locator::Css("#pick-first_name-b"))
        .await
        .expect("the other's first name")
        .click()
        .await
        .expect("it is chosen");
    browser.execute("window.confirm = () => true;", vec![]).await.expect("the page runs a script");
    browser.click_and_wait_for_next_page("#merge").await;
    browser.assert_document_status("the merge is made", 200).await;
    let summary = text_of(&browser, "#merge-summary").await;
    assert!(summary.contains("was merged into"), "{summary}");
    let merge_page = browser.current_url().await.expect("a page").to_string();
    browser.check_at_both_widths("merge-done").await;

    browser.goto(&robert).await.expect("the survivor's page loads");
    let kept = text_of(&browser, "main").await;
    assert!(kept.contains("Bob Fairweather"), "the chosen first name is kept: {kept}");
    assert!(kept.contains("bob@mail.example") && kept.contains("robert@fairweather.example"), "{kept}");
    browser.goto(&bob).await.expect("the merged person's page loads");
    let notice = text_of(&browser, "#merged-notice").await;
    assert!(notice.contains("merged into"), "{notice}");

    browser.goto(&merge_page).await.expect("the merge page loads");
    browser.execute("window.confirm = () => true;", vec![]).await.expect("the page runs a script");
    browser.click_and_wait_for_next_page("#undo-merge").await;
    let undone = text_of(&browser, "#undone").await;
    assert!(undone.contains("both people are back"), "{undone}");
    browser.goto(&robert).await.expect("the survivor's page loads");
    let restored = text_of(&browser, "main").await;
    assert!(restored.contains("Robert Fairweather") && !restored.contains("bob@mail.example"), "{restored}");
    browser.goto(&bob).await.expect("the other's page loads");
    assert!(browser.find_all(Locator::Css("#merged-notice")).await.expect("a page").is_empty());
    browser.close().await;
}
