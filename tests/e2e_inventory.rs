//! Inventory in a real browser at a phone's width and a desktop's: the owner sets a level from
//! the inventory page's form, lands on the sku's page with the level and its `set` movement,
//! sets it again at or below its threshold and finds it marked low, on the list too, filtered
//! to low stock. Skipped when Chromium is not installed (see `browser::tools`).

mod browser;
mod util;

use browser::{Browser, Server};
use fantoccini::Locator;

const PHONE: (u32, u32) = (390, 844);
const DESKTOP: (u32, u32) = (1280, 800);

async fn text_of(browser: &Browser, selector: &str) -> String {
    let element = browser.find(Locator::Css(selector)).await.unwrap_or_else(|err| panic!("no {selector}: {err}"));
    element.text().await.expect("text")
}

async fn set_level(browser: &Browser, (sku, location, quantity, threshold): (&str, &str, &str, &str)) {
    browser.fill("#set-sku", sku).await;
    browser.fill("#set-location", location).await;
    browser.fill("#set-quantity", quantity).await;
    browser.fill("#set-low_stock_threshold", threshold).await;
    browser.click_and_wait_for_next_page("#set-stock button[type=submit]").await;
}

#[tokio::test]
async fn a_level_set_from_the_inventory_page_is_shown_with_its_movement_and_marked_when_low() {
    let Some(mut browser) = Browser::launch().await else {
        return;
    };
    let server = Server::start().await;
    browser.set_viewport(PHONE.0, PHONE.1).await;
    browser.set_up_and_sign_in(&server).await;

    for ((width, height), (sku, low)) in [(PHONE, ("TSHIRT-M", "3")), (DESKTOP, ("Mug / blue", "2"))] {
        browser.set_viewport(width, height).await;
        browser.goto(&format!("{}/inventory", server.url)).await.expect("the inventory page loads");
        set_level(&browser, (sku, "main", "12", low)).await;
        browser.assert_document_status(&format!("the page of {sku} after setting it"), 200).await;
        assert_eq!(text_of(&browser, "h1").await, sku);
        let levels = text_of(&browser, "#levels").await;
        assert!(levels.contains("main") && levels.contains("12") && !levels.contains("Low"), "{levels}");
        let movements = text_of(&browser, "#movements").await;
        assert!(movements.contains("+12") && movements.contains("set"), "the set is in the ledger: {movements}");

        set_level(&browser, (sku, "main", low, "")).await;
        let levels = text_of(&browser, "#levels").await;
        assert!(levels.contains("Low"), "at its threshold the level is marked low: {levels}");
        browser.assert_no_horizontal_overflow(&format!("the page of {sku} at {width} px")).await;
        browser.assert_no_console_errors(&format!("the page of {sku} at {width} px")).await;
        browser.screenshot(&format!("inventory-sku-{width}")).await;
    }

    browser.goto(&format!("{}/inventory", server.url)).await.expect("the inventory page loads");
    browser.find(Locator::Css("#low-only")).await.expect("a low-only filter").click().await.expect("it ticks");
    browser.click_and_wait_for_next_page("form[role=search] button[type=submit]").await;
    let listed = text_of(&browser, "#levels").await;
    assert!(
        listed.contains("TSHIRT-M") && listed.contains("Mug / blue") && listed.matches("Low").count() == 2,
        "{listed}"
    );
    browser.check_at_both_widths("inventory").await;
    browser.close().await;
}
