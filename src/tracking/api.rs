//! The Segment-compatible collection endpoints (`/v1/batch`, `/v1/track`, …) that existing
//! website, app and server libraries point at, and the JSON API for sources and stored events.
//!
//! Collection authenticates with the source's write key: HTTP Basic with the key as user name
//! (Segment's libraries), or `writeKey` in the body (RudderStack's and browser beacons). The
//! answer is sent only after the events are committed, so a 200 means durable.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, header};
use base64::Engine;
use serde::{Deserialize, Serialize};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::model::{self, MessageType, Rejection};
use super::retention::{self, Retention, RetentionError, RetentionInput, Rollup};
use super::rules::{self, SaveError, TraitRules};
use super::service::{self, Event, EventFilter, Source, TrackingError};
use crate::app::AppState;
use crate::http::ApiError;
use crate::identity::Principal;

const MODULE: &str = "events";

/// The collection endpoints, served at the root as Segment's are (`https://HOST/v1/batch`).
pub fn collection_router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(batch))
        .routes(routes!(track))
        .routes(routes!(identify))
        .routes(routes!(page))
        .routes(routes!(screen))
        .routes(routes!(group))
        .routes(routes!(alias))
}

/// Sources and events under `/api/v1`.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_sources, create_source))
        .routes(routes!(revoke_source))
        .routes(routes!(list_events))
        .routes(routes!(read_trait_rules, save_trait_rules))
        .routes(routes!(read_retention, save_retention))
        .routes(routes!(list_rollups))
}

/// How long raw events are kept.
#[utoipa::path(get, path = "/event-retention", tag = "events", security(("bearer" = [])),
    responses((status = 200, body = Retention), (status = 403, body = crate::http::ErrorBody)))]
async fn read_retention(State(state): State<AppState>, principal: Principal) -> Result<Json<Retention>, ApiError> {
    require(&principal, false)?;
    Ok(Json(retention::retention(&state.db, principal.workspace_id).await?))
}

/// Sets how long raw events are kept (`keep_months` 1–120, null for ever) and whether expired
/// events are first rolled up into daily totals. The hourly retention job applies it.
#[utoipa::path(put, path = "/event-retention", tag = "events", security(("bearer" = [])), request_body = RetentionInput,
    responses((status = 200, body = Retention), (status = 403, body = crate::http::ErrorBody),
        (status = 422, body = crate::http::ErrorBody)))]
async fn save_retention(
    State(state): State<AppState>,
    principal: Principal,
    Json(input): Json<RetentionInput>,
) -> Result<Json<Retention>, ApiError> {
    require_manager(&principal)?;
    Ok(Json(retention::save_retention(&state.db, (principal.workspace_id, &principal.actor()), &input).await?))
}

#[derive(Deserialize, utoipa::IntoParams)]
pub struct RollupParams {
    /// The first day (`YYYY-MM-DD`, UTC); a year ago when absent.
    pub since: Option<String>,
}

/// Daily totals of expired events by type and name, oldest first.
#[utoipa::path(get, path = "/event-rollups", tag = "events", security(("bearer" = [])), params(RollupParams),
    responses((status = 200, body = Vec<Rollup>), (status = 403, body = crate::http::ErrorBody),
        (status = 422, body = crate::http::ErrorBody)))]
async fn list_rollups(
    State(state): State<AppState>,
    principal: Principal,
    Query(params): Query<RollupParams>,
) -> Result<Json<Vec<Rollup>>, ApiError> {
    require(&principal, false)?;
    let since = match params.since.as_deref().map(str::trim) {
        Some(day) => chrono::NaiveDate::parse_from_str(day, "%Y-%m-%d")
            .map_err(|_| ApiError::field("since", "is not a day (YYYY-MM-DD)"))?,
        None => (chrono::Utc::now() - chrono::Duration::days(365)).date_naive(),
    };
    Ok(Json(retention::rollups(&state.db, principal.workspace_id, &since.format("%Y-%m-%d").to_string()).await?))
}

impl From<RetentionError> for ApiError {
    fn from(err: RetentionError) -> Self {
        match err {
            RetentionError::Invalid(fields) => Self::Validation(fields),
            RetentionError::Db(db) => db.into(),
        }
    }
}

/// Which profile field each trait of identify (`person`) and group (`company`) calls fills.
#[utoipa::path(get, path = "/trait-rules", tag = "events", security(("bearer" = [])),
    responses((status = 200, body = TraitRules), (status = 403, body = crate::http::ErrorBody)))]
async fn read_trait_rules(State(state): State<AppState>, principal: Principal) -> Result<Json<TraitRules>, ApiError> {
    require(&principal, false)?;
    Ok(Json(rules::trait_rules(&state.db, principal.workspace_id).await?))
}

