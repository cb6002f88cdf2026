//! The duplicates and merges JSON API. `GET /api/v1/duplicates` is the review queue (the last
//! scan's pairs, highest score first, clustered); `POST /api/v1/duplicates/scan` queues a scan;
//! `GET /api/v1/duplicates/{a}/{b}` compares two people field by field; `POST /api/v1/merges`
//! merges one into the other; `GET /api/v1/merges` and `/merges/{id}` show merges,
//! `POST /api/v1/merges/{id}/undo` undoes one within 30 days; `POST /api/v1/merges/bulk` merges
//! every queued pair above a score as a job, followed at `GET /api/v1/merges/bulk/{id}`.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use rapport_core::{FieldChange, PersonId, Timestamp};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::model::{Merge, MergeRequest, Moved, Run, Side};
use super::service::{self, Comparison, MergeError, Queued, Related};
use crate::access::FieldAccess;
use crate::app::AppState;
use crate::http::{ApiError, ErrorBody, FieldErrors};
use crate::identity::Principal;
use crate::person::Person;
use crate::profile::projected;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(duplicates))
        .routes(routes!(scan))
        .routes(routes!(compare))
        .routes(routes!(list, create))
        .routes(routes!(read))
        .routes(routes!(undo))
        .routes(routes!(bulk))
        .routes(routes!(bulk_run))
}

impl From<MergeError> for ApiError {
    fn from(err: MergeError) -> Self {
        match err {
            MergeError::Invalid(fields) => Self::Validation(fields),
            MergeError::NotFound => Self::NotFound,
            MergeError::Same => Self::Validation(FieldErrors::from([(
                "merged".into(),
                vec!["must be another person than the survivor".into()],
            )])),
            MergeError::Undone => Self::Conflict { code: "merge_undone", message: err.to_string() },
            MergeError::Expired => Self::Conflict { code: "merge_expired", message: err.to_string() },
            MergeError::Forbidden(why) => Self::Forbidden(why.into()),
            MergeError::Person(err) => err.into(),
            MergeError::Activity(err) => err.into(),
            MergeError::Attachment(err) => err.into(),
            MergeError::Dedup(err) => Self::Internal(err.to_string()),
            MergeError::Db(err) => err.into(),
        }
    }
}

/// One side of a queued pair: who they are, as far as the caller may see.
#[derive(Serialize, utoipa::ToSchema)]
pub struct PersonBrief {
    pub id: i64,
    pub external_id: Option<String>,
    pub name: String,
    pub email: Option<String>,
}

pub(super) fn brief(person: &Person, access: &FieldAccess) -> PersonBrief {
    let f = &person.fields;
    let shown = |key: &str| access.visible(key);
    let email =
        f.emails.iter().find(|e| e.primary).or(f.emails.first()).map(|e| e.value.clone()).filter(|_| shown("email"));
    PersonBrief {
        id: person.id.get(),
        external_id: f.external_id.clone().filter(|_| shown("external_id")),
        name: crate::person::web::display_name(person, access),
        email,
    }
}

/// A pair of the review queue.
#[derive(Serialize, utoipa::ToSchema)]
pub struct QueuedPair {
    pub a: PersonBrief,
    pub b: PersonBrief,
    /// The probability (0–1) that they are one person.
    pub score: f64,
    /// The field comparisons behind the score, strongest first.
    pub reasons: Vec<String>,
    /// Pairs sharing a person have the same cluster number.
    pub cluster: usize,
}

