//! People's JSON API under `/api/v1/people`: create (idempotent with `Idempotency-Key`), read,
//! update with `If-Match`, delete to the trash, restore, list with a cursor, and the field
//! vocabulary. Reach and field rules are the service's and the access module's to decide;
//! handlers parse, call and project.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use rapport_core::{PersonId, Timestamp};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::model::{Person, PersonInput, TimelineEntry};
use super::service::{self, Created, MODULE, PersonError};
use crate::access::FieldAccess;
use crate::app::AppState;
use crate::audit::Cursor;
use crate::audit::api::AuditPage;
use crate::http::{ApiError, ErrorBody};
use crate::identity::{Action, Principal};
use crate::profile::{FieldDef, parse_etag, primary, projected, written_fields};

/// The object name field rules use.
pub(super) const OBJECT: &str = "person";

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(vocabulary))
        .routes(routes!(read, update, delete))
        .routes(routes!(restore))
        .routes(routes!(timeline))
        .routes(routes!(history))
}

/// A person as the API returns it: the input fields, normalised, with the primaries filled in.
#[derive(Serialize, utoipa::ToSchema)]
pub struct PersonView {
    pub id: PersonId,
    #[serde(flatten)]
    pub fields: PersonInput,
    /// Moves on with every change; send it back in `If-Match`.
    pub version: i64,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: Timestamp,
    /// Set while the person is in the trash.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub deleted_at: Option<Timestamp>,
    /// Set when the person was merged into another (`/merges` can undo it); they stay in the
    /// trash meanwhile.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<i64>)]
    pub merged_into: Option<PersonId>,
}

fn view(person: &Person) -> PersonView {
    let mut fields = person.fields.clone();
    fields.email = primary(&fields.emails);
    fields.phone = primary(&fields.phones);
    PersonView {
        id: person.id,
        fields,
        version: person.version,
        created_at: person.created_at,
        updated_at: person.updated_at,
        deleted_at: person.deleted_at,
        merged_into: person.merged_into,
    }
}

pub(crate) fn view_json(person: &Person) -> Value {
    serde_json::to_value(view(person)).unwrap_or(Value::Null)
}

async fn field_access(state: &AppState, principal: &Principal) -> Result<FieldAccess, ApiError> {
    Ok(crate::access::field_access(&state.db, principal, OBJECT).await?)
}

fn with_etag(status: StatusCode, person: &Person, access: &FieldAccess) -> Response {
    let mut response = (status, Json(projected(access, view_json(person)))).into_response();
    if let Ok(etag) = HeaderValue::from_str(&person.etag()) {
        response.headers_mut().insert(header::ETAG, etag);
    }
    response
}

fn parse_body(body: Value) -> Result<PersonInput, ApiError> {
    serde_json::from_value(body).map_err(|e| ApiError::field("body", e.to_string()))
}

/// Creates a person. Send `Idempotency-Key` to make retries safe: a repeat answers the first
/// response and creates nothing. `owner` must be the caller or someone whose records the
/// caller may change (403 otherwise); without it, a caller whose updates reach only their own
/// or their teams' records becomes the owner.
#[utoipa::path(
    post,
    path = "/people",
    tag = "people",
    security(("bearer" = [])),
    params(("Idempotency-Key" = Option<String>, Header, description = "Any unique string; repeats answer the first response")),
    request_body = PersonInput,
    responses(
        (status = 201, body = PersonView),
        (status = 422, description = "Each invalid field is named", body = ErrorBody),
        (status = 403, body = ErrorBody)
    )
)]
async fn create(
    State(state): State<AppState>,
    principal: Principal,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Result<Response, ApiError> {
    let access = field_access(&state, &principal).await?;
    access.check_write(written_fields(&body).iter().map(String::as_str))?;
    let input = parse_body(body)?;
    let key = headers.get("idempotency-key").and_then(|v| v.to_str().ok()).map(str::to_owned);
    match service::create(&state.db, &principal, &input, key, view_json).await? {
        Created::New(person) => Ok(with_etag(StatusCode::CREATED, &person, &access)),
        Created::Replayed(reply) => {
            let status = StatusCode::from_u16(reply.status).unwrap_or(StatusCode::CREATED);
            Ok((status, [("idempotent-replayed", "true")], Json(projected(&access, reply.body))).into_response())
        }
    }
}

/// One person, in the trash or not. A person outside the caller's read reach is a 404.
#[utoipa::path(
    get,
    path = "/people/{id}",
    tag = "people",
    security(("bearer" = [])),
    params(("id" = i64, Path)),
    responses((status = 200, body = PersonView, headers(("ETag" = String))), (status = 404, body = ErrorBody))
)]
async fn read(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<PersonId>,
) -> Result<Response, ApiError> {
    let access = field_access(&state, &principal).await?;
    let person = service::get(&state.db, &principal, id).await?;
    Ok(with_etag(StatusCode::OK, &person, &access))
}

