//! Export pages: `/exports/new` (reached from a list's Export button with the list's filter,
//! where the format is chosen), the form it posts to `/exports`, and `/exports`, the caller's
//! exports with their progress and download links, refreshing itself while one is running.
//! Permission and reach are the service's to decide, as for the API.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use serde::Deserialize;
use serde_json::{Map, Value};

use super::api::{ExportView, link_key, view};
use super::model::{ExportRequest, Format, NewExport, Object};
use super::service;
use crate::app::AppState;
use crate::http::auth::SessionForm;
use crate::http::{ApiError, FieldErrors, Pages, RequestId};
use crate::identity::{Action, Principal};
use crate::web::{Layout, csrf_token, render};

pub fn router() -> Pages {
    Pages::new().route("/exports", get(exports).post(submit)).route("/exports/new", get(new_form))
}

/// The filter fields a list page can pass on, by object.
const FILTERS: [(&str, Object); 10] = [
    ("lifecycle_stage", Object::People),
    ("tag", Object::People),
    ("owner", Object::People),
    ("filter", Object::People),
    ("sort", Object::People),
    ("domain", Object::Companies),
    ("tag", Object::Companies),
    ("owner", Object::Companies),
    ("filter", Object::Companies),
    ("sort", Object::Companies),
];

/// The Export button's target on a list page, with the list's current `filters`; `None` for
/// a caller who may not export the list, so the page shows no button.
pub fn export_href(principal: &Principal, object: Object, filters: &[(&str, &str)]) -> Option<String> {
    let module = object.as_str();
    if principal.can(module, Action::Export).is_none() || principal.can(module, Action::Read).is_none() {
        return None;
    }
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    query.append_pair("object", module);
    for (name, value) in filters.iter().filter(|(_, value)| !value.trim().is_empty()) {
        query.append_pair(name, value);
    }
    Some(format!("/exports/new?{}", query.finish()))
}

#[derive(Deserialize, Default)]
struct ExportForm {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    object: String,
    #[serde(default)]
    format: String,
    #[serde(default)]
    lifecycle_stage: String,
    #[serde(default)]
    tag: String,
    #[serde(default)]
    owner: String,
    #[serde(default)]
    domain: String,
    /// The list's filter tree, as JSON.
    #[serde(default)]
    filter: String,
    #[serde(default)]
    sort: String,
}

crate::http::auth::csrf_protected!(ExportForm);

impl ExportForm {
    fn value(&self, name: &str) -> &str {
        match name {
            "lifecycle_stage" => &self.lifecycle_stage,
            "tag" => &self.tag,
            "owner" => &self.owner,
            "filter" => &self.filter,
            "sort" => &self.sort,
            _ => &self.domain,
        }
    }

    /// The filled-in filter fields of the form's object.
    fn filters(&self) -> Vec<(&'static str, String)> {
        let object = Object::parse(&self.object);
        FILTERS
            .iter()
            .filter(|(name, of)| Some(*of) == object && !self.value(name).trim().is_empty())
            .map(|(name, _)| (*name, self.value(name).trim().to_owned()))
            .collect()
    }

    fn request(&self) -> Result<ExportRequest, FieldErrors> {
        let mut filter = Map::new();
        for (name, value) in self.filters() {
            let value = match name {
                "owner" => {
                    Value::from(value.parse::<i64>().map_err(|_| field_error("owner", "must be a member's id"))?)
                }
                "filter" => serde_json::from_str(&value).map_err(|_| field_error("filter", "is not a filter tree"))?,
                _ => Value::from(value),
            };
            filter.insert(name.to_owned(), value);
        }
        Ok(ExportRequest { object: self.object.clone(), format: self.format.clone(), filter: Value::Object(filter) })
    }
}

fn field_error(field: &str, message: &str) -> FieldErrors {
    FieldErrors::from([(field.to_owned(), vec![message.to_owned()])])
}

#[derive(Template)]
#[template(path = "export/new.html")]
struct NewPage {
    layout: Layout,
    csrf_token: String,
    object: &'static str,
    title: &'static str,
    /// The filter carried over from the list, shown and posted back.
    filters: Vec<(&'static str, String)>,
    /// Value, label, whether selected.
    formats: Vec<(&'static str, &'static str, bool)>,
    errors: Vec<String>,
}

fn new_page(principal: &Principal, form: &ExportForm, errors: &FieldErrors) -> Result<NewPage, ApiError> {
    let object = Object::parse(&form.object).ok_or(ApiError::NotFound)?;
    let chosen = Format::parse(&form.format).unwrap_or(Format::Csv);
    let formats = Format::ALL
        .into_iter()
        .filter(|format| object == Object::People || *format != Format::Vcard)
        .map(|format| (format.as_str(), format.label(), format == chosen))
        .collect();
    Ok(NewPage {
        layout: Layout::for_caller(format!("Export {}", object.as_str()), principal),
        csrf_token: csrf_token(principal),
        object: object.as_str(),
        title: object.title(),
        filters: form.filters(),
        formats,
        errors: errors
            .iter()
            .flat_map(|(field, messages)| messages.iter().map(move |m| format!("{field}: {m}")))
            .collect(),
    })
}

async fn new_form(principal: Principal, Query(form): Query<ExportForm>) -> Result<Response, ApiError> {
    Ok(render(StatusCode::OK, &new_page(&principal, &form, &FieldErrors::new())?))
}

async fn submit(
    State(state): State<AppState>,
    request_id: RequestId,
    SessionForm(principal, form): SessionForm<ExportForm>,
) -> Result<Response, ApiError> {
    let parsed = form.request().and_then(|request| NewExport::parse(&request));
    let new = match parsed {
        Ok(new) => new,
        Err(errors) if Object::parse(&form.object).is_some() => {
            return Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &new_page(&principal, &form, &errors)?));
        }
        Err(errors) => return Err(ApiError::Validation(errors)),
    };
    service::request(&state.db, &principal, new, request_id.as_deref()).await?;
    state.waker.wake();
    Ok(Redirect::to("/exports").into_response())
}

#[derive(Template)]
#[template(path = "export/list.html")]
struct ExportsPage {
    layout: Layout,
    exports: Vec<ExportView>,
    /// Some export is still being written: the page reloads itself to show progress.
    refresh: bool,
}

async fn exports(State(state): State<AppState>, principal: Principal) -> Result<Response, ApiError> {
    let key = link_key(&state)?;
    let mine = service::mine(&state.db, &principal).await?;
    let refresh = mine.iter().any(|export| !export.status.is_finished());
    let exports = mine.iter().map(|export| view(&key, &principal, export)).collect();
    let page = ExportsPage { layout: Layout::for_caller("Exports", &principal), exports, refresh };
    Ok(render(StatusCode::OK, &page))
}
