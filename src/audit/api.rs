//! The audit module's JSON API: the audit trail and the security log of the caller's
//! workspace, filtered and paged newest first. Owners and admins only.

use axum::Json;
use axum::extract::{Query, State};
use serde::{Deserialize, Serialize};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::model::{AuditAction, AuditFilter, AuditRow, Cursor, Log, Page};
use super::service::{self, AuditError};
use crate::app::AppState;
use crate::http::{ApiError, FieldErrors};
use crate::identity::{Action, Principal};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(audit)).routes(routes!(security_log))
}

impl From<AuditError> for ApiError {
    fn from(err: AuditError) -> Self {
        match err {
            AuditError::Db(db) => db.into(),
        }
    }
}

/// Only those who administer the workspace read the logs (owners, admins, a custom role with
/// `workspace:admin`), and a token needs the `audit:read` scope (or `all`).
pub(super) fn require_reader(principal: &Principal) -> Result<(), ApiError> {
    if principal.permissions.reach("workspace", Action::Admin).is_some() && principal.may("audit", false) {
        Ok(())
    } else {
        Err(ApiError::Forbidden("only owners and admins may read the audit trail".into()))
    }
}

/// Filters as they arrive in the query string; parsed into [`AuditFilter`] before use.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// The kind of record: `person`, `company`, `member`, `user`, `token` …
    pub entity: Option<String>,
    pub entity_id: Option<i64>,
    /// The id of the user who acted, through the UI or one of their tokens.
    pub actor: Option<i64>,
    /// `create`, `update`, `delete`, `login_failed` …
    pub action: Option<String>,
    /// Rows at or after this instant (RFC 3339).
    pub from: Option<String>,
    /// Rows before this instant (RFC 3339).
    pub to: Option<String>,
    /// The `next` of the previous page.
    pub cursor: Option<String>,
    /// Rows per page, 1 to 200 (default 50).
    pub limit: Option<i64>,
}

impl AuditQuery {
    /// The filter and cursor, or a 422 naming every bad parameter.
    pub(super) fn parse(&self) -> Result<(AuditFilter, Option<Cursor>), FieldErrors> {
        let mut errors = FieldErrors::new();
        let mut instant = |name: &str, raw: &Option<String>| {
            let raw = raw.as_deref().filter(|r| !r.is_empty())?;
            let parsed = chrono::DateTime::parse_from_rfc3339(raw).map(|t| t.to_utc());
            parsed.map_err(|_| errors.insert(name.into(), vec!["must be an RFC 3339 instant".into()])).ok()
        };
        let (from, to) = (instant("from", &self.from), instant("to", &self.to));
        let action = self.action.as_deref().filter(|a| !a.is_empty()).and_then(|raw| {
            let action = AuditAction::parse(raw);
            if action.is_none() {
                errors.insert("action".into(), vec!["is not a known action".into()]);
            }
            action
        });
        let cursor = self.cursor.as_deref().filter(|c| !c.is_empty()).and_then(|raw| {
            let cursor = Cursor::parse(raw);
            if cursor.is_none() {
                errors.insert("cursor".into(), vec!["is not a cursor from a previous page".into()]);
            }
            cursor
        });
        if !errors.is_empty() {
            return Err(errors);
        }
        let entity = self.entity.clone().filter(|e| !e.is_empty());
        Ok((AuditFilter { entity, entity_id: self.entity_id, actor_user_id: self.actor, action, from, to }, cursor))
    }
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct AuditPage {
    /// Newest first.
    pub items: Vec<AuditRow>,
    /// Pass as `cursor` for the next (older) page; absent on the last page.
    pub next: Option<String>,
}

impl From<Page<AuditRow>> for AuditPage {
    fn from(page: Page<AuditRow>) -> Self {
        Self { items: page.items, next: page.next }
    }
}

async fn page(state: &AppState, principal: &Principal, log: Log, query: &AuditQuery) -> Result<AuditPage, ApiError> {
    require_reader(principal)?;
    let (filter, cursor) = query.parse().map_err(ApiError::Validation)?;
    Ok(service::list(&state.db, principal.workspace_id, log, &filter, cursor, query.limit).await?.into())
}

/// Changes to the workspace's records, newest first.
#[utoipa::path(
    get,
    path = "/audit",
    tag = "audit",
    params(AuditQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, body = AuditPage),
        (status = 403, body = crate::http::ErrorBody),
        (status = 422, body = crate::http::ErrorBody)
    )
)]
async fn audit(
    State(state): State<AppState>,
    principal: Principal,
    Query(query): Query<AuditQuery>,
) -> Result<Json<AuditPage>, ApiError> {
    Ok(Json(page(&state, &principal, Log::Audit, &query).await?))
}

/// Sign-ins and failed sign-ins, sign-outs, tokens, role and permission changes, newest first.
#[utoipa::path(
    get,
    path = "/security-log",
    tag = "audit",
    params(AuditQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, body = AuditPage),
        (status = 403, body = crate::http::ErrorBody),
        (status = 422, body = crate::http::ErrorBody)
    )
)]
async fn security_log(
    State(state): State<AppState>,
    principal: Principal,
    Query(query): Query<AuditQuery>,
) -> Result<Json<AuditPage>, ApiError> {
    Ok(Json(page(&state, &principal, Log::Security, &query).await?))
}
