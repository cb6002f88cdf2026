//! People's pages: the list (filter by lifecycle stage and tag, a page at a time), a person's
//! detail page with its history tab, the create and edit forms with inline errors, and the
//! delete and restore buttons. Everything reads and writes through the service, as the API
//! does, so the caller's reach and field rules decide alike: a button or field the caller may
//! not use is not shown, and a forged post is refused all the same. The HTML is the
//! templates' work.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use rapport_core::{FieldChange, PersonId};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::api::{OBJECT, parse_cursor};
use super::model::{LifecycleStage, Person, PersonInput, fields, governing_field};
use super::service::{self, ListQuery, MODULE, PersonError};
use crate::access::FieldAccess;
use crate::app::AppState;
use crate::audit::AuditRow;
use crate::http::auth::{CsrfProtected, SessionForm};
use crate::http::{ApiError, FieldErrors, Pages};
use crate::identity::{Action, Principal};
use crate::profile::{LabelledInput, primary};
use crate::web::{Layout, csrf_token, render};

pub fn router() -> Pages {
    Pages::new()
        .route("/people", get(list))
        .route("/people/new", get(new_form).post(submit))
        .route("/people/{id}", get(detail))
        .route("/people/{id}/history", get(history))
        .route("/people/{id}/edit", get(edit_form).post(edit))
        .route("/people/{id}/delete", post(delete))
        .route("/people/{id}/restore", post(restore))
}

