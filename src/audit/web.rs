//! The audit page: the audit trail or the security log of the workspace, filtered by the same
//! parameters as the API and paged with its cursor. Owners and admins only.
//!
//! Two conveniences of the page only: the user who acted may be given by email as well as by
//! id, and the date range by calendar days (`from` the start of the day, `to` through the end
//! of the day, in UTC) as well as by RFC 3339 instants.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use serde::Deserialize;

use super::api::{AuditQuery, require_reader};
use super::model::{AuditRow, Log};
use super::service;
use crate::app::AppState;
use crate::http::Pages;
use crate::http::{ApiError, FieldErrors};
use crate::identity::Principal;
use crate::web::{Layout, render};

pub fn router() -> Pages {
    Pages::new().route("/audit", get(show))
}

/// Whether the caller may open the audit page, for the navigation to offer it.
pub fn may_open(principal: &Principal) -> bool {
    require_reader(principal).is_ok()
}

/// Which log to show and the page's own filters; read apart from the filters the API shares.
#[derive(Deserialize)]
struct LogQuery {
    log: Option<String>,
    /// The user who acted, by email or id.
    who: Option<String>,
}

#[derive(Template)]
#[template(path = "audit.html")]
struct AuditPage {
    layout: Layout,
    security: bool,
    who: String,
    query: AuditQuery,
    errors: FieldErrors,
    rows: Vec<AuditRow>,
    next_link: Option<String>,
}

impl AuditPage {
    fn value<'a>(&self, raw: &'a Option<String>) -> &'a str {
        raw.as_deref().unwrap_or_default()
    }

    fn number(&self, raw: &Option<i64>) -> String {
        raw.map(|n| n.to_string()).unwrap_or_default()
    }

    fn changes(&self, row: &AuditRow) -> String {
        row.changes.iter().map(|c| format!("{}: {} → {}", c.field, c.old, c.new)).collect::<Vec<_>>().join("; ")
    }
}

/// A calendar day (`YYYY-MM-DD`, as a date input sends it) as the instant a range starts at:
/// the day's start for `from`, the next day's start for `to` so that the day is included.
fn day_bound(raw: &Option<String>, end: bool) -> Option<String> {
    let raw = raw.as_deref()?;
    let Ok(day) = chrono::NaiveDate::parse_from_str(raw, "%Y-%m-%d") else { return Some(raw.to_owned()) };
    let day = if end { day.succ_opt()? } else { day };
    Some(format!("{day}T00:00:00Z"))
}

/// The user id behind `who`: an id as it is, an email looked up among the members.
async fn actor_of(state: &AppState, principal: &Principal, who: &str) -> Result<Result<Option<i64>, String>, ApiError> {
    let who = who.trim();
    if who.is_empty() {
        return Ok(Ok(None));
    }
    if let Ok(id) = who.parse() {
        return Ok(Ok(Some(id)));
    }
    let Ok(email) = rapport_core::Email::parse(who) else {
        return Ok(Err("must be a member's email or user id".into()));
    };
    let member = crate::identity::member_by_email(&state.db, principal.workspace_id, &email).await?;
    Ok(member.map(|user| Some(user.get())).ok_or_else(|| "is not a member of this workspace".to_owned()))
}

async fn show(
    State(state): State<AppState>,
    principal: Principal,
    Query(which): Query<LogQuery>,
    Query(filter): Query<AuditQuery>,
) -> Result<Response, ApiError> {
    require_reader(&principal)?;
    let security = which.log.as_deref().and_then(Log::parse) == Some(Log::Security);
    let log = if security { Log::Security } else { Log::Audit };
    let who = which.who.unwrap_or_default();
    let (shown_from, shown_to) = (filter.from.clone(), filter.to.clone());
    let mut query = AuditQuery { from: day_bound(&filter.from, false), to: day_bound(&filter.to, true), ..filter };
    let parsed = match actor_of(&state, &principal, &who).await? {
        Ok(actor) => {
            query.actor = actor.or(query.actor);
            query.parse()
        }
        Err(message) => Err(FieldErrors::from([("who".to_owned(), vec![message])])),
    };
    let (rows, next, errors) = match parsed {
        Ok((parsed, cursor)) => {
            let page = service::list(&state.db, principal.workspace_id, log, &parsed, cursor, None).await?;
            (page.items, page.next, FieldErrors::new())
        }
        Err(errors) => (Vec::new(), None, errors),
    };
    let query = AuditQuery { from: shown_from, to: shown_to, ..query };
    let who = if who.trim().is_empty() { query.actor.map(|id| id.to_string()).unwrap_or_default() } else { who };
    let next_link = next.map(|cursor| next_link(log, &query, &cursor));
    let status = if errors.is_empty() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
    let title = if security { "Security log" } else { "Audit trail" };
    let page =
        AuditPage { layout: Layout::for_caller(title, &principal), security, who, query, errors, rows, next_link };
    Ok(render(status, &page))
}

/// The same filters with the next page's cursor.
fn next_link(log: Log, filter: &AuditQuery, cursor: &str) -> String {
    let mut link = url::form_urlencoded::Serializer::new(String::new());
    link.append_pair("log", log.as_str());
    let text = [("entity", &filter.entity), ("action", &filter.action), ("from", &filter.from), ("to", &filter.to)];
    for (name, value) in text {
        if let Some(value) = value.as_deref().filter(|v| !v.is_empty()) {
            link.append_pair(name, value);
        }
    }
    for (name, value) in [("entity_id", filter.entity_id), ("actor", filter.actor)] {
        if let Some(value) = value {
            link.append_pair(name, &value.to_string());
        }
    }
    link.append_pair("cursor", cursor);
    format!("/audit?{}", link.finish())
}
