//! Static assets compiled into the binary. Each is served at `/assets/NAME.HASH.EXT`, where HASH
//! is a prefix of its SHA-256, so browsers may cache it forever and a new release is fetched
//! fresh without any purge.

use std::sync::LazyLock;

use axum::extract::Path;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

struct Asset {
    name: &'static str,
    content_type: &'static str,
    bytes: &'static [u8],
}

const ASSETS: &[Asset] = &[
    Asset { name: "app.css", content_type: "text/css; charset=utf-8", bytes: include_bytes!("../../assets/app.css") },
    Asset {
        name: "app.js",
        content_type: "text/javascript; charset=utf-8",
        bytes: include_bytes!("../../assets/app.js"),
    },
    Asset { name: "icon.svg", content_type: "image/svg+xml", bytes: include_bytes!("../../assets/icon.svg") },
];

struct Hashed {
    url: String,
    file: String,
    asset: &'static Asset,
}

static HASHED: LazyLock<Vec<Hashed>> = LazyLock::new(|| {
    ASSETS
        .iter()
        .map(|asset| {
            let hash = hex::encode(&Sha256::digest(asset.bytes)[..6]);
            let (stem, ext) = asset.name.rsplit_once('.').unwrap_or((asset.name, ""));
            let file = format!("{stem}.{hash}.{ext}");
            Hashed { url: format!("/assets/{file}"), file, asset }
        })
        .collect()
});

/// The content-hashed URL of the asset `name` (e.g. `app.css`).
pub fn asset_url(name: &str) -> &'static str {
    HASHED.iter().find(|h| h.asset.name == name).map_or("/assets/missing", |h| h.url.as_str())
}

pub(super) async fn serve(Path(file): Path<String>) -> Response {
    let Some(hashed) = HASHED.iter().find(|h| h.file == file) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(hashed.asset.content_type)),
            (header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=31536000, immutable")),
        ],
        hashed.asset.bytes,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_asset_has_a_content_hashed_url() {
        for asset in ASSETS {
            let url = asset_url(asset.name);
            assert!(url.starts_with("/assets/"), "{url}");
            assert_ne!(url, format!("/assets/{}", asset.name), "the URL carries a hash");
        }
    }
}