/// Changes some fields (a JSON merge patch: absent keys stay, `null` clears). With `If-Match`,
/// refuses with 412 if the person changed since that version was read. A person the caller
/// may read but not change, or a new `owner` outside the caller's update reach, is a 403.
#[utoipa::path(
    patch,
    path = "/people/{id}",
    tag = "people",
    security(("bearer" = [])),
    params(("id" = i64, Path), ("If-Match" = Option<String>, Header, description = "The ETag last read")),
    request_body = PersonInput,
    responses(
        (status = 200, body = PersonView),
        (status = 412, description = "Changed since the If-Match version", body = ErrorBody),
        (status = 422, body = ErrorBody),
        (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)
    )
)]
async fn update(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<PersonId>,
    headers: HeaderMap,
    Json(patch): Json<Value>,
) -> Result<Response, ApiError> {
    if !patch.is_object() {
        return Err(ApiError::field("body", "must be a JSON object"));
    }
    let access = field_access(&state, &principal).await?;
    access.check_write(written_fields(&patch).iter().map(String::as_str))?;
    let expected = match headers.get(header::IF_MATCH) {
        None => None,
        Some(value) => {
            Some(parse_etag(value).ok_or(ApiError::BadRequest("If-Match must be an ETag from a read".into()))?)
        }
    };
    let person = service::update(&state.db, &principal, id, patch, expected).await?;
    Ok(with_etag(StatusCode::OK, &person, &access))
}

/// Moves a person to the trash; restorable for 30 days.
#[utoipa::path(
    delete,
    path = "/people/{id}",
    tag = "people",
    security(("bearer" = [])),
    params(("id" = i64, Path)),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody))
)]
async fn delete(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<PersonId>,
) -> Result<StatusCode, ApiError> {
    service::delete(&state.db, &principal, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Takes a person out of the trash.
#[utoipa::path(
    post,
    path = "/people/{id}/restore",
    tag = "people",
    security(("bearer" = [])),
    params(("id" = i64, Path)),
    responses(
        (status = 200, body = PersonView),
        (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody)
    )
)]
async fn restore(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<PersonId>,
) -> Result<Response, ApiError> {
    let access = field_access(&state, &principal).await?;
    let person = service::restore(&state.db, &principal, id).await?;
    Ok(with_etag(StatusCode::OK, &person, &access))
}

#[derive(Deserialize, utoipa::IntoParams)]
pub struct TimelineParams {
    /// The `next` of the previous page.
    pub cursor: Option<i64>,
    /// 1–200, default 50.
    pub limit: Option<i64>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Timeline {
    pub data: Vec<TimelineEntry>,
    /// Pass as `cursor` for older entries; absent on the last page.
    pub next: Option<i64>,
}

/// What happened to a person, newest first, a page at a time; changes of fields hidden from
/// the caller's role are left out.
#[utoipa::path(
    get,
    path = "/people/{id}/timeline",
    tag = "people",
    security(("bearer" = [])),
    params(("id" = i64, Path), TimelineParams),
    responses((status = 200, body = Timeline), (status = 404, body = ErrorBody))
)]
async fn timeline(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<PersonId>,
    Query(params): Query<TimelineParams>,
) -> Result<Json<Timeline>, ApiError> {
    let access = field_access(&state, &principal).await?;
    let page = (params.cursor, params.limit.unwrap_or(50));
    let (data, next) = service::timeline(&state.db, &principal, &access, id, page).await?;
    Ok(Json(Timeline { data, next }))
}

#[derive(Deserialize, utoipa::IntoParams)]
pub struct HistoryParams {
    /// The `next` of the previous page.
    pub cursor: Option<String>,
}

/// A person's audit trail, newest first, a page at a time: who changed which field, when,
/// from what to what. Changes of fields hidden from the caller's role are left out.
#[utoipa::path(
    get,
    path = "/people/{id}/history",
    tag = "people",
    security(("bearer" = [])),
    params(("id" = i64, Path), HistoryParams),
    responses((status = 200, body = AuditPage), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody))
)]
async fn history(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<PersonId>,
    Query(params): Query<HistoryParams>,
) -> Result<Json<AuditPage>, ApiError> {
    let cursor = parse_cursor(params.cursor.as_deref())?;
    let access = field_access(&state, &principal).await?;
    Ok(Json(service::history(&state.db, &principal, &access, id, cursor).await?.into()))
}

