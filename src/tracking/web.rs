//! The tracking module's pages: the browser tracking script, `/rapport.js`, and the sources
//! pages under `/settings/sources`, where sources are created (their write key shown once, with
//! the snippets that use it), looked at and revoked.
//!
//! The script is written for Rapport and free of dependencies (`assets/rapport.js` documents its
//! use). Websites include it from their own pages, so its address never changes; it is cached
//! for an hour rather than for ever. The pages call the same service functions as the API and
//! ask the same permissions: `events` read to look, `workspace` write to create or revoke.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;

use super::api::{require, require_manager};
use super::service::{self, Source, SourceDetail, TrackingError};
use crate::app::AppState;
use crate::http::auth::{ButtonForm, SessionForm, csrf_protected};
use crate::http::{ApiError, Pages};
use crate::identity::Principal;
use crate::web::{Layout, csrf_token, render};

const SCRIPT: &str = include_str!("../../assets/rapport.js");

pub fn router() -> Pages {
    Pages::new()
        .route("/rapport.js", get(script))
        .route("/settings/sources", get(list).post(create))
        .route("/settings/sources/{id}", get(show))
        .route("/settings/sources/{id}/revoke", post(revoke))
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

/// What the snippets need: where Rapport answers, and the key (or, once the key is gone, its
/// prefix) the sender is configured with.
struct Snippet {
    host: String,
    key: String,
    /// The key itself, shown once, rather than its prefix.
    whole_key: bool,
}

#[derive(Template)]
#[template(path = "tracking/sources.html")]
struct SourcesPage {
    layout: Layout,
    csrf_token: String,
    sources: Vec<Source>,
    can_manage: bool,
    /// The name of the source just created, and its write key in the snippets.
    created: Option<(String, Snippet)>,
    name: String,
    error: Option<String>,
    revoked: bool,
}

#[derive(Template)]
#[template(path = "tracking/source.html")]
struct SourcePage {
    layout: Layout,
    csrf_token: String,
    detail: SourceDetail,
    snippet: Snippet,
    can_manage: bool,
}

#[derive(Deserialize, Default)]
struct SourceForm {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    name: String,
}

csrf_protected!(SourceForm);

#[derive(Deserialize)]
struct ListQuery {
    revoked: Option<String>,
}

struct Shown {
    created: Option<(String, Snippet)>,
    name: String,
    error: Option<String>,
    revoked: bool,
}

async fn sources_page(state: &AppState, principal: &Principal, shown: Shown) -> Result<SourcesPage, ApiError> {
    require(principal, false)?;
    Ok(SourcesPage {
        layout: Layout::for_caller("Tracking sources", principal),
        csrf_token: csrf_token(principal),
        sources: service::sources(&state.db, principal.workspace_id).await?,
        can_manage: require_manager(principal).is_ok(),
        created: shown.created,
        name: shown.name,
        error: shown.error,
        revoked: shown.revoked,
    })
}

async fn list(
    State(state): State<AppState>,
    principal: Principal,
    Query(query): Query<ListQuery>,
) -> Result<Response, ApiError> {
    let shown = Shown { created: None, name: String::new(), error: None, revoked: query.revoked.is_some() };
    Ok(render(StatusCode::OK, &sources_page(&state, &principal, shown).await?))
}

async fn create(
    State(state): State<AppState>,
    SessionForm(principal, form): SessionForm<SourceForm>,
) -> Result<Response, ApiError> {
    require_manager(&principal)?;
    let (status, shown) = match service::create_source(&state.db, principal.workspace_id, &form.name).await {
        Ok(created) => {
            let snippet =
                Snippet { host: state.config.public_url(), key: created.write_key.expose().clone(), whole_key: true };
            let name = form.name.trim().to_owned();
            (
                StatusCode::CREATED,
                Shown { created: Some((name, snippet)), name: String::new(), error: None, revoked: false },
            )
        }
        Err(err @ TrackingError::NameRequired) => {
            let shown = Shown { created: None, name: form.name, error: Some(err.to_string()), revoked: false };
            (StatusCode::UNPROCESSABLE_ENTITY, shown)
        }
        Err(other) => return Err(other.into()),
    };
    Ok(render(status, &sources_page(&state, &principal, shown).await?))
}

async fn show(State(state): State<AppState>, principal: Principal, Path(id): Path<i64>) -> Result<Response, ApiError> {
    require(&principal, false)?;
    let detail = service::source(&state.db, principal.workspace_id, id).await?.ok_or(ApiError::NotFound)?;
    let snippet =
        Snippet { host: state.config.public_url(), key: format!("{}…", detail.source.key_prefix), whole_key: false };
    let page = SourcePage {
        layout: Layout::for_caller(detail.source.name.clone(), &principal),
        csrf_token: csrf_token(&principal),
        can_manage: require_manager(&principal).is_ok(),
        detail,
        snippet,
    };
    Ok(render(StatusCode::OK, &page))
}

async fn revoke(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    SessionForm(principal, _): SessionForm<ButtonForm>,
) -> Result<Response, ApiError> {
    require_manager(&principal)?;
    if !service::revoke_source(&state.db, principal.workspace_id, id).await? {
        return Err(ApiError::NotFound);
    }
    Ok(Redirect::to("/settings/sources?revoked=1").into_response())
}
