//! Companies' JSON API under `/api/v1/companies`: create (idempotent with `Idempotency-Key`),
//! read, update with `If-Match`, delete to the trash, restore, list with a cursor, the timeline,
//! the field vocabulary, and the people linked to a company (with `/api/v1/people/{id}/companies`
//! for the other direction).

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use rapport_core::{CompanyId, PersonId, Timestamp};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::model::{Company, CompanyInput, Link};
use super::service::{self, CompanyError, Created};
use crate::access::FieldAccess;
use crate::app::AppState;
use crate::http::{ApiError, ErrorBody};
use crate::identity::Principal;
use crate::profile::{FieldDef, TimelineEntry, parse_etag, primary, projected, shown_count, written_fields};

/// The object name field rules use.
pub(super) const OBJECT: &str = "company";

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(vocabulary))
        .routes(routes!(read, update, delete))
        .routes(routes!(restore))
        .routes(routes!(history))
        .routes(routes!(people))
        .routes(routes!(link, unlink))
        .routes(routes!(companies_of_person))
}

/// A company as the API returns it: the input fields, normalised, with the primaries filled in.
#[derive(Serialize, utoipa::ToSchema)]
pub struct CompanyView {
    pub id: CompanyId,
    #[serde(flatten)]
    pub fields: CompanyInput,
    /// Moves on with every change; send it back in `If-Match`.
    pub version: i64,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: Timestamp,
    /// Set while the company is in the trash.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub deleted_at: Option<Timestamp>,
}

pub(crate) fn view_json(company: &Company) -> Value {
    let mut fields = company.fields.clone();
    fields.email = primary(&fields.emails);
    fields.phone = primary(&fields.phones);
    let view = CompanyView {
        id: company.id,
        fields,
        version: company.version,
        created_at: company.created_at,
        updated_at: company.updated_at,
        deleted_at: company.deleted_at,
    };
    serde_json::to_value(view).unwrap_or(Value::Null)
}

async fn field_access(state: &AppState, principal: &Principal) -> Result<FieldAccess, ApiError> {
    Ok(crate::access::field_access(&state.db, principal, OBJECT).await?)
}

fn with_etag(status: StatusCode, company: &Company, access: &FieldAccess) -> Response {
    let mut response = (status, Json(projected(access, view_json(company)))).into_response();
    if let Ok(etag) = HeaderValue::from_str(&company.etag()) {
        response.headers_mut().insert(header::ETAG, etag);
    }
    response
}

/// Creates a company. Send `Idempotency-Key` to make retries safe: a repeat answers the first
/// response and creates nothing.
#[utoipa::path(
    post,
    path = "/companies",
    tag = "companies",
    security(("bearer" = [])),
    params(("Idempotency-Key" = Option<String>, Header, description = "Any unique string; repeats answer the first response")),
    request_body = CompanyInput,
    responses(
        (status = 201, body = CompanyView),
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
    let input: CompanyInput = serde_json::from_value(body).map_err(|e| ApiError::field("body", e.to_string()))?;
    let key = headers.get("idempotency-key").and_then(|v| v.to_str().ok()).map(str::to_owned);
    match service::create(&state.db, &principal, &input, key, view_json).await? {
        Created::New(company) => Ok(with_etag(StatusCode::CREATED, &company, &access)),
        Created::Replayed(reply) => {
            let status = StatusCode::from_u16(reply.status).unwrap_or(StatusCode::CREATED);
            Ok((status, [("idempotent-replayed", "true")], Json(projected(&access, reply.body))).into_response())
        }
    }
}

/// One company, in the trash or not.
#[utoipa::path(
    get,
    path = "/companies/{id}",
    tag = "companies",
    security(("bearer" = [])),
    params(("id" = i64, Path)),
    responses((status = 200, body = CompanyView, headers(("ETag" = String))), (status = 404, body = ErrorBody))
)]
async fn read(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<CompanyId>,
) -> Result<Response, ApiError> {
    let access = field_access(&state, &principal).await?;
    let company = service::get(&state.db, &principal, id).await?;
    Ok(with_etag(StatusCode::OK, &company, &access))
}

/// Changes some fields (a JSON merge patch: absent keys stay, `null` clears). With `If-Match`,
/// refuses with 412 if the company changed since that version was read.
#[utoipa::path(
    patch,
    path = "/companies/{id}",
    tag = "companies",
    security(("bearer" = [])),
    params(("id" = i64, Path), ("If-Match" = Option<String>, Header, description = "The ETag last read")),
    request_body = CompanyInput,
    responses(
        (status = 200, body = CompanyView),
        (status = 412, description = "Changed since the If-Match version", body = ErrorBody),
        (status = 422, body = ErrorBody),
        (status = 404, body = ErrorBody)
    )
)]
async fn update(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<CompanyId>,
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
    let company = service::update(&state.db, &principal, id, patch, expected).await?;
    Ok(with_etag(StatusCode::OK, &company, &access))
}