/// Replaces the trait rules. Each rule names a trait (or a dotted path into nested traits) and
/// the field it fills: a built-in field (`first_name`, `address.postal_code` …) or a custom
/// field's key; `null` ignores the trait. Rules come before the built-in mapping of Segment's
/// reserved traits and apply to calls resolved from now on.
#[utoipa::path(put, path = "/trait-rules", tag = "events", security(("bearer" = [])), request_body = TraitRules,
    responses((status = 200, body = TraitRules), (status = 403, body = crate::http::ErrorBody),
        (status = 422, body = crate::http::ErrorBody)))]
async fn save_trait_rules(
    State(state): State<AppState>,
    principal: Principal,
    Json(input): Json<TraitRules>,
) -> Result<Json<TraitRules>, ApiError> {
    require_manager(&principal)?;
    Ok(Json(rules::save_trait_rules(&state.db, (principal.workspace_id, &principal.actor()), &input).await?))
}

impl From<SaveError> for ApiError {
    fn from(err: SaveError) -> Self {
        match err {
            SaveError::Invalid(fields) => Self::Validation(fields),
            SaveError::Db(db) => db.into(),
        }
    }
}

impl From<TrackingError> for ApiError {
    fn from(err: TrackingError) -> Self {
        match err {
            TrackingError::UnknownWriteKey => Self::Unauthorized,
            TrackingError::NameRequired => Self::field("name", err.to_string()),
            TrackingError::Db(db) => db.into(),
        }
    }
}

impl From<Rejection> for ApiError {
    fn from(rejection: Rejection) -> Self {
        match rejection {
            Rejection::TooLarge(reason) => Self::TooLarge(reason),
            Rejection::Malformed(reason) => Self::BadRequest(reason),
        }
    }
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Accepted {
    pub success: bool,
}

/// The write key from `Authorization: Basic base64(KEY:)`.
fn basic_user(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, encoded) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD.decode(encoded.trim()).ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let user = text.split_once(':').map_or(text.as_str(), |(user, _)| user);
    (!user.is_empty()).then(|| user.to_owned())
}

/// One request, whatever its endpoint: decode, authenticate, check the budget and the load,
/// store, acknowledge.
async fn collect(
    state: &AppState,
    headers: &HeaderMap,
    body: &[u8],
    kind: Option<MessageType>,
) -> Result<Json<Accepted>, ApiError> {
    let received_at = chrono::Utc::now();
    let gzipped = headers
        .get(header::CONTENT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("gzip"));
    let inflated;
    let body = if gzipped {
        inflated = model::gunzip(body)?;
        inflated.as_slice()
    } else {
        body
    };
    let payload = model::parse(body, kind, received_at)?;
    let write_key = basic_user(headers).or(payload.write_key).ok_or(ApiError::Unauthorized)?;
    let source = service::source_for_key(&state.db, &write_key).await?;
    state
        .event_budget
        .take(source, payload.messages.len())
        .map_err(|retry_after_secs| ApiError::RateLimited { retry_after_secs })?;
    if state.db.pool_stats().pending_writes > state.config.tracking.max_pending_writes {
        return Err(ApiError::Unavailable("ingest shed load: the write queue is full".into()));
    }
    let ingested = service::ingest(&state.db, source, payload.messages).await?;
    metrics::counter!("rapport_events_stored_total").increment(ingested.stored);
    metrics::counter!("rapport_events_duplicate_total").increment(ingested.duplicates);
    Ok(Json(Accepted { success: true }))
}

macro_rules! collection_endpoint {
    ($name:ident, $path:literal, $kind:expr, $doc:literal) => {
        #[doc = $doc]
        #[utoipa::path(
            post,
            path = $path,
            tag = "collection",
            request_body(content = serde_json::Value, description = "A call in the Segment format; gzip accepted"),
            responses(
                (status = 200, body = Accepted, description = "Stored durably"),
                (status = 400, body = crate::http::ErrorBody), (status = 401, body = crate::http::ErrorBody),
                (status = 413, body = crate::http::ErrorBody), (status = 429, body = crate::http::ErrorBody),
                (status = 503, body = crate::http::ErrorBody)
            )
        )]
        async fn $name(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Result<Json<Accepted>, ApiError> {
            collect(&state, &headers, &body, $kind).await
        }
    };
}