/// The form's fields: vocabulary key, label, input type, autocomplete hint.
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
    /// The version the edit form was opened at: a change made meanwhile is not overwritten.
    version: Option<i64>,
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

    /// The form as it opens on an existing person.
    fn of(person: &Person) -> Self {
        let f = &person.fields;
        let text = |value: &Option<String>| value.clone().unwrap_or_default();
        Self {
            csrf_token: String::new(),
            first_name: text(&f.first_name),
            last_name: text(&f.last_name),
            email: primary(&f.emails).unwrap_or_default(),
            phone: primary(&f.phones).unwrap_or_default(),
            lifecycle_stage: text(&f.lifecycle_stage),
            version: Some(person.version),
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

    /// The keys a create writes: those filled in.
    fn filled(&self) -> Vec<&'static str> {
        FORM_FIELDS.iter().map(|(key, ..)| *key).filter(|key| !self.value(key).trim().is_empty()).collect()
    }

    /// The merge patch an edit sends: only the fields that differ from `person`. Clearing the
    /// email or phone drops the primary one and keeps the others.
    fn patch(&self, person: &Person) -> (Value, Vec<&'static str>) {
        let before = Self::of(person);
        let mut patch = Map::new();
        let mut changed = Vec::new();
        for (key, ..) in FORM_FIELDS {
            let value = self.value(key).trim();
            if value == before.value(key).trim() {
                continue;
            }
            changed.push(key);
            let others = |list: &[LabelledInput]| json!(list.iter().filter(|l| !l.primary).collect::<Vec<_>>());
            let (name, value) = match (key, value.is_empty()) {
                ("email", true) => ("emails", others(&person.fields.emails)),
                ("phone", true) => ("phones", others(&person.fields.phones)),
                (_, true) => (key, Value::Null),
                (_, false) => (key, Value::from(value)),
            };
            patch.insert(name.to_owned(), value);
        }
        (Value::Object(patch), changed)
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
    read_only: bool,
}

#[derive(Template)]
#[template(path = "person_form.html")]
struct FormPage {
    layout: Layout,
    heading: String,
    action: String,
    back: String,
    submit: &'static str,
    csrf_token: String,
    version: Option<i64>,
    inputs: Vec<FormInput>,
    errors: FieldErrors,
}

/// Where a form posts and what it is called: a new person, or an edit of one.
struct FormTarget {
    heading: String,
    action: String,
    back: String,
    submit: &'static str,
}

impl FormTarget {
    fn create() -> Self {
        Self { heading: "New person".into(), action: "/people/new".into(), back: "/people".into(), submit: "Create" }
    }

    fn edit(person: &Person, access: &FieldAccess) -> Self {
        Self {
            heading: format!("Edit {}", display_name(person, access)),
            action: format!("/people/{}/edit", person.id),
            back: format!("/people/{}", person.id),
            submit: "Save",
        }
    }
}

/// The form page: the fields the caller's role may see (read-only ones locked), focus on the
/// first field with an error (else the first field) so the keyboard opens where the fix is.
fn form_page(
    principal: &Principal,
    target: FormTarget,
    access: &FieldAccess,
    form: &PersonForm,
    errors: FieldErrors,
) -> FormPage {
    let shown: Vec<_> = FORM_FIELDS.iter().filter(|(key, ..)| shows(access, key)).collect();
    let first_bad = shown.iter().position(|(key, ..)| errors.contains_key(*key)).unwrap_or(0);
    let inputs = shown
        .into_iter()
        .enumerate()
        .map(|(i, (key, label, kind, autocomplete))| FormInput {
            key,
            label,
            kind,
            autocomplete,
            value: form.value(key).to_owned(),
            errors: errors.get(*key).cloned().unwrap_or_default(),
            autofocus: i == first_bad,
            read_only: access.check_write([*key]).is_err(),
        })
        .collect();
    FormPage {
        layout: Layout::for_caller(target.heading.clone(), principal),
        heading: target.heading,
        action: target.action,
        back: target.back,
        submit: target.submit,
        csrf_token: csrf_token(principal),
        version: form.version,
        inputs,
        errors,
    }
}

async fn field_access(state: &AppState, principal: &Principal) -> Result<FieldAccess, ApiError> {
    Ok(crate::access::field_access(&state.db, principal, OBJECT).await?)
}

async fn new_form(State(state): State<AppState>, principal: Principal) -> Result<Response, ApiError> {
    if principal.can(MODULE, Action::Create).is_none() {
        return Err(PersonError::Forbidden("your role may not create people").into());
    }
    let access = field_access(&state, &principal).await?;
    let page = form_page(&principal, FormTarget::create(), &access, &PersonForm::default(), FieldErrors::new());
    Ok(render(StatusCode::OK, &page))
}

async fn submit(
    State(state): State<AppState>,
    SessionForm(principal, form): SessionForm<PersonForm>,
) -> Result<Response, ApiError> {
    let access = field_access(&state, &principal).await?;
    access.check_write(form.filled())?;
    let created = service::create(&state.db, &principal, &form.input(), None, |_| Value::Null).await;
    match created {
        Ok(service::Created::New(person)) => Ok(Redirect::to(&format!("/people/{}", person.id)).into_response()),
        Ok(service::Created::Replayed(_)) => Ok(Redirect::to("/people").into_response()),
        Err(PersonError::Invalid(errors)) => Ok(render(
            StatusCode::UNPROCESSABLE_ENTITY,
            &form_page(&principal, FormTarget::create(), &access, &form, errors),
        )),
        Err(other) => Err(other.into()),
    }
}

/// The edit form, offered only to those whose update reach covers the person.
async fn edit_form(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<PersonId>,
) -> Result<Response, ApiError> {
    let person = service::get(&state.db, &principal, id).await?;
    if !service::permitted(&state.db, &principal, &person).await?.update {
        return Err(PersonError::Forbidden("you may change only people within your reach").into());
    }
    let access = field_access(&state, &principal).await?;
    let target = FormTarget::edit(&person, &access);
    Ok(render(StatusCode::OK, &form_page(&principal, target, &access, &PersonForm::of(&person), FieldErrors::new())))
}

async fn edit(
    State(state): State<AppState>,
    Path(id): Path<PersonId>,
    SessionForm(principal, form): SessionForm<PersonForm>,
) -> Result<Response, ApiError> {
    let person = service::get(&state.db, &principal, id).await?;
    let access = field_access(&state, &principal).await?;
    let (patch, changed) = form.patch(&person);
    access.check_write(changed)?;
    match service::update(&state.db, &principal, id, patch, form.version).await {
        Ok(_) => Ok(Redirect::to(&format!("/people/{id}")).into_response()),
        Err(PersonError::Invalid(errors)) => {
            let target = FormTarget::edit(&person, &access);
            Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &form_page(&principal, target, &access, &form, errors)))
        }
        Err(other) => Err(other.into()),
    }
}

/// The delete and restore buttons' form: the CSRF token alone.
#[derive(Deserialize)]
struct ButtonForm {
    #[serde(default)]
    csrf_token: String,
}

impl CsrfProtected for ButtonForm {
    fn csrf_token(&self) -> &str {
        &self.csrf_token
    }
}

async fn delete(
    State(state): State<AppState>,
    Path(id): Path<PersonId>,
    SessionForm(principal, _): SessionForm<ButtonForm>,
) -> Result<Response, ApiError> {
    service::delete(&state.db, &principal, id).await?;
    Ok(Redirect::to(&format!("/people/{id}")).into_response())
}

