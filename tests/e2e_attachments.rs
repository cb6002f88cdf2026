//! Attachments in a real browser at a phone's width and a desktop's: an owner sets up the
//! workspace, creates a person, uploads a PDF from the person's page through the file input,
//! and finds it listed with its size, type and uploader, its link downloading the same bytes.
//! Skipped when Chromium is not installed (see `browser::tools`).

mod browser;
mod util;

use browser::{Browser, Server};
use fantoccini::Locator;

const PHONE: (u32, u32) = (390, 844);
const DESKTOP: (u32, u32) = (1280, 800);

#[tokio::test]
async fn a_file_uploaded_from_a_persons_page_is_listed_there() {
    let Some(mut browser) = Browser::launch().await else {
        return;
    };
    let server = Server::start().await;
    browser.set_viewport(PHONE.0, PHONE.1).await;
    browser.set_up_and_sign_in(&server).await;

    browser.goto(&format!("{}/people/new", server.url)).await.expect("the create form loads");
    browser.fill("#first_name", "Ada").await;
    browser.click_and_wait_for_next_page("form[action='/people/new'] button[type=submit]").await;
    let person_page = browser.current_url().await.expect("a page").to_string();

    let files = tempfile::tempdir().expect("a folder for the file to upload");
    let pdf = files.path().join("Contract 2026.pdf");
    let bytes = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n%%EOF\n";
    std::fs::write(&pdf, bytes).expect("the file is written");
    let input = browser.find(Locator::Css("#upload-file")).await.expect("the page has a file input");
    input.send_keys(&pdf.display().to_string()).await.expect("the file input takes a path");
    browser.click_and_wait_for_next_page("form[action^='/attachments/new'] button[type=submit]").await;
    browser.assert_document_status("the person's page after the upload", 200).await;
    let listed = browser.find(Locator::Css("ul.attachments")).await.expect("a list of attachments");
    let text = listed.text().await.expect("text");
    assert!(
        text.contains("Contract 2026.pdf") && text.contains("application/pdf") && text.contains("owner@example.com"),
        "the upload is listed with its type and uploader: {text}"
    );
    let link = browser.find(Locator::Css("ul.attachments a[download]")).await.expect("a download link");
    let href = link.attr("href").await.expect("an attribute").expect("an href");
    let fetched = browser
        .execute_async(
            "const done = arguments[arguments.length - 1]; \
             fetch(arguments[0]).then(async (r) => \
               done([r.headers.get('content-disposition'), Array.from(new Uint8Array(await r.arrayBuffer()))]));",
            vec![serde_json::json!(href)],
        )
        .await
        .expect("the page fetches the download");
    assert!(fetched[0].as_str().unwrap_or_default().starts_with("attachment;"), "{fetched}");
    let downloaded: Vec<u8> = serde_json::from_value(fetched[1].clone()).expect("bytes");
    assert_eq!(downloaded, bytes, "the download is the uploaded file");

    for (width, height) in [PHONE, DESKTOP] {
        browser.set_viewport(width, height).await;
        browser.goto(&person_page).await.expect("the person's page loads");
        browser.assert_no_console_errors(&format!("a person's attachments at {width} px")).await;
        browser.screenshot(&format!("person-attachments-{width}")).await;
    }
    browser.close().await;
}
