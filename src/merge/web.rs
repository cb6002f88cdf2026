//! Duplicates pages: `/duplicates` is the review queue (pairs by score, their clusters, a scan
//! button, a bulk merge above a score and its progress); `/duplicates/{a}/{b}` shows two people
//! side by side with a choice per field and of the survivor, and merges; `/merges` lists merges
//! and `/merges/{id}` shows one with its undo button. Permission and state are the service's to
//! decide, as for the API.

use std::collections::BTreeMap;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use rapport_core::PersonId;
use serde::Deserialize;
use serde_json::Value;

use super::api::{
    MergeView, PersonBrief, QueuedPair, RunView, brief, cursor_text, parse_cursor, queued, run_view, view,
};
use super::model::{MergeRequest, Side};
use super::service::{self, MergeError};
use crate::app::AppState;
use crate::http::auth::{ButtonForm, SessionForm};
use crate::http::{ApiError, Pages};
use crate::identity::Principal;
use crate::profile::page::value_text;
use crate::web::{Layout, csrf_token, render};

/// Pairs per page of the queue.
const QUEUE_PAGE: i64 = 50;

pub fn router() -> Pages {
    Pages::new()
        .route("/duplicates", get(queue_page))
        .route("/duplicates/scan", post(scan))
        .route("/duplicates/{a}/{b}", get(compare_page).post(merge))
        .route("/merges", get(merges_page))
        .route("/merges/bulk", post(bulk))
        .route("/merges/of/{person}", get(merge_of))
        .route("/merges/{id}", get(merge_page))
        .route("/merges/{id}/undo", post(undo))
}

#[derive(Deserialize)]
struct QueueQuery {
    min_score: Option<f64>,
    after: Option<String>,
}

#[derive(Template)]
#[template(path = "merge/queue.html")]
struct QueuePage {
    layout: Layout,
    csrf_token: String,
    pairs: Vec<QueuedPair>,
    min_score: f64,
    next: Option<String>,
    scanned_at: Option<String>,
    run: Option<RunView>,
    running: bool,
}

async fn queue_page(
    State(state): State<AppState>,
    principal: Principal,
    Query(query): Query<QueueQuery>,
) -> Result<Response, ApiError> {
    let min_score = query.min_score.filter(|s| (0.0..=1.0).contains(s)).unwrap_or(crate::dedup::DEFAULT_THRESHOLD);
    let after = query.after.as_deref().and_then(parse_cursor);
    let (pairs, next) = service::queue(&state.db, &principal, (min_score, after), QUEUE_PAGE).await?;
    let access = crate::access::field_access(&state.db, &principal, "person").await?;
    let run = service::latest_run(&state.db, &principal).await?;
    let page = QueuePage {
        layout: Layout::for_caller("Duplicates", &principal),
        csrf_token: csrf_token(&principal),
        pairs: pairs.iter().map(|p| queued(p, &access)).collect(),
        min_score,
        next: next.map(cursor_text),
        scanned_at: service::scanned_at(&state.db, &principal)
            .await?
            .map(|at| at.format("%Y-%m-%d %H:%M UTC").to_string()),
        running: run.as_ref().is_some_and(|r| matches!(r.status, super::RunStatus::Queued | super::RunStatus::Running)),
        run: run.as_ref().map(run_view),
    };
    Ok(render(StatusCode::OK, &page))
}

async fn scan(
    State(state): State<AppState>,
    SessionForm(principal, _): SessionForm<ButtonForm>,
) -> Result<Response, ApiError> {
    service::scan(&state.db, &principal).await?;
    state.waker.wake();
    Ok(Redirect::to("/duplicates").into_response())
}

#[derive(Deserialize)]
struct BulkForm {
    #[serde(default)]
    csrf_token: String,
    min_score: f64,
}

crate::http::auth::csrf_protected!(BulkForm);

async fn bulk(
    State(state): State<AppState>,
    SessionForm(principal, form): SessionForm<BulkForm>,
) -> Result<Response, ApiError> {
    service::bulk(&state.db, &principal, form.min_score).await?;
    state.waker.wake();
    Ok(Redirect::to("/duplicates").into_response())
}

/// One row of the side-by-side form.
struct Row {
    key: String,
    label: String,
    a: String,
    b: String,
    /// The radio checked: `a` or `b`.
    chosen: &'static str,
    /// Both sides hold the same value: nothing to choose.
    same: bool,
}

#[derive(Template)]
#[template(path = "merge/compare.html")]
struct ComparePage {
    layout: Layout,
    csrf_token: String,
    a: PersonBrief,
    b: PersonBrief,
    score: i64,
    reasons: Vec<String>,
    rows: Vec<Row>,
    related: [(String, usize, usize); 4],
    problems: Vec<String>,
}

async fn compare_page(
    State(state): State<AppState>,
    principal: Principal,
    Path((a, b)): Path<(i64, i64)>,
) -> Result<Response, ApiError> {
    render_compare(&state, &principal, (a, b), Vec::new(), StatusCode::OK).await
}