async fn restore(
    State(state): State<AppState>,
    Path(id): Path<PersonId>,
    SessionForm(principal, _): SessionForm<ButtonForm>,
) -> Result<Response, ApiError> {
    service::restore(&state.db, &principal, id).await?;
    Ok(Redirect::to(&format!("/people/{id}")).into_response())
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
    may_create: bool,
    rows: Vec<Row>,
    count: String,
    next: Option<PersonId>,
    /// Each stage with whether the filter selects it.
    stages: Vec<(&'static str, bool)>,
    stage_filter: String,
    tag_filter: String,
    /// Where the Export button leads, for callers who may export.
    export_href: Option<String>,
}

/// One row of the history tab: one audit row, its changes as "field: old → new".
struct HistoryRow {
    at: String,
    at_iso: String,
    actor: String,
    action: String,
    changes: Vec<String>,
}

impl HistoryRow {
    fn of(row: &AuditRow) -> Self {
        Self {
            at: row.at.format("%Y-%m-%d %H:%M").to_string(),
            at_iso: row.at.to_rfc3339(),
            actor: row.actor.clone(),
            action: row.action.clone(),
            changes: row.changes.iter().map(change_text).collect(),
        }
    }
}

/// A change as a reader says it: the field's label, then the old and the new value.
fn change_text(change: &FieldChange) -> String {
    let label = fields().iter().find(|def| def.key == change.field).map_or(change.field.as_str(), |def| def.label);
    format!("{label}: {} → {}", value_text(&change.old), value_text(&change.new))
}

fn value_text(value: &Value) -> String {
    match value {
        Value::Null => "—".into(),
        Value::String(s) => s.clone(),
        Value::Array(items) => items
            .iter()
            .map(|i| i.get("value").unwrap_or(i).as_str().map_or_else(|| i.to_string(), str::to_owned))
            .collect::<Vec<_>>()
            .join(", "),
        other => other.to_string(),
    }
}

/// The tab a person's page shows.
enum Tab {
    Details(Vec<(&'static str, String)>),
    History { rows: Vec<HistoryRow>, next: Option<String> },
}

#[derive(Template)]
#[template(path = "person.html")]
struct DetailPage {
    layout: Layout,
    id: PersonId,
    name: String,
    trashed: bool,
    csrf_token: String,
    permitted: service::Permitted,
    tab: Tab,
    /// Notes and tasks, shown beside the details.
    activities: Option<crate::activity::web::Activities>,
}

/// A person's page around one tab: the name, the trash notice and the buttons the caller's
/// reach allows.
async fn person_page(
    state: &AppState,
    principal: &Principal,
    person: &Person,
    access: &FieldAccess,
    tab: Tab,
) -> Result<Response, ApiError> {
    let name = display_name(person, access);
    let activities = match tab {
        Tab::Details(_) => {
            let target = crate::activity::Target::Person(person.id.get());
            Some(crate::activity::web::activities(state, principal, target).await?)
        }
        Tab::History { .. } => None,
    };
    let page = DetailPage {
        layout: Layout::for_caller(name.clone(), principal),
        id: person.id,
        name,
        trashed: person.deleted_at.is_some(),
        csrf_token: csrf_token(principal),
        permitted: service::permitted(&state.db, principal, person).await?,
        tab,
        activities,
    };
    Ok(render(StatusCode::OK, &page))
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
    let access = field_access(&state, &principal).await?;
    let blank = |s: &str| (!s.trim().is_empty()).then(|| s.trim().to_owned());
    let query = ListQuery {
        trash: false,
        lifecycle_stage: blank(&params.lifecycle_stage),
        owner: None,
        tag: blank(&params.tag),
        after: params.cursor,
        limit: 50,
    };
    let page = service::list(&state.db, &principal, &query).await?;
    let count = crate::profile::count_text(page.count);
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
        layout: Layout::for_caller("People", &principal),
        may_create: principal.can(MODULE, Action::Create).is_some(),
        export_href: crate::export::web::export_href(
            &principal,
            crate::export::Object::People,
            &[("lifecycle_stage", &params.lifecycle_stage), ("tag", &params.tag)],
        ),
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
    let access = field_access(&state, &principal).await?;
    let person = service::get(&state.db, &principal, id).await?;
    let mut values = serde_json::to_value(&person.fields).unwrap_or_default();
    values["email"] = primary(&person.fields.emails).into();
    values["phone"] = primary(&person.fields.phones).into();
    let shown = crate::profile::page::shown_fields(fields(), &values, &access);
    person_page(&state, &principal, &person, &access, Tab::Details(shown)).await
}

#[derive(Deserialize)]
struct HistoryParams {
    cursor: Option<String>,
}

/// The history tab: the person's audit rows through the same service function as
/// `GET /api/v1/people/{id}/history`, so hidden fields stay hidden here too.
async fn history(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<PersonId>,
    Query(params): Query<HistoryParams>,
) -> Result<Response, ApiError> {
    let cursor = parse_cursor(params.cursor.as_deref())?;
    let access = field_access(&state, &principal).await?;
    let person = service::get(&state.db, &principal, id).await?;
    let page = service::history(&state.db, &principal, &access, id, cursor).await?;
    let rows = page.items.iter().map(HistoryRow::of).collect();
    let next = page.next.map(|cursor| format!("/people/{id}/history?cursor={cursor}"));
    person_page(&state, &principal, &person, &access, Tab::History { rows, next }).await
}
