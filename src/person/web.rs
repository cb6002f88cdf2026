//! People's pages: the list (filter by lifecycle stage and tag, a page at a time), a person's
//! detail page and the create form with inline errors. Both read through the service, as the API does; the HTML is the
//! templates' work.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use rapport_core::PersonId;
use serde::Deserialize;

use super::model::{LifecycleStage, Person, PersonInput, fields, governing_field};
use super::service::{self, ListQuery, PersonError};
use crate::access::FieldAccess;
use crate::app::AppState;
use crate::http::auth::{CsrfProtected, SessionForm};
use crate::http::{ApiError, FieldErrors, Pages};
use crate::identity::{Credential, Principal};
use crate::profile::primary;
use crate::web::{Layout, render};

pub fn router() -> Pages {
    Pages::new()
        .route("/people", get(list))
        .route("/people/new", get(new_form).post(submit))
        .route("/people/{id}", get(detail))
}

/// The create form's fields: vocabulary key, label, input type, autocomplete hint.
const FORM_FIELDS: [(&str, &str, &str, &str); 5] = [
    ("first_name", "First name", "text", "given-name"),
    ("last_name", "Last name", "text", "family-name"),
    ("email", "Email", "email", "email"),
    ("phone", "Phone", "tel", "tel"),
    ("lifecycle_stage", "Lifecycle stage (lead, customer, …)", "text", "off"),
];

#[derive(Deserialize, Default)]
struct PersonForm {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    first_name: String,
    #[serde(default)]
    last_name: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    phone: String,
    #[serde(default)]
    lifecycle_stage: String,
}

impl CsrfProtected for PersonForm {
    fn csrf_token(&self) -> &str {
        &self.csrf_token
    }
}

impl PersonForm {
    fn value(&self, key: &str) -> &str {
        match key {
            "first_name" => &self.first_name,
            "last_name" => &self.last_name,
            "email" => &self.email,
            "phone" => &self.phone,
            _ => &self.lifecycle_stage,
        }
    }

    fn input(&self) -> PersonInput {
        let some = |s: &str| (!s.trim().is_empty()).then(|| s.to_owned());
        PersonInput {
            first_name: some(&self.first_name),
            last_name: some(&self.last_name),
            email: some(&self.email),
            phone: some(&self.phone),
            lifecycle_stage: some(&self.lifecycle_stage),
            ..PersonInput::default()
        }
    }
}

struct FormInput {
    key: &'static str,
    label: &'static str,
    kind: &'static str,
    autocomplete: &'static str,
    value: String,
    errors: Vec<String>,
    autofocus: bool,
}

#[derive(Template)]
#[template(path = "person_form.html")]
struct FormPage {
    layout: Layout,
    csrf_token: String,
    inputs: Vec<FormInput>,
    errors: FieldErrors,
}

/// The form page; focus goes to the first field with an error (else the first field) so the
/// keyboard opens where the fix is.
fn form_page(csrf_token: String, form: &PersonForm, errors: FieldErrors) -> FormPage {
    let first_bad = FORM_FIELDS.iter().position(|(key, ..)| errors.contains_key(*key)).unwrap_or(0);
    let inputs = FORM_FIELDS
        .iter()
        .enumerate()
        .map(|(i, (key, label, kind, autocomplete))| FormInput {
            key,
            label,
            kind,
            autocomplete,
            value: form.value(key).to_owned(),
            errors: errors.get(*key).cloned().unwrap_or_default(),
            autofocus: i == first_bad,
        })
        .collect();
    FormPage { layout: Layout::new("New person"), csrf_token, inputs, errors }
}

fn csrf_of(principal: &Principal) -> String {
    match &principal.credential {
        Credential::Session { csrf_token } => csrf_token.expose().clone(),
        Credential::Token { .. } => String::new(),
    }
}

async fn new_form(principal: Principal) -> Result<Response, ApiError> {
    allow(&principal, true)?;
    Ok(render(StatusCode::OK, &form_page(csrf_of(&principal), &PersonForm::default(), FieldErrors::new())))
}

async fn submit(
    State(state): State<AppState>,
    SessionForm(principal, form): SessionForm<PersonForm>,
) -> Result<Response, ApiError> {
    allow(&principal, true)?;
    let created = service::create(&state.db, principal.workspace_id, &principal.actor(), &form.input(), None, |_| {
        serde_json::Value::Null
    })
    .await;
    match created {
        Ok(service::Created::New(person)) => Ok(Redirect::to(&format!("/people/{}", person.id)).into_response()),
        Ok(service::Created::Replayed(_)) => Ok(Redirect::to("/people").into_response()),
        Err(PersonError::Invalid(errors)) => {
            Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &form_page(csrf_of(&principal), &form, errors)))
        }
        Err(other) => Err(other.into()),
    }
}

#[derive(Deserialize)]
struct ListParams {
    #[serde(default)]
    lifecycle_stage: String,
    #[serde(default)]
    tag: String,
    cursor: Option<PersonId>,
}

