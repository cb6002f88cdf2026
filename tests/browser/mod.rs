//! End-to-end tests in a real browser: the `rapport` binary serves, a headless Chromium driven
//! through chromedriver (WebDriver, via fantoccini) looks at the pages as a user would.
//!
//! [`Browser::launch`] finds Chromium and chromedriver (see [`tools`]); when either is missing
//! the test is skipped with a visible message, unless `RAPPORT_REQUIRE_BROWSER=1` makes that a
//! failure (set it wherever browser tests must run, so a broken install cannot pass silently). [`Server`] runs the binary on
//! a fresh database. The helpers check what a user notices: the viewport size, horizontal
//! overflow, errors in the browser console; screenshots go to `target/e2e/` for a human to judge.
//!
//! This module does not know any page of the application: page-specific steps live in the tests.
//! A test crate using it also declares `mod util;`, whose [`crate::util::Binary`] configures
//! the executable.

// Each test crate uses a part of the harness.
#![allow(dead_code)]

mod chromedriver;
mod commands;
mod output;
mod server;
pub mod tools;

use std::path::{Path, PathBuf};
use std::time::Duration;

use fantoccini::{Client, ClientBuilder, Locator};
use serde::Deserialize;
use serde_json::{Value, json};

use chromedriver::Chromedriver;
use commands::{BrowserLog, LogEntry};
pub use server::Server;
use tools::Tools;

/// How long a click may take to lead to the next page.
const WAIT: Duration = Duration::from_secs(10);
const POLL_INTERVAL: Duration = Duration::from_millis(50);

/// The flags that make Chromium run headless and quiet on a build machine without network.
const CHROMIUM_ARGS: &[&str] = &[
    "--headless=new",
    "--no-sandbox",
    "--disable-dev-shm-usage",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
];

/// A headless Chromium session. Derefs to the fantoccini [`Client`] for navigation and finding
/// elements; adds the checks and records our tests need.
///
/// Call [`Browser::close`] at the end of a test; if a test panics first, dropping the browser
/// still ends the session (so no Chromium is left running) and removes its profile.
pub struct Browser {
    client: Client,
    session_id: String,
    // Fields drop in this order: chromedriver exits before its profile directory is removed.
    driver: Chromedriver,
    _profile: tempfile::TempDir,
    viewport: (u32, u32),
    /// The console's report of a document's error status that a test has asserted.
    expected_failed_load: Option<String>,
    closed: bool,
}

impl Browser {
    /// Starts chromedriver and a Chromium session, or returns `None` (after saying why) when
    /// they are not installed and `RAPPORT_REQUIRE_BROWSER` is not set.
    pub async fn launch() -> Option<Self> {
        let tools = Tools::find_or_skip()?;
        let driver = Chromedriver::start(&tools.chromedriver).await;
        let profile = tempfile::tempdir().expect("a temporary Chromium profile directory");
        let mut args: Vec<String> = CHROMIUM_ARGS.iter().map(|arg| (*arg).to_owned()).collect();
        args.push(format!("--user-data-dir={}", profile.path().display()));
        let Value::Object(capabilities) = json!({
            "browserName": "chrome",
            "goog:chromeOptions": { "binary": tools.chromium, "args": args },
            "goog:loggingPrefs": { "browser": "ALL" },
        }) else {
            unreachable!("a JSON object literal is an object")
        };
        let client = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(capabilities)
            .connect(&driver.url())
            .await
            .unwrap_or_else(|err| {
                panic!(
                    "chromedriver cannot start a Chromium session ({err}). \
                     Chromium and chromedriver must be the same version. chromedriver's log:\n{}",
                    driver.log()
                )
            });
        let session_id = client
            .session_id()
            .await
            .expect("the WebDriver session answers")
            .expect("a new WebDriver session has an id");
        let mut browser = Self {
            client,
            session_id,
            driver,
            _profile: profile,
            viewport: (0, 0),
            expected_failed_load: None,
            closed: false,
        };
        browser.set_viewport(1280, 800).await;
        Some(browser)
    }

    /// Sizes the window so the page's viewport (`window.innerWidth` × `innerHeight`) is exactly
    /// `width` × `height` CSS pixels. The WebDriver window size includes whatever frame the
    /// browser draws around the page, so the size is corrected by what the page measures.
    pub async fn set_viewport(&mut self, width: u32, height: u32) {
        let (mut window_width, mut window_height) = (width, height);
        let mut measured = (0, 0);
        for _ in 0..5 {
            self.client.set_window_size(window_width, window_height).await.expect("the window can be resized");
            measured = self.settled_inner_size().await;
            if measured == (width, height) {
                self.viewport = (width, height);
                return;
            }
            window_width = (window_width + width).saturating_sub(measured.0);
            window_height = (window_height + height).saturating_sub(measured.1);
        }
        panic!(
            "the viewport should be {width}×{height} but stays {}×{} \
             (Chromium may refuse windows this small)",
            measured.0, measured.1
        );
    }

