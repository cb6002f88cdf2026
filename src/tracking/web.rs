//! The browser tracking script, `/rapport.js`, written for Rapport and free of dependencies
//! (`assets/rapport.js` documents its use). Websites include it from their own pages, so its
//! address never changes; it is cached for an hour rather than for ever.

use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;

use crate::http::Pages;

const SCRIPT: &str = include_str!("../../assets/rapport.js");

pub fn router() -> Pages {
    Pages::new().route("/rapport.js", get(script))
}

async fn script() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
            // Other sites' pages load it: allow that explicitly.
            (header::HeaderName::from_static("cross-origin-resource-policy"), "cross-origin"),
        ],
        SCRIPT,
    )
}
