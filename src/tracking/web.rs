//! The tracking module's pages: the browser tracking script, `/rapport.js`, and the sources
//! pages under `/settings/sources`, where sources are created (their write key shown once, with
//! the snippets that use it), looked at and revoked, and where the trait rules are edited: one
//! line per rule, `trait = field` (or `trait = ignore`), for people and for companies.
//!
//! The script is written for Rapport and free of dependencies (`assets/rapport.js` documents its
//! use). Websites include it from their own pages, so its address never changes; it is cached
//! for an hour rather than for ever. The pages call the same service functions as the API and
//! ask the same permissions: `events` read to look, `workspace` write to create or revoke.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;

use super::api::{require, require_manager};
use super::rules::{SaveError, TraitRule, TraitRules};
use super::service::{self, Source, SourceDetail, TrackingError};
use crate::app::AppState;
use crate::http::auth::{ButtonForm, SessionForm, csrf_protected};
use crate::http::{ApiError, Pages};
use crate::identity::Principal;
use crate::web::{Layout, csrf_token, render};

const SCRIPT: &str = include_str!("../../assets/rapport.js");

pub fn router() -> Pages {
    Pages::new()
        .route("/rapport.js", get(script))
        .route("/settings/sources", get(list).post(create))
        .route("/settings/sources/{id}", get(show))
        .route("/settings/sources/{id}/revoke", post(revoke))
        .route("/settings/sources/trait-rules", post(save_rules))
        .route("/settings/sources/retention", post(save_retention))
}

async fn script() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
            // Other sites' pages load it: allow that explicitly.
            (header::HeaderName::from_static("cross-origin-resource-policy"), "cross-origin"),
        ],
        SCRIPT,
    )
}

/// What the snippets need: where Rapport answers, and the key (or, once the key is gone, its
/// prefix) the sender is configured with.
struct Snippet {
    host: String,
    key: String,
    /// The key itself, shown once, rather than its prefix.
    whole_key: bool,
}

#[derive(Template)]
#[template(path = "tracking/sources.html")]
struct SourcesPage {
    layout: Layout,
    csrf_token: String,
    sources: Vec<Source>,
    can_manage: bool,
    /// The name of the source just created, and its write key in the snippets.
    created: Option<(String, Snippet)>,
    name: String,
    error: Option<String>,
    revoked: bool,
    rules: RulesShown,
    /// The retention as stored or as typed, with why it was refused.
    keep_months: String,
    roll_up: bool,
    retention_error: Option<String>,
    retention_saved: bool,
}

/// The trait rules' form: one line per rule, as typed or as stored, with what is wrong.
#[derive(Default)]
struct RulesShown {
    person: String,
    company: String,
    errors: Vec<String>,
    saved: bool,
}

impl RulesShown {
    fn of(rules: &TraitRules) -> Self {
        let lines = |rules: &[TraitRule]| {
            rules
                .iter()
                .map(|r| format!("{} = {}", r.name, r.field.as_deref().unwrap_or(IGNORE)))
                .collect::<Vec<_>>()
                .join("\n")
        };
        Self { person: lines(&rules.person), company: lines(&rules.company), ..Self::default() }
    }
}

/// What a rule's field says to drop its trait.
const IGNORE: &str = "ignore";

/// The rules a textarea holds, with the line each came from; or the lines that are no rule.
fn parse_rules(text: &str, object: &str) -> Result<(Vec<TraitRule>, Vec<usize>), Vec<String>> {
    let (mut rules, mut lines, mut errors) = (Vec::new(), Vec::new(), Vec::new());
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        match line.split_once('=') {
            Some((name, field)) => {
                let field = field.trim();
                let field = (!field.eq_ignore_ascii_case(IGNORE)).then(|| field.to_owned());
                rules.push(TraitRule { name: name.trim().to_owned(), field });
                lines.push(n + 1);
            }
            None => errors.push(format!("{object}, line {}: write “trait = field” or “trait = ignore”", n + 1)),
        }
    }
    if errors.is_empty() { Ok((rules, lines)) } else { Err(errors) }
}