struct Row {
    id: PersonId,
    name: String,
    email: Option<String>,
    phone: Option<String>,
    stage: Option<String>,
}

#[derive(Template)]
#[template(path = "people_list.html")]
struct ListPage {
    layout: Layout,
    rows: Vec<Row>,
    count: String,
    next: Option<PersonId>,
    /// Each stage with whether the filter selects it.
    stages: Vec<(&'static str, bool)>,
    stage_filter: String,
    tag_filter: String,
}

#[derive(Template)]
#[template(path = "person.html")]
struct DetailPage {
    layout: Layout,
    name: String,
    trashed: bool,
    fields: Vec<(&'static str, String)>,
}

fn allow(principal: &Principal, write: bool) -> Result<(), ApiError> {
    if principal.may("people", write) { Ok(()) } else { Err(ApiError::Forbidden("not allowed here".into())) }
}

/// Whether the caller's role may see `key` on a page.
fn shows(access: &FieldAccess, key: &str) -> bool {
    access.visible(governing_field(key))
}

/// What a person is called on a page: the name, else the primary email or phone, as far as
/// the caller's role may see them.
fn display_name(person: &Person, access: &FieldAccess) -> String {
    let f = &person.fields;
    let name = [("first_name", &f.first_name), ("last_name", &f.last_name)]
        .into_iter()
        .filter(|(key, _)| shows(access, key))
        .filter_map(|(_, value)| value.as_deref())
        .collect::<Vec<_>>()
        .join(" ");
    let emails = f.emails.iter().filter(|_| shows(access, "email"));
    let phones = f.phones.iter().filter(|_| shows(access, "phone"));
    let contact = emails.chain(phones).find(|l| l.primary).map(|l| l.value.clone());
    if name.is_empty() { contact.unwrap_or_else(|| format!("Person {}", person.id)) } else { name }
}

async fn list(
    State(state): State<AppState>,
    principal: Principal,
    Query(params): Query<ListParams>,
) -> Result<Response, ApiError> {
    allow(&principal, false)?;
    let access = crate::access::field_access(&state.db, &principal, "person").await?;
    let blank = |s: &str| (!s.trim().is_empty()).then(|| s.trim().to_owned());
    let query = ListQuery {
        trash: false,
        lifecycle_stage: blank(&params.lifecycle_stage),
        owner: None,
        tag: blank(&params.tag),
        after: params.cursor,
        limit: 50,
    };
    let page = service::list(&state.db, principal.workspace_id, &query).await?;
    let count =
        if page.count > service::COUNT_CAP { format!("{}+", service::COUNT_CAP) } else { page.count.to_string() };
    let rows = page
        .people
        .iter()
        .map(|p| Row {
            id: p.id,
            name: display_name(p, &access),
            email: primary(&p.fields.emails).filter(|_| shows(&access, "email")),
            phone: primary(&p.fields.phones).filter(|_| shows(&access, "phone")),
            stage: p.fields.lifecycle_stage.clone().filter(|_| shows(&access, "lifecycle_stage")),
        })
        .collect();
    let html = ListPage {
        layout: Layout::new("People"),
        rows,
        count,
        next: page.next,
        stages: LifecycleStage::ALL.iter().map(|s| (s.as_str(), s.as_str() == params.lifecycle_stage)).collect(),
        stage_filter: params.lifecycle_stage,
        tag_filter: params.tag,
    };
    Ok(render(StatusCode::OK, &html))
}

async fn detail(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<PersonId>,
) -> Result<Response, ApiError> {
    allow(&principal, false)?;
    let access = crate::access::field_access(&state.db, &principal, "person").await?;
    let person = service::get(&state.db, principal.workspace_id, id).await?;
    let values = serde_json::to_value(&person.fields).unwrap_or_default();
    let shown = fields()
        .iter()
        .filter(|def| shows(&access, def.key))
        .filter_map(|def| {
            let value = match def.key {
                "email" => primary(&person.fields.emails).map(serde_json::Value::from),
                "phone" => primary(&person.fields.phones).map(serde_json::Value::from),
                key => key.split('.').try_fold(&values, |v, part| v.get(part)).cloned(),
            }?;
            let text = match value {
                serde_json::Value::String(s) => s,
                serde_json::Value::Array(items) if !items.is_empty() => items
                    .iter()
                    .map(|i| i.get("value").unwrap_or(i).as_str().map_or_else(|| i.to_string(), str::to_owned))
                    .collect::<Vec<_>>()
                    .join(", "),
                serde_json::Value::Object(map) if !map.is_empty() => map
                    .iter()
                    .map(|(k, v)| format!("{k}: {}", v.as_str().unwrap_or_default()))
                    .collect::<Vec<_>>()
                    .join(", "),
                serde_json::Value::Number(n) => n.to_string(),
                _ => return None,
            };
            Some((def.label, text))
        })
        .collect();
    let name = display_name(&person, &access);
    let page =
        DetailPage { layout: Layout::new(name.clone()), name, trashed: person.deleted_at.is_some(), fields: shown };
    Ok(render(StatusCode::OK, &page))
}