/// A history cursor from a query string: absent, or the `next` of an earlier page (422 else).
pub(super) fn parse_cursor(raw: Option<&str>) -> Result<Option<Cursor>, ApiError> {
    match raw.filter(|raw| !raw.is_empty()) {
        None => Ok(None),
        Some(raw) => Cursor::parse(raw)
            .map(Some)
            .ok_or_else(|| ApiError::field("cursor", "is not a cursor from a previous page")),
    }
}

#[derive(Deserialize, utoipa::IntoParams)]
pub struct ListParams {
    /// `true` lists the trash instead.
    #[serde(default)]
    pub trash: bool,
    pub lifecycle_stage: Option<String>,
    /// People owned by this user id.
    pub owner: Option<i64>,
    /// People carrying this tag.
    pub tag: Option<String>,
    /// A filter tree as JSON: `{"and": [{"field": "address.city", "op": "is", "value": "Paris"}]}`;
    /// see `docs/list-views.md` for the operators of each field type.
    pub filter: Option<String>,
    /// A field key, `-` in front for descending: `last_name`, `-updated_at`; newest first by
    /// default.
    pub sort: Option<String>,
    /// The `next` of the previous page.
    pub cursor: Option<String>,
    /// 1–200, default 50.
    pub limit: Option<i64>,
}

impl ListParams {
    /// The list spec these parameters ask for, the shorthands joined to the filter tree.
    pub fn spec(self) -> Result<crate::view::ListSpec, ApiError> {
        let mut shorthands = Vec::new();
        if let Some(stage) = self.lifecycle_stage.filter(|s| !s.trim().is_empty()) {
            shorthands.push(("lifecycle_stage", "is", Value::from(stage)));
        }
        if let Some(owner) = self.owner {
            shorthands.push(("owner", "is", Value::from(owner)));
        }
        if let Some(tag) = self.tag.filter(|s| !s.trim().is_empty()) {
            shorthands.push(("tags", "has_any", Value::from(vec![tag])));
        }
        let filter = crate::view::query_filter(self.filter.as_deref(), shorthands)
            .map_err(|problem| ApiError::field(&problem.path, problem.message))?;
        Ok(crate::view::ListSpec {
            trash: self.trash,
            filter,
            sort: self.sort,
            cursor: self.cursor,
            limit: self.limit.unwrap_or(50),
        })
    }
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct PersonList {
    /// Each person as the caller's role may see them.
    #[schema(value_type = Vec<PersonView>)]
    pub data: Vec<Value>,
    /// Pass as `cursor` for the next page; absent on the last.
    pub next: Option<String>,
    /// Exact up to 10000, then the string `"10000+"`.
    #[schema(value_type = Object)]
    pub count: Value,
}

/// People, newest first, a page at a time (keyset cursor, never an offset): only those within
/// the caller's read reach.
#[utoipa::path(
    get,
    path = "/people",
    tag = "people",
    security(("bearer" = [])),
    params(ListParams),
    responses((status = 200, body = PersonList), (status = 403, body = ErrorBody))
)]
async fn list(
    State(state): State<AppState>,
    principal: Principal,
    Query(params): Query<ListParams>,
) -> Result<Json<PersonList>, ApiError> {
    let access = field_access(&state, &principal).await?;
    let page = service::list(&state.db, &principal, &access, &params.spec()?).await?;
    let data = page.people.iter().map(|person| projected(&access, view_json(person))).collect();
    Ok(Json(PersonList { data, next: page.next, count: crate::profile::shown_count(page.count) }))
}

/// The field vocabulary of people: the names the API, CSV and import use.
#[utoipa::path(
    get,
    path = "/people/fields",
    tag = "people",
    security(("bearer" = [])),
    responses((status = 200, body = Vec<FieldDef>))
)]
async fn vocabulary(principal: Principal) -> Result<Json<&'static [FieldDef]>, ApiError> {
    if principal.can(MODULE, Action::Read).is_none() {
        return Err(ApiError::Forbidden("your role may not read people".into()));
    }
    Ok(Json(super::fields()))
}

impl From<PersonError> for ApiError {
    fn from(err: PersonError) -> Self {
        match err {
            PersonError::Invalid(fields) => Self::Validation(fields),
            PersonError::NotFound => Self::NotFound,
            PersonError::Stale => Self::PreconditionFailed,
            PersonError::KeyReused => Self::Conflict { code: "idempotency_key_reused", message: err.to_string() },
            PersonError::Expired => Self::Conflict { code: "trash_expired", message: err.to_string() },
            PersonError::Merged(_) => Self::Conflict { code: "merged", message: err.to_string() },
            PersonError::Forbidden(why) => Self::Forbidden(why.into()),
            PersonError::OwnerOutOfReach => Self::Forbidden(err.to_string()),
            PersonError::Db(db) => db.into(),
        }
    }
}