    /// The viewport once a resize has taken effect: a busy machine lays the page out again a
    /// moment after the window changed, so the size is read until two readings agree.
    async fn settled_inner_size(&self) -> (u32, u32) {
        let mut last = self.inner_size().await;
        for _ in 0..20 {
            tokio::time::sleep(POLL_INTERVAL).await;
            let now = self.inner_size().await;
            if now == last {
                return now;
            }
            last = now;
        }
        last
    }

    async fn inner_size(&self) -> (u32, u32) {
        let size = self
            .client
            .execute("return [window.innerWidth, window.innerHeight];", vec![])
            .await
            .expect("the page runs a script");
        serde_json::from_value(size).expect("two integers")
    }

    /// Sets up a fresh installation through its setup link, as the owner `owner@example.com`
    /// of "Acme Ltd", and signs in, at the current viewport.
    pub async fn set_up_and_sign_in(&mut self, server: &Server) {
        let setup_link = server.setup_link.clone().expect("a fresh installation prints a setup link");
        self.goto(&setup_link).await.expect("the setup page loads");
        self.fill("#workspace_name", "Acme Ltd").await;
        self.fill("#owner_email", "owner@example.com").await;
        self.fill("#password", "correct horse battery staple").await;
        self.fill("#password_confirm", "correct horse battery staple").await;
        self.click_and_wait_for_next_page("form.form button[type=submit]").await;
        self.goto(&format!("{}/login", server.url)).await.expect("the sign-in page loads");
        self.fill("#email", "owner@example.com").await;
        self.fill("#password", "correct horse battery staple").await;
        self.click_and_wait_for_next_page("form button[type=submit]").await;
    }

    /// Types `text` into the field matched by the CSS `selector`, replacing what it held.
    pub async fn fill(&self, selector: &str, text: &str) {
        let field = self
            .client
            .find(Locator::Css(selector))
            .await
            .unwrap_or_else(|err| panic!("no field {selector} on the page: {err}"));
        field.clear().await.unwrap_or_else(|err| panic!("{selector} cannot be cleared: {err}"));
        field.send_keys(text).await.unwrap_or_else(|err| panic!("{selector} does not take typing: {err}"));
    }