/// Moves a company to the trash; restorable for 30 days.
#[utoipa::path(
    delete,
    path = "/companies/{id}",
    tag = "companies",
    security(("bearer" = [])),
    params(("id" = i64, Path)),
    responses((status = 204), (status = 404, body = ErrorBody))
)]
async fn delete(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<CompanyId>,
) -> Result<StatusCode, ApiError> {
    service::delete(&state.db, &principal, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Takes a company out of the trash.
#[utoipa::path(
    post,
    path = "/companies/{id}/restore",
    tag = "companies",
    security(("bearer" = [])),
    params(("id" = i64, Path)),
    responses((status = 200, body = CompanyView), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody))
)]
async fn restore(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<CompanyId>,
) -> Result<Response, ApiError> {
    let access = field_access(&state, &principal).await?;
    let company = service::restore(&state.db, &principal, id).await?;
    Ok(with_etag(StatusCode::OK, &company, &access))
}

#[derive(Deserialize, utoipa::IntoParams)]
pub struct TimelineParams {
    /// The `next` of the previous page.
    pub cursor: Option<i64>,
    /// 1–200, default 50.
    pub limit: Option<i64>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct CompanyTimeline {
    pub data: Vec<TimelineEntry>,
    /// Pass as `cursor` for older entries; absent on the last page.
    pub next: Option<i64>,
}

/// What happened to a company, newest first, a page at a time. Changes of fields hidden from
/// the caller's role are left out.
#[utoipa::path(
    get,
    path = "/companies/{id}/timeline",
    tag = "companies",
    security(("bearer" = [])),
    params(("id" = i64, Path), TimelineParams),
    responses((status = 200, body = CompanyTimeline), (status = 404, body = ErrorBody))
)]
async fn history(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<CompanyId>,
    Query(params): Query<TimelineParams>,
) -> Result<Json<CompanyTimeline>, ApiError> {
    let access = field_access(&state, &principal).await?;
    let page = (params.cursor, params.limit.unwrap_or(50));
    let (data, next) = service::timeline(&state.db, &principal, &access, id, page).await?;
    Ok(Json(CompanyTimeline { data, next }))
}

#[derive(Deserialize, utoipa::IntoParams)]
pub struct ListParams {
    /// `true` lists the trash instead.
    #[serde(default)]
    pub trash: bool,
    /// Companies at this domain.
    pub domain: Option<String>,
    /// Companies owned by this user id.
    pub owner: Option<i64>,
    /// Companies carrying this tag.
    pub tag: Option<String>,
    /// A filter tree as JSON, as people lists take it; see `docs/list-views.md`.
    pub filter: Option<String>,
    /// A field key, `-` in front for descending: `name`, `-updated_at`.
    pub sort: Option<String>,
    /// The `next` of the previous page.
    pub cursor: Option<String>,
    /// 1–200, default 50.
    pub limit: Option<i64>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct CompanyList {
    /// Each company as the caller's role may see it.
    #[schema(value_type = Vec<CompanyView>)]
    pub data: Vec<Value>,
    /// Pass as `cursor` for the next page; absent on the last.
    pub next: Option<String>,
    /// Exact up to 10000, then the string `"10000+"`.
    #[schema(value_type = Object)]
    pub count: Value,
}

/// Companies, newest first, a page at a time (keyset cursor, never an offset).
#[utoipa::path(
    get,
    path = "/companies",
    tag = "companies",
    security(("bearer" = [])),
    params(ListParams),
    responses((status = 200, body = CompanyList), (status = 403, body = ErrorBody))
)]
async fn list(
    State(state): State<AppState>,
    principal: Principal,
    Query(params): Query<ListParams>,
) -> Result<Json<CompanyList>, ApiError> {
    let access = field_access(&state, &principal).await?;
    let mut shorthands = Vec::new();
    if let Some(domain) = params.domain.filter(|d| !d.trim().is_empty()) {
        let normal = super::model::domain(domain.trim()).unwrap_or(domain);
        shorthands.push(("domain", "is", Value::from(normal)));
    }
    if let Some(owner) = params.owner {
        shorthands.push(("owner", "is", Value::from(owner)));
    }
    if let Some(tag) = params.tag.filter(|t| !t.trim().is_empty()) {
        shorthands.push(("tags", "has_any", Value::from(vec![tag])));
    }
    let filter = crate::view::query_filter(params.filter.as_deref(), shorthands)
        .map_err(|problem| ApiError::field(&problem.path, problem.message))?;
    let spec = crate::view::ListSpec {
        trash: params.trash,
        filter,
        sort: params.sort,
        cursor: params.cursor,
        limit: params.limit.unwrap_or(50),
    };
    let page = service::list(&state.db, &principal, &access, &spec).await?;
    let data = page.companies.iter().map(|company| projected(&access, view_json(company))).collect();
    Ok(Json(CompanyList { data, next: page.next, count: shown_count(page.count) }))
}

