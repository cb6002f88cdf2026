//! The search page, `/search?q=…`, which the search box of every page submits to: results
//! across people and companies with the matched parts highlighted, each opening its record.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use serde::Deserialize;

use super::model::Marked;
use super::service::{self, SearchError};
use crate::app::AppState;
use crate::http::{ApiError, Pages};
use crate::identity::Principal;
use crate::web::{Layout, render};

pub fn router() -> Pages {
    Pages::new().route("/search", get(page))
}

#[derive(Deserialize)]
struct Params {
    #[serde(default)]
    q: String,
    object: Option<String>,
}

/// A result as the page shows it.
struct Shown {
    href: String,
    kind: &'static str,
    title: Vec<(String, bool)>,
    subtitle: Vec<(String, bool)>,
}

#[derive(Template)]
#[template(path = "search.html")]
struct SearchPage {
    layout: Layout,
    q: String,
    results: Vec<Shown>,
    error: Option<String>,
}

const PAGE_RESULTS: usize = 25;

fn pieces(marked: Option<&Marked>) -> Vec<(String, bool)> {
    marked.map(Marked::pieces).unwrap_or_default()
}

async fn page(
    State(state): State<AppState>,
    principal: Principal,
    Query(params): Query<Params>,
) -> Result<Response, ApiError> {
    let objects = super::api::objects(params.object.as_deref())?;
    let q = params.q.trim().to_owned();
    let mut page = SearchPage { layout: Layout::for_caller("Search", &principal), q, results: Vec::new(), error: None };
    if page.q.is_empty() {
        return Ok(render(StatusCode::OK, &page));
    }
    match service::search(&state.db, &principal, &page.q, &objects, PAGE_RESULTS).await {
        Ok(hits) => {
            page.results = hits
                .iter()
                .map(|hit| Shown {
                    href: format!("/{}/{}", hit.object.module(), hit.id),
                    kind: match hit.object {
                        super::model::Object::Person => "Person",
                        super::model::Object::Company => "Company",
                    },
                    title: match &hit.title {
                        Some(title) => title.pieces(),
                        None => vec![(format!("#{}", hit.id), false)],
                    },
                    subtitle: pieces(hit.subtitle.as_ref()),
                })
                .collect();
            Ok(render(StatusCode::OK, &page))
        }
        Err(SearchError::Invalid(why)) => {
            page.error = Some(format!("The search {why}."));
            Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &page))
        }
        Err(err) => Err(err.into()),
    }
}