pub(super) fn queued(item: &Queued, access: &FieldAccess) -> QueuedPair {
    QueuedPair {
        a: brief(&item.a, access),
        b: brief(&item.b, access),
        score: item.pair.score,
        reasons: item.pair.reasons.clone(),
        cluster: item.cluster,
    }
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct QueuePage {
    pub pairs: Vec<QueuedPair>,
    /// Send as `after` for the next page.
    pub next: Option<String>,
    /// When the pairs were found; `null` before the first scan.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub scanned_at: Option<Timestamp>,
}

#[derive(Deserialize, utoipa::IntoParams)]
struct QueueQuery {
    /// Only pairs scoring this or more (default 0.9).
    min_score: Option<f64>,
    /// The `next` of the previous page.
    after: Option<String>,
    /// 1–500, default 50.
    limit: Option<i64>,
}

/// Reads a queue cursor, `SCORE,A,B`.
pub(super) fn parse_cursor(raw: &str) -> Option<(f64, i64, i64)> {
    let mut parts = raw.split(',');
    let cursor = (parts.next()?.parse().ok()?, parts.next()?.parse().ok()?, parts.next()?.parse().ok()?);
    parts.next().is_none().then_some(cursor)
}

pub(super) fn cursor_text((score, a, b): (f64, i64, i64)) -> String {
    format!("{score},{a},{b}")
}

async fn access(state: &AppState, principal: &Principal) -> Result<FieldAccess, ApiError> {
    Ok(crate::access::field_access(&state.db, principal, "person").await?)
}

/// The review queue: the last scan's probable duplicate pairs whose people are both live and
/// readable by the caller, highest score first.
#[utoipa::path(get, path = "/duplicates", tag = "duplicates", security(("bearer" = [])), params(QueueQuery),
    responses((status = 200, body = QueuePage), (status = 422, body = ErrorBody)))]
async fn duplicates(
    State(state): State<AppState>,
    principal: Principal,
    Query(query): Query<QueueQuery>,
) -> Result<Json<QueuePage>, ApiError> {
    let after = match query.after.as_deref() {
        Some(raw) => Some(parse_cursor(raw).ok_or_else(|| ApiError::field("after", "is not a cursor from this list"))?),
        None => None,
    };
    let min_score = query.min_score.unwrap_or(crate::dedup::DEFAULT_THRESHOLD);
    if !(0.0..=1.0).contains(&min_score) {
        return Err(ApiError::field("min_score", "must be a probability between 0 and 1"));
    }
    let (pairs, next) = service::queue(&state.db, &principal, (min_score, after), query.limit.unwrap_or(50)).await?;
    let access = access(&state, &principal).await?;
    Ok(Json(QueuePage {
        pairs: pairs.iter().map(|p| queued(p, &access)).collect(),
        next: next.map(cursor_text),
        scanned_at: service::scanned_at(&state.db, &principal).await?,
    }))
}

/// Queues a scan of the workspace's people for the review queue (one runs at a time).
#[utoipa::path(post, path = "/duplicates/scan", tag = "duplicates", security(("bearer" = [])),
    responses((status = 202, description = "the scan is queued"), (status = 403, body = ErrorBody)))]
async fn scan(State(state): State<AppState>, principal: Principal) -> Result<StatusCode, ApiError> {
    service::scan(&state.db, &principal).await?;
    state.waker.wake();
    Ok(StatusCode::ACCEPTED)
}

/// One field of a comparison.
#[derive(Serialize, utoipa::ToSchema)]
pub struct FieldView {
    pub key: String,
    pub label: String,
    pub a: Value,
    pub b: Value,
    /// Whose value a merge of `b` into `a` keeps unless told otherwise: the survivor's, or the
    /// other's where the survivor has none.
    pub default: Side,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ComparisonView {
    /// Both people as `GET /people/{id}` shows them.
    #[schema(value_type = Object)]
    pub a: Value,
    #[schema(value_type = Object)]
    pub b: Value,
    pub score: f64,
    pub reasons: Vec<String>,
    /// The fields a merge chooses between (emails, phones, tags and social profiles are joined).
    pub fields: Vec<FieldView>,
    /// What hangs on each person and moves to the survivor.
    pub related_a: Related,
    pub related_b: Related,
}

fn comparison(found: Comparison, access: &FieldAccess) -> ComparisonView {
    ComparisonView {
        a: projected(access, crate::person::api::view_json(&found.a)),
        b: projected(access, crate::person::api::view_json(&found.b)),
        score: found.pair.score,
        reasons: found.pair.reasons,
        fields: found
            .fields
            .into_iter()
            .map(|f| FieldView { key: f.key, label: f.label, a: f.a, b: f.b, default: f.default })
            .collect(),
        related_a: found.related.0,
        related_b: found.related.1,
    }
}

/// Two people side by side with the score the workspace's model gives them, whether or not the
/// last scan paired them.
#[utoipa::path(get, path = "/duplicates/{a}/{b}", tag = "duplicates", security(("bearer" = [])),
    params(("a" = i64, Path), ("b" = i64, Path)),
    responses((status = 200, body = ComparisonView), (status = 404, body = ErrorBody)))]