/// The field vocabulary of companies: the names the API, CSV and import use.
#[utoipa::path(
    get,
    path = "/companies/fields",
    tag = "companies",
    security(("bearer" = [])),
    responses((status = 200, body = Vec<FieldDef>))
)]
async fn vocabulary(principal: Principal) -> Result<Json<&'static [FieldDef]>, ApiError> {
    if !principal.may(super::service::MODULE, false) {
        return Err(CompanyError::Forbidden("your role may not read companies").into());
    }
    Ok(Json(super::fields()))
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Links {
    pub data: Vec<Link>,
}

/// The people of a company (up to 200), first linked first.
#[utoipa::path(
    get,
    path = "/companies/{id}/people",
    tag = "companies",
    security(("bearer" = [])),
    params(("id" = i64, Path)),
    responses((status = 200, body = Links), (status = 404, body = ErrorBody))
)]
async fn people(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<CompanyId>,
) -> Result<Json<Links>, ApiError> {
    if !principal.may("people", false) {
        return Err(ApiError::Forbidden("not allowed to read people".into()));
    }
    Ok(Json(Links { data: service::people(&state.db, &principal, id).await? }))
}

#[derive(Deserialize, Default, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LinkInput {
    /// The person's role or title at the company.
    #[serde(default)]
    pub title: Option<String>,
}

/// Links a person to a company, or changes the title of their link.
#[utoipa::path(
    put,
    path = "/companies/{id}/people/{person_id}",
    tag = "companies",
    security(("bearer" = [])),
    params(("id" = i64, Path), ("person_id" = i64, Path)),
    request_body = LinkInput,
    responses((status = 204), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody))
)]
async fn link(
    State(state): State<AppState>,
    principal: Principal,
    Path((id, person)): Path<(CompanyId, PersonId)>,
    body: axum::body::Bytes,
) -> Result<StatusCode, ApiError> {
    // No body at all is a link without a title.
    let input: LinkInput = if body.iter().all(u8::is_ascii_whitespace) {
        LinkInput::default()
    } else {
        serde_json::from_slice(&body).map_err(|e| ApiError::field("body", e.to_string()))?
    };
    let title = input.title;
    service::link(&state.db, &principal, (id, person), title.as_deref()).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Removes a person from a company.
#[utoipa::path(
    delete,
    path = "/companies/{id}/people/{person_id}",
    tag = "companies",
    security(("bearer" = [])),
    params(("id" = i64, Path), ("person_id" = i64, Path)),
    responses((status = 204), (status = 404, body = ErrorBody))
)]
async fn unlink(
    State(state): State<AppState>,
    principal: Principal,
    Path((id, person)): Path<(CompanyId, PersonId)>,
) -> Result<StatusCode, ApiError> {
    service::unlink(&state.db, &principal, (id, person)).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The companies a person works for, with their title at each.
#[utoipa::path(
    get,
    path = "/people/{id}/companies",
    tag = "companies",
    security(("bearer" = [])),
    params(("id" = i64, Path)),
    responses((status = 200, body = Links), (status = 404, body = ErrorBody))
)]
async fn companies_of_person(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<PersonId>,
) -> Result<Json<Links>, ApiError> {
    if !principal.may(super::service::MODULE, false) {
        return Err(CompanyError::Forbidden("your role may not read companies").into());
    }
    crate::person::get(&state.db, &principal, id).await?;
    Ok(Json(Links { data: service::companies_of(&state.db, &principal, id).await? }))
}

impl From<CompanyError> for ApiError {
    fn from(err: CompanyError) -> Self {
        match err {
            CompanyError::Invalid(fields) => Self::Validation(fields),
            CompanyError::NotFound => Self::NotFound,
            CompanyError::Stale => Self::PreconditionFailed,
            CompanyError::KeyReused => Self::Conflict { code: "idempotency_key_reused", message: err.to_string() },
            CompanyError::Expired => Self::Conflict { code: "trash_expired", message: err.to_string() },
            CompanyError::Forbidden(why) => Self::Forbidden(why.into()),
            CompanyError::OwnerOutOfReach => Self::Forbidden(err.to_string()),
            CompanyError::Db(db) => db.into(),
        }
    }
}
