//! WebDriver commands fantoccini does not offer, sent with `Client::issue_cmd`.
//!
//! The W3C standard has no way to read the browser console. chromedriver keeps the legacy one,
//! `POST /session/{id}/se/log` with `{"type": "browser"}`, which returns the entries collected
//! (per the session's `goog:loggingPrefs`) since it was last called.

use fantoccini::wd::WebDriverCompatibleCommand;
use reqwest::Method;
use serde::Deserialize;
use url::{ParseError, Url};

/// Reads and empties the browser console log.
#[derive(Debug)]
pub struct BrowserLog;

impl WebDriverCompatibleCommand for BrowserLog {
    fn endpoint(&self, base_url: &Url, session_id: Option<&str>) -> Result<Url, ParseError> {
        // fantoccini issues commands only on an open session, which has an id.
        let session_id = session_id.unwrap_or_default();
        base_url.join(&format!("session/{session_id}/se/log"))
    }

    fn method_and_body(&self, _request_url: &Url) -> (Method, Option<String>) {
        (Method::POST, Some(r#"{"type":"browser"}"#.to_owned()))
    }
}

/// One console entry. `level` is `SEVERE` for errors (uncaught exceptions, `console.error`,
/// resources that failed to load), `WARNING`, `INFO` or `DEBUG` otherwise.
#[derive(Debug, Deserialize)]
pub struct LogEntry {
    pub level: String,
    pub message: String,
    #[serde(default)]
    pub source: String,
}
