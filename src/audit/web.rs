//! The audit page: the audit trail or the security log of the workspace, filtered by the same
//! parameters as the API and paged with its cursor. Owners and admins only.

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

/// Which log to show; read apart from the filters, which the API shares.
#[derive(Deserialize)]
struct LogQuery {
    log: Option<String>,
}

#[derive(Template)]
#[template(path = "audit.html")]
struct AuditPage {
    layout: Layout,
    security: bool,
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

async fn show(
    State(state): State<AppState>,
    principal: Principal,
    Query(which): Query<LogQuery>,
    Query(filter): Query<AuditQuery>,
) -> Result<Response, ApiError> {
    require_reader(&principal)?;
    let security = which.log.as_deref().and_then(Log::parse) == Some(Log::Security);
    let log = if security { Log::Security } else { Log::Audit };
    let (rows, next, errors) = match filter.parse() {
        Ok((filter, cursor)) => {
            let page = service::list(&state.db, principal.workspace_id, log, &filter, cursor, None).await?;
            (page.items, page.next, FieldErrors::new())
        }
        Err(errors) => (Vec::new(), None, errors),
    };
    let next_link = next.map(|cursor| next_link(log, &filter, &cursor));
    let status = if errors.is_empty() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
    let title = if security { "Security log" } else { "Audit trail" };
    let page = AuditPage { layout: Layout::new(title), security, query: filter, errors, rows, next_link };
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