async fn render_compare(
    state: &AppState,
    principal: &Principal,
    (a, b): (i64, i64),
    problems: Vec<String>,
    status: StatusCode,
) -> Result<Response, ApiError> {
    let found = service::compare(&state.db, principal, (PersonId::new(a), PersonId::new(b))).await?;
    let access = crate::access::field_access(&state.db, principal, "person").await?;
    let rows = found
        .fields
        .iter()
        .filter(|f| !(f.a.is_null() && f.b.is_null()))
        .map(|f| Row {
            key: f.key.clone(),
            label: f.label.clone(),
            a: shown(&f.a),
            b: shown(&f.b),
            chosen: if f.default == Side::Merged { "b" } else { "a" },
            same: f.a == f.b,
        })
        .collect();
    let (ra, rb) = found.related;
    let page = ComparePage {
        layout: Layout::for_caller("Compare duplicates", principal),
        csrf_token: csrf_token(principal),
        a: brief(&found.a, &access),
        b: brief(&found.b, &access),
        score: (found.pair.score * 100.0).floor() as i64,
        reasons: found.pair.reasons.clone(),
        rows,
        related: [
            ("Notes".to_owned(), ra.notes, rb.notes),
            ("Tasks".to_owned(), ra.tasks, rb.tasks),
            ("Attachments".to_owned(), ra.attachments, rb.attachments),
            ("Companies".to_owned(), ra.companies, rb.companies),
        ],
        problems,
    };
    Ok(render(status, &page))
}

/// A compared value as a reader says it; an address as one line.
fn shown(value: &Value) -> String {
    match value {
        Value::Object(address) => ["street", "street2", "postal_code", "city", "region", "country"]
            .iter()
            .filter_map(|key| address.get(*key).and_then(Value::as_str))
            .collect::<Vec<_>>()
            .join(", "),
        other => value_text(other),
    }
}

#[derive(Deserialize)]
struct MergeForm {
    #[serde(default)]
    csrf_token: String,
    /// `a` or `b`: who survives.
    #[serde(default)]
    survivor: String,
    /// Each field's side, named `field.KEY`: `a` or `b`.
    #[serde(flatten)]
    fields: BTreeMap<String, String>,
}

crate::http::auth::csrf_protected!(MergeForm);

async fn merge(
    State(state): State<AppState>,
    Path((a, b)): Path<(i64, i64)>,
    SessionForm(principal, form): SessionForm<MergeForm>,
) -> Result<Response, ApiError> {
    let b_survives = form.survivor == "b";
    let (survivor, merged) = if b_survives { (b, a) } else { (a, b) };
    let fields = form
        .fields
        .iter()
        .filter_map(|(name, side)| {
            let key = name.strip_prefix("field.")?;
            let kept_from_b = side == "b";
            let side = if kept_from_b == b_survives { Side::Survivor } else { Side::Merged };
            Some((key.to_owned(), side))
        })
        .collect();
    let request = MergeRequest { survivor, merged, fields };
    match service::merge(&state.db, &principal, &request).await {
        Ok(done) => Ok(Redirect::to(&format!("/merges/{}", done.id)).into_response()),
        Err(MergeError::Invalid(fields)) | Err(MergeError::Person(crate::person::PersonError::Invalid(fields))) => {
            let problems =
                fields.into_iter().flat_map(|(field, why)| why.into_iter().map(move |w| format!("{field}: {w}")));
            render_compare(&state, &principal, (a, b), problems.collect(), StatusCode::UNPROCESSABLE_ENTITY).await
        }
        Err(err) => Err(err.into()),
    }
}

#[derive(Template)]
#[template(path = "merge/list.html")]
struct MergesPage {
    layout: Layout,
    merges: Vec<MergeView>,
}

async fn merges_page(State(state): State<AppState>, principal: Principal) -> Result<Response, ApiError> {
    let access = crate::access::field_access(&state.db, &principal, "person").await?;
    let merges = service::recent(&state.db, &principal, None, 100).await?;
    let page = MergesPage {
        layout: Layout::for_caller("Merges", &principal),
        merges: merges.iter().map(|m| view(m, &access)).collect(),
    };
    Ok(render(StatusCode::OK, &page))
}

#[derive(Template)]
#[template(path = "merge/merge.html")]
struct MergePage {
    layout: Layout,
    csrf_token: String,
    merge: MergeView,
    changes: Vec<(String, String, String)>,
}

async fn merge_page(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<i64>,
) -> Result<Response, ApiError> {
    let access = crate::access::field_access(&state.db, &principal, "person").await?;
    let merge = view(&service::get(&state.db, &principal, id).await?, &access);
    let changes = merge.changes.iter().map(|c| (c.field.clone(), value_text(&c.old), value_text(&c.new))).collect();
    let page = MergePage {
        layout: Layout::for_caller(format!("Merge {id}"), &principal),
        csrf_token: csrf_token(&principal),
        merge,
        changes,
    };
    Ok(render(StatusCode::OK, &page))
}

/// The standing merge that took a person away.
async fn merge_of(
    State(state): State<AppState>,
    principal: Principal,
    Path(person): Path<i64>,
) -> Result<Response, ApiError> {
    let merge = service::merged_away(&state.db, &principal, PersonId::new(person)).await?.ok_or(ApiError::NotFound)?;
    Ok(Redirect::to(&format!("/merges/{}", merge.id)).into_response())
}

async fn undo(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    SessionForm(principal, _): SessionForm<ButtonForm>,
) -> Result<Response, ApiError> {
    service::undo(&state.db, &principal, id).await?;
    Ok(Redirect::to(&format!("/merges/{id}")).into_response())
}
