//! Search's JSON API: `GET /api/v1/search?q=…`, one query across people and companies, ranked,
//! with the matched character ranges of each value so clients can highlight them.

use axum::Json;
use axum::extract::{Query, State};
use serde::{Deserialize, Serialize};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::model::{Marked, Object};
use super::service::{self, Hit, SearchError};
use crate::app::AppState;
use crate::http::{ApiError, ErrorBody};
use crate::identity::Principal;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(search))
}

#[derive(Deserialize, utoipa::IntoParams)]
pub struct SearchParams {
    /// What to look for: names, emails, phone digits, company names, tags. Prefixes,
    /// substrings and small typos match.
    pub q: String,
    /// `people` or `companies`; both when absent.
    pub object: Option<String>,
    /// Results to return, 1 to 50; 10 when absent.
    pub limit: Option<usize>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct SearchResults {
    /// Best first.
    pub data: Vec<SearchHit>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct SearchHit {
    /// `person` or `company`.
    pub object: &'static str,
    pub id: i64,
    /// The record's name, with the matched ranges.
    pub title: Option<Marked>,
    /// A matched value outside the name, or the record's primary email or domain.
    pub subtitle: Option<Marked>,
    /// Higher is better; comparable within one answer only.
    pub score: f64,
    /// Every value the query matched.
    pub matches: Vec<Marked>,
    /// The record in this API.
    pub url: String,
}

pub(super) fn objects(raw: Option<&str>) -> Result<Vec<Object>, ApiError> {
    match raw.map(str::trim).filter(|raw| !raw.is_empty()) {
        None => Ok(Object::ALL.to_vec()),
        Some(raw) => Object::parse(raw)
            .map(|object| vec![object])
            .ok_or_else(|| ApiError::field("object", "must be people or companies")),
    }
}

pub(super) fn hit_view(hit: Hit) -> SearchHit {
    SearchHit {
        object: hit.object.as_str(),
        id: hit.id,
        url: format!("/api/v1/{}/{}", hit.object.module(), hit.id),
        title: hit.title,
        subtitle: hit.subtitle,
        score: hit.score,
        matches: hit.matches,
    }
}

/// Searches the people and companies the caller may read. A record is found only by the
/// fields the caller's role may see, and results show only those.
#[utoipa::path(
    get,
    path = "/search",
    tag = "search",
    security(("bearer" = [])),
    params(SearchParams),
    responses(
        (status = 200, body = SearchResults),
        (status = 403, body = ErrorBody),
        (status = 422, description = "The query or a parameter is invalid", body = ErrorBody)
    )
)]
async fn search(
    State(state): State<AppState>,
    principal: Principal,
    Query(params): Query<SearchParams>,
) -> Result<Json<SearchResults>, ApiError> {
    let objects = objects(params.object.as_deref())?;
    let limit = params.limit.unwrap_or(10);
    if !(1..=service::MAX_RESULTS).contains(&limit) {
        return Err(ApiError::field("limit", "must be between 1 and 50"));
    }
    let hits = service::search(&state.db, &principal, &params.q, &objects, limit).await?;
    Ok(Json(SearchResults { data: hits.into_iter().map(hit_view).collect() }))
}

impl From<SearchError> for ApiError {
    fn from(err: SearchError) -> Self {
        match err {
            SearchError::Invalid(why) => ApiError::field("q", why),
            SearchError::Forbidden(why) => ApiError::Forbidden(why.into()),
            SearchError::Db(db) => db.into(),
        }
    }
}