collection_endpoint!(batch, "/v1/batch", None, "Many calls of any type: `{\"batch\": [...], \"sentAt\": ...}`.");
collection_endpoint!(track, "/v1/track", Some(MessageType::Track), "Something the person did.");
collection_endpoint!(identify, "/v1/identify", Some(MessageType::Identify), "Who the person is, with traits.");
collection_endpoint!(page, "/v1/page", Some(MessageType::Page), "A page view.");
collection_endpoint!(screen, "/v1/screen", Some(MessageType::Screen), "An app screen view.");
collection_endpoint!(group, "/v1/group", Some(MessageType::Group), "The person belongs to a company or group.");
collection_endpoint!(alias, "/v1/alias", Some(MessageType::Alias), "Two ids are the same person.");

#[derive(Deserialize, utoipa::ToSchema)]
pub struct NewSource {
    pub name: String,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct CreatedSourceBody {
    pub id: i64,
    /// Shown once: configure the sender's library with it.
    pub write_key: String,
}

/// The workspace's sources.
#[utoipa::path(get, path = "/sources", tag = "events", security(("bearer" = [])),
    responses((status = 200, body = Vec<Source>), (status = 401, body = crate::http::ErrorBody)))]
async fn list_sources(State(state): State<AppState>, principal: Principal) -> Result<Json<Vec<Source>>, ApiError> {
    require(&principal, false)?;
    Ok(Json(service::sources(&state.db, principal.workspace_id).await?))
}

/// Creates a source; the answer carries its write key, once.
#[utoipa::path(post, path = "/sources", tag = "events", security(("bearer" = [])), request_body = NewSource,
    responses((status = 201, body = CreatedSourceBody), (status = 422, body = crate::http::ErrorBody)))]
async fn create_source(
    State(state): State<AppState>,
    principal: Principal,
    Json(new): Json<NewSource>,
) -> Result<(axum::http::StatusCode, Json<CreatedSourceBody>), ApiError> {
    require_manager(&principal)?;
    let created = service::create_source(&state.db, (principal.workspace_id, &principal.actor()), &new.name).await?;
    let body = CreatedSourceBody { id: created.id, write_key: created.write_key.expose().clone() };
    Ok((axum::http::StatusCode::CREATED, Json(body)))
}

/// Revokes a source: its write key is refused (401) from the next request on; its events stay.
#[utoipa::path(delete, path = "/sources/{id}", tag = "events", security(("bearer" = [])),
    params(("id" = i64, Path, description = "The source")),
    responses((status = 204, description = "Revoked"), (status = 404, body = crate::http::ErrorBody)))]
async fn revoke_source(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<i64>,
) -> Result<axum::http::StatusCode, ApiError> {
    require_manager(&principal)?;
    if !service::revoke_source(&state.db, (principal.workspace_id, &principal.actor()), id).await? {
        return Err(ApiError::NotFound);
    }
    Ok(axum::http::StatusCode::NO_CONTENT)
}

#[derive(Deserialize, utoipa::IntoParams)]
pub struct EventsQuery {
    pub user_id: Option<String>,
    pub anonymous_id: Option<String>,
    /// The `next` cursor of the previous page.
    pub before: Option<i64>,
    /// At most 500; default 50.
    pub limit: Option<i64>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct EventPage {
    pub events: Vec<Event>,
    /// Pass as `before` for the next page; absent on the last page.
    pub next: Option<i64>,
}

/// Stored events, newest first.
#[utoipa::path(get, path = "/events", tag = "events", security(("bearer" = [])), params(EventsQuery),
    responses((status = 200, body = EventPage), (status = 401, body = crate::http::ErrorBody)))]
async fn list_events(
    State(state): State<AppState>,
    principal: Principal,
    Query(query): Query<EventsQuery>,
) -> Result<Json<EventPage>, ApiError> {
    require(&principal, false)?;
    let limit = query.limit.unwrap_or(50).clamp(1, 500);
    let filter = EventFilter { user_id: query.user_id, anonymous_id: query.anonymous_id, before: query.before, limit };
    let events = service::events(&state.db, principal.workspace_id, &filter).await?;
    let next = (events.len() as i64 == limit).then(|| events.last().map(|e| e.id)).flatten();
    Ok(Json(EventPage { events, next }))
}

pub(super) fn require(principal: &Principal, write: bool) -> Result<(), ApiError> {
    if principal.may(MODULE, write) { Ok(()) } else { Err(ApiError::Forbidden("this needs access to events".into())) }
}

/// Creating and revoking sources hands out and takes back credentials, and trait rules decide
/// what senders may write into profiles: a workspace matter.
pub(super) fn require_manager(principal: &Principal) -> Result<(), ApiError> {
    if principal.may("workspace", true) {
        Ok(())
    } else {
        Err(ApiError::Forbidden("managing sources needs write access to the workspace".into()))
    }
}