async fn compare(
    State(state): State<AppState>,
    principal: Principal,
    Path((a, b)): Path<(i64, i64)>,
) -> Result<Json<ComparisonView>, ApiError> {
    let found = service::compare(&state.db, &principal, (PersonId::new(a), PersonId::new(b))).await?;
    Ok(Json(comparison(found, &access(&state, &principal).await?)))
}

/// A merge as the API shows it.
#[derive(Serialize, utoipa::ToSchema)]
pub struct MergeView {
    pub id: i64,
    pub survivor: i64,
    pub merged: i64,
    /// The survivor's fields the merge changed.
    pub changes: Vec<FieldChange>,
    /// What moved from the merged person to the survivor.
    pub moved: Moved,
    /// The pair's score in the queue, when the merge came from it.
    pub score: Option<f64>,
    /// The bulk merge that made it.
    pub run: Option<i64>,
    /// `user:ID` or `token:ID:user:ID`.
    pub actor: String,
    #[schema(value_type = String, format = DateTime)]
    pub merged_at: Timestamp,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub undone_at: Option<Timestamp>,
    /// Until when the merge can be undone.
    #[schema(value_type = String, format = DateTime)]
    pub undo_until: Timestamp,
    pub undoable: bool,
}

pub(super) fn view(merge: &Merge, access: &FieldAccess) -> MergeView {
    let mut changes = crate::person::changes(Some(&merge.survivor_before), Some(&merge.survivor_after));
    changes.retain(|c| access.visible(crate::profile::governing_field(&c.field)));
    MergeView {
        id: merge.id,
        survivor: merge.survivor_id.get(),
        merged: merge.merged_id.get(),
        changes,
        moved: merge.moved.clone(),
        score: merge.pair.as_ref().map(|p| p.score),
        run: merge.run_id,
        actor: merge.actor.clone(),
        merged_at: merge.merged_at,
        undone_at: merge.undone_at,
        undo_until: merge.undo_until(),
        undoable: merge.undoable(),
    }
}

/// Merges `merged` into `survivor`: the survivor keeps, field by field, the value `fields`
/// names (by default their own, or the other's where they have none), gains every email, phone,
/// tag and social profile of both, and takes over the other's notes, tasks, attachments and
/// company links; the other goes to the trash, marked merged. The caller must be able to change
/// the survivor and delete the other.
#[utoipa::path(post, path = "/merges", tag = "duplicates", security(("bearer" = [])), request_body = MergeRequest,
    responses((status = 201, body = MergeView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 422, description = "an unknown field, the same person twice, or a combined field invalid", body = ErrorBody)))]
async fn create(
    State(state): State<AppState>,
    principal: Principal,
    Json(request): Json<MergeRequest>,
) -> Result<(StatusCode, Json<MergeView>), ApiError> {
    let merge = service::merge(&state.db, &principal, &request).await?;
    Ok((StatusCode::CREATED, Json(view(&merge, &access(&state, &principal).await?))))
}

#[derive(Deserialize, utoipa::IntoParams)]
struct ListQuery {
    /// Merges older than this id.
    before: Option<i64>,
    /// 1–200, default 50.
    limit: Option<i64>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct MergeList {
    pub merges: Vec<MergeView>,
    pub next: Option<i64>,
}

/// The workspace's merges, newest first, whose survivor the caller may read.
#[utoipa::path(get, path = "/merges", tag = "duplicates", security(("bearer" = [])), params(ListQuery),
    responses((status = 200, body = MergeList)))]