    /// Clicks the element matched by the CSS `selector` (a submit button, a link) and waits
    /// until the browser has replaced the page with the one the click leads to.
    pub async fn click_and_wait_for_next_page(&self, selector: &str) {
        let old_page = self.client.find(Locator::Css("html")).await.expect("a page is loaded");
        self.client
            .find(Locator::Css(selector))
            .await
            .unwrap_or_else(|err| panic!("no {selector} on the page: {err}"))
            .click()
            .await
            .unwrap_or_else(|err| panic!("{selector} does not take a click: {err}"));
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let left = match old_page.tag_name().await {
                Ok(_) => false,
                Err(err) if err.is_stale_element_reference() || err.is_no_such_element() => true,
                // Chromium reports a node of the unloaded document this way mid-navigation.
                Err(err) if err.to_string().contains("does not belong to the document") => true,
                Err(err) => panic!("the page after clicking {selector} does not answer: {err}"),
            };
            if left && self.ready_state().await == "complete" {
                return;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "clicking {selector} did not lead to a new page within {} s; still on {}",
                WAIT.as_secs(),
                self.current_url_text().await
            );
            tokio::time::sleep(POLL_INTERVAL).await;
        }
    }

    async fn ready_state(&self) -> String {
        let state = self.client.execute("return document.readyState;", vec![]).await.expect("the page runs a script");
        serde_json::from_value(state).expect("a ready state")
    }

    /// Asserts the HTTP status of the document on screen, which WebDriver itself does not tell
    /// (Chromium's Navigation Timing has it). Chromium also logs a document answered with an
    /// error status, e.g. a form with mistakes answered 422, as a failed load in the console;
    /// once asserted here, that one entry is expected and [`Self::assert_no_console_errors`]
    /// does not count it.
    pub async fn assert_document_status(&mut self, step: &str, expected: u16) {
        let status = self
            .client
            .execute("return performance.getEntriesByType('navigation')[0].responseStatus;", vec![])
            .await
            .expect("the page runs a script");
        let status: u16 = serde_json::from_value(status).expect("an HTTP status");
        let url = self.current_url_text().await;
        assert_eq!(status, expected, "{step}: the HTTP status of {url}");
        self.expected_failed_load = (status >= 400)
            .then(|| format!("{url} - Failed to load resource: the server responded with a status of {status} "));
    }

    /// Saves a screenshot of the whole page (not only the viewport: a phone user scrolls, and
    /// a reviewer must see everything) at the current width to `target/e2e/<name>.png`.
    pub async fn screenshot(&mut self, name: &str) -> PathBuf {
        let (width, height) = self.viewport;
        let page_height = self
            .client
            .execute("return Math.ceil(document.documentElement.scrollHeight);", vec![])
            .await
            .expect("the page runs a script");
        let page_height: u32 = serde_json::from_value(page_height).expect("a height");
        if page_height > height {
            self.set_viewport(width, page_height).await;
        }
        let png = self.client.screenshot().await;
        if page_height > height {
            self.set_viewport(width, height).await;
        }
        let png = png.expect("Chromium takes a screenshot");
        let dir = target_dir().join("e2e");
        std::fs::create_dir_all(&dir).unwrap_or_else(|err| panic!("cannot create {}: {err}", dir.display()));
        let path = dir.join(format!("{name}.png"));
        std::fs::write(&path, png).unwrap_or_else(|err| panic!("cannot write {}: {err}", path.display()));
        path
    }

    /// The console errors (level SEVERE: uncaught exceptions, `console.error`, failed loads)
    /// logged since the previous call: reading Chromium's log empties it.
    pub async fn console_errors(&self) -> Vec<LogEntry> {
        let entries = self.client.issue_cmd(BrowserLog).await.expect("chromedriver returns the browser log");
        let entries: Vec<LogEntry> = serde_json::from_value(entries).expect("browser log entries");
        entries.into_iter().filter(|entry| entry.level == "SEVERE").collect()
    }

    pub async fn assert_no_console_errors(&mut self, step: &str) {
        let mut errors = self.console_errors().await;
        if let Some(expected) = self.expected_failed_load.take() {
            errors.retain(|entry| !(entry.source == "network" && entry.message.starts_with(&expected)));
        }
        assert!(
            errors.is_empty(),
            "{step}: the browser console shows errors:\n{}",
            errors.iter().map(|entry| format!("  [{}] {}", entry.source, entry.message)).collect::<Vec<_>>().join("\n")
        );
    }

    /// Whether the page is wider than the viewport, so that a user must scroll sideways. The
    /// page's width is compared with the viewport without its scrollbar
    /// (`documentElement.clientWidth`), which is what content may fill.
    pub async fn horizontal_overflow(&self) -> Option<Overflow> {
        let overflow = self.client.execute(OVERFLOW_SCRIPT, vec![]).await.expect("the page runs a script");
        serde_json::from_value(overflow).expect("an overflow report or null")
    }

    pub async fn assert_no_horizontal_overflow(&self, step: &str) {
        if let Some(overflow) = self.horizontal_overflow().await {
            panic!(
                "{step}: the page is {} px wide in a {} px viewport, so it scrolls sideways; \
                 elements reaching past the edge: {}",
                overflow.page_width,
                overflow.viewport_width,
                overflow.culprits.join(", ")
            );
        }
    }

    async fn current_url_text(&self) -> String {
        self.client.current_url().await.map_or_else(|err| format!("(unknown page: {err})"), |url| url.to_string())
    }

    /// Checks the current page at a desktop's width and a phone's (390 px) for sideways
    /// overflow and console errors, saving a screenshot of each; ends at the phone's width.
    pub async fn check_at_both_widths(&mut self, name: &str) {
        for (width, height) in [(1280, 800), (390, 844)] {
            let step = format!("{name} at {width} px");
            self.set_viewport(width, height).await;
            self.assert_no_horizontal_overflow(&step).await;
            self.assert_no_console_errors(&step).await;
            self.screenshot(&format!("{name}-{width}")).await;
        }
    }

    /// Ends the session, stops chromedriver and removes the profile.
    pub async fn close(mut self) {
        self.client.clone().close().await.expect("the WebDriver session closes");
        self.closed = true;
        self.driver.stop().await;
    }
}

impl std::ops::Deref for Browser {
    type Target = Client;

    fn deref(&self) -> &Client {
        &self.client
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        if !self.closed {
            // A test failed before `close`: end the session so chromedriver quits Chromium,
            // which killing chromedriver alone would leave running.
            self.driver.delete_session_blocking(&self.session_id);
        }
        if std::thread::panicking() {
            eprintln!("--- chromedriver's log ---\n{}", self.driver.log());
        }
    }
}

/// A page wider than its viewport.
#[derive(Debug, Deserialize)]
pub struct Overflow {
    pub page_width: u32,
    pub viewport_width: u32,
    /// The first few elements whose right edge lies past the viewport, as `tag#id.class`.
    pub culprits: Vec<String>,
}

const OVERFLOW_SCRIPT: &str = r##"
const root = document.documentElement;
const limit = root.clientWidth;
if (root.scrollWidth <= limit) return null;
const describe = (element) => {
  let name = element.tagName.toLowerCase();
  if (element.id) name += "#" + element.id;
  if (typeof element.className === "string" && element.className.trim()) {
    name += "." + element.className.trim().split(/\s+/).join(".");
  }
  return name + " (right edge at " + Math.round(element.getBoundingClientRect().right) + " px)";
};
const culprits = [...document.body.querySelectorAll("*")]
  .filter((element) => element.getBoundingClientRect().right > limit + 0.5)
  .slice(0, 8)
  .map(describe);
return { page_width: root.scrollWidth, viewport_width: limit, culprits };
"##;

/// Cargo's target directory: `CARGO_TARGET_DIR` when set (a relative one is taken from the
/// workspace root, where cargo is usually run), otherwise `target/` in the workspace.
pub fn target_dir() -> PathBuf {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR"));
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) if !dir.is_empty() => workspace.join(dir),
        _ => workspace.join("target"),
    }
}