#[derive(Deserialize)]
struct RetentionForm {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    keep_months: String,
    /// A checkbox: present when ticked.
    roll_up: Option<String>,
}

#[derive(Deserialize)]
struct RulesForm {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    person: String,
    #[serde(default)]
    company: String,
}

#[derive(Template)]
#[template(path = "tracking/source.html")]
struct SourcePage {
    layout: Layout,
    csrf_token: String,
    detail: SourceDetail,
    snippet: Snippet,
    can_manage: bool,
}

#[derive(Deserialize, Default)]
struct SourceForm {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    name: String,
}

csrf_protected!(SourceForm, RulesForm, RetentionForm);

#[derive(Deserialize)]
struct ListQuery {
    revoked: Option<String>,
}

#[derive(Default)]
struct Shown {
    created: Option<(String, Snippet)>,
    name: String,
    error: Option<String>,
    revoked: bool,
    /// The rules as typed, when they were refused or just saved.
    rules: Option<RulesShown>,
    /// The retention as typed (months, roll up) and why it was refused, or that it was saved.
    retention: Option<(String, bool, Option<String>)>,
}

async fn sources_page(state: &AppState, principal: &Principal, shown: Shown) -> Result<SourcesPage, ApiError> {
    require(principal, false)?;
    let rules = match shown.rules {
        Some(rules) => rules,
        None => RulesShown::of(&super::rules::trait_rules(&state.db, principal.workspace_id).await?),
    };
    let (keep_months, roll_up, retention_error, retention_saved) = match shown.retention {
        Some((months, roll_up, error)) => (months, roll_up, error.clone(), error.is_none()),
        None => {
            let stored = super::retention::retention(&state.db, principal.workspace_id).await?;
            (stored.keep_months.map(|m| m.to_string()).unwrap_or_default(), stored.roll_up, None, false)
        }
    };
    Ok(SourcesPage {
        rules,
        keep_months,
        roll_up,
        retention_error,
        retention_saved,
        layout: Layout::for_caller("Tracking sources", principal),
        csrf_token: csrf_token(principal),
        sources: service::sources(&state.db, principal.workspace_id).await?,
        can_manage: require_manager(principal).is_ok(),
        created: shown.created,
        name: shown.name,
        error: shown.error,
        revoked: shown.revoked,
    })
}

async fn list(
    State(state): State<AppState>,
    principal: Principal,
    Query(query): Query<ListQuery>,
) -> Result<Response, ApiError> {
    let shown = Shown { revoked: query.revoked.is_some(), ..Shown::default() };
    Ok(render(StatusCode::OK, &sources_page(&state, &principal, shown).await?))
}

async fn create(
    State(state): State<AppState>,
    SessionForm(principal, form): SessionForm<SourceForm>,
) -> Result<Response, ApiError> {
    require_manager(&principal)?;
    let (status, shown) =
        match service::create_source(&state.db, (principal.workspace_id, &principal.actor()), &form.name).await {
            Ok(created) => {
                let snippet = Snippet {
                    host: state.config.public_url(),
                    key: created.write_key.expose().clone(),
                    whole_key: true,
                };
                let name = form.name.trim().to_owned();
                (StatusCode::CREATED, Shown { created: Some((name, snippet)), ..Shown::default() })
            }
            Err(err @ TrackingError::NameRequired) => {
                let shown = Shown { name: form.name, error: Some(err.to_string()), ..Shown::default() };
                (StatusCode::UNPROCESSABLE_ENTITY, shown)
            }
            Err(other) => return Err(other.into()),
        };
    Ok(render(status, &sources_page(&state, &principal, shown).await?))
}

async fn show(State(state): State<AppState>, principal: Principal, Path(id): Path<i64>) -> Result<Response, ApiError> {
    require(&principal, false)?;
    let detail = service::source(&state.db, principal.workspace_id, id).await?.ok_or(ApiError::NotFound)?;
    let snippet =
        Snippet { host: state.config.public_url(), key: format!("{}…", detail.source.key_prefix), whole_key: false };
    let page = SourcePage {
        layout: Layout::for_caller(detail.source.name.clone(), &principal),
        csrf_token: csrf_token(&principal),
        can_manage: require_manager(&principal).is_ok(),
        detail,
        snippet,
    };
    Ok(render(StatusCode::OK, &page))
}