async fn list(
    State(state): State<AppState>,
    principal: Principal,
    Query(query): Query<ListQuery>,
) -> Result<Json<MergeList>, ApiError> {
    let limit = query.limit.unwrap_or(50).clamp(1, 200);
    let merges = service::recent(&state.db, &principal, query.before, limit).await?;
    let access = access(&state, &principal).await?;
    let next = (merges.len() as i64 == limit).then(|| merges.last().map(|m| m.id)).flatten();
    Ok(Json(MergeList { merges: merges.iter().map(|m| view(m, &access)).collect(), next }))
}

#[utoipa::path(get, path = "/merges/{id}", tag = "duplicates", security(("bearer" = [])), params(("id" = i64, Path)),
    responses((status = 200, body = MergeView), (status = 404, body = ErrorBody)))]
async fn read(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<i64>,
) -> Result<Json<MergeView>, ApiError> {
    let merge = service::get(&state.db, &principal, id).await?;
    Ok(Json(view(&merge, &access(&state, &principal).await?)))
}

/// Undoes a merge within 30 days: the merged person comes back (with their external id), their
/// notes, tasks, attachments and links go back, the survivor's fields the merge changed return
/// to what they were (unless edited since), and the pair returns to the queue.
#[utoipa::path(post, path = "/merges/{id}/undo", tag = "duplicates", security(("bearer" = [])),
    params(("id" = i64, Path)),
    responses((status = 200, body = MergeView), (status = 404, body = ErrorBody),
        (status = 409, description = "`merge_undone` or `merge_expired`", body = ErrorBody)))]
async fn undo(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<i64>,
) -> Result<Json<MergeView>, ApiError> {
    let merge = service::undo(&state.db, &principal, id).await?;
    Ok(Json(view(&merge, &access(&state, &principal).await?)))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct BulkRequest {
    /// Every queued pair scoring this or more is merged (0.5–1).
    pub min_score: f64,
}

/// A bulk merge as the API shows it.
#[derive(Serialize, utoipa::ToSchema)]
pub struct RunView {
    pub id: i64,
    pub min_score: f64,
    /// `queued`, `running`, `done` or `failed`.
    pub status: &'static str,
    pub merged: i64,
    /// Pairs left alone: one of them already merged in this run, or out of the caller's reach.
    pub skipped: i64,
    pub error: Option<String>,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub finished_at: Option<Timestamp>,
}

pub(super) fn run_view(run: &Run) -> RunView {
    RunView {
        id: run.id,
        min_score: run.min_score,
        status: run.status.as_str(),
        merged: run.merged,
        skipped: run.skipped,
        error: run.error.clone(),
        created_at: run.created_at,
        finished_at: run.finished_at,
    }
}

/// Merges every queued pair scoring `min_score` or more, as a job run as the caller: each pair's
/// later-created person into the earlier one, with the default choices. Each merge can be
/// undone on its own.
#[utoipa::path(post, path = "/merges/bulk", tag = "duplicates", security(("bearer" = [])), request_body = BulkRequest,
    responses((status = 202, body = RunView), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn bulk(
    State(state): State<AppState>,
    principal: Principal,
    Json(request): Json<BulkRequest>,
) -> Result<(StatusCode, Json<RunView>), ApiError> {
    let run = service::bulk(&state.db, &principal, request.min_score).await?;
    state.waker.wake();
    Ok((StatusCode::ACCEPTED, Json(run_view(&run))))
}

#[utoipa::path(get, path = "/merges/bulk/{id}", tag = "duplicates", security(("bearer" = [])),
    params(("id" = i64, Path)), responses((status = 200, body = RunView), (status = 404, body = ErrorBody)))]
async fn bulk_run(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<i64>,
) -> Result<Json<RunView>, ApiError> {
    Ok(Json(run_view(&service::run(&state.db, &principal, id).await?)))
}