async fn revoke(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    SessionForm(principal, _): SessionForm<ButtonForm>,
) -> Result<Response, ApiError> {
    require_manager(&principal)?;
    if !service::revoke_source(&state.db, (principal.workspace_id, &principal.actor()), id).await? {
        return Err(ApiError::NotFound);
    }
    Ok(Redirect::to("/settings/sources?revoked=1").into_response())
}

async fn save_rules(
    State(state): State<AppState>,
    SessionForm(principal, form): SessionForm<RulesForm>,
) -> Result<Response, ApiError> {
    require_manager(&principal)?;
    let typed = RulesShown { person: form.person.clone(), company: form.company.clone(), ..RulesShown::default() };
    let parsed = (parse_rules(&form.person, "People"), parse_rules(&form.company, "Companies"));
    let refused = |errors: Vec<String>| Shown { rules: Some(RulesShown { errors, ..typed }), ..Shown::default() };
    let shown = match parsed {
        (Ok((person, person_lines)), Ok((company, company_lines))) => {
            let rules = TraitRules { person, company };
            match super::rules::save_trait_rules(&state.db, (principal.workspace_id, &principal.actor()), &rules).await
            {
                Ok(saved) => {
                    Shown { rules: Some(RulesShown { saved: true, ..RulesShown::of(&saved) }), ..Shown::default() }
                }
                Err(SaveError::Invalid(fields)) => {
                    let lines = [("person", "People", &person_lines), ("company", "Companies", &company_lines)];
                    let errors = fields
                        .iter()
                        .flat_map(|(key, messages)| {
                            let (object, line) = lines
                                .iter()
                                .find_map(|(prefix, label, lines)| {
                                    let index: usize =
                                        key.strip_prefix(prefix)?.strip_prefix('[')?.split(']').next()?.parse().ok()?;
                                    Some((*label, lines.get(index).copied()))
                                })
                                .unwrap_or(("Rules", None));
                            let at = line.map_or_else(String::new, |n| format!(", line {n}"));
                            messages.iter().map(move |m| format!("{object}{at}: {m}")).collect::<Vec<_>>()
                        })
                        .collect();
                    return Ok(render(
                        StatusCode::UNPROCESSABLE_ENTITY,
                        &sources_page(&state, &principal, refused(errors)).await?,
                    ));
                }
                Err(SaveError::Db(err)) => return Err(err.into()),
            }
        }
        (person, company) => {
            let errors = [person.err(), company.err()].into_iter().flatten().flatten().collect();
            return Ok(render(
                StatusCode::UNPROCESSABLE_ENTITY,
                &sources_page(&state, &principal, refused(errors)).await?,
            ));
        }
    };
    Ok(render(StatusCode::OK, &sources_page(&state, &principal, shown).await?))
}

async fn save_retention(
    State(state): State<AppState>,
    SessionForm(principal, form): SessionForm<RetentionForm>,
) -> Result<Response, ApiError> {
    require_manager(&principal)?;
    let input = super::retention::RetentionInput {
        keep_months: serde_json::Value::from(form.keep_months.trim()),
        roll_up: form.roll_up.is_some(),
    };
    let actor = principal.actor();
    let (status, error) =
        match super::retention::save_retention(&state.db, (principal.workspace_id, &actor), &input).await {
            Ok(_) => (StatusCode::OK, None),
            Err(super::retention::RetentionError::Invalid(fields)) => {
                (StatusCode::UNPROCESSABLE_ENTITY, fields.into_values().flatten().next())
            }
            Err(super::retention::RetentionError::Db(err)) => return Err(err.into()),
        };
    let shown = Shown { retention: Some((form.keep_months, input.roll_up, error)), ..Shown::default() };
    Ok(render(status, &sources_page(&state, &principal, shown).await?))
}
