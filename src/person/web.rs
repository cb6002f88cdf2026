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
use std::collections::BTreeMap;

use serde_json::Value;

use super::api::{OBJECT, parse_cursor};
use super::model::{Person, PersonInput, fields};
use super::service::{self, MODULE, PersonError};
use crate::access::FieldAccess;
use crate::app::AppState;
use crate::audit::AuditRow;
use crate::field::{self, CustomField};
use crate::http::auth::{ButtonForm, SessionForm};
use crate::http::{ApiError, FieldErrors, Pages};
use crate::identity::{Action, Principal};
use crate::profile::page::{Editing, Fillable, FormField, FormPage, FormTarget, RecordForm, shows, value_text};
use crate::profile::primary;
use crate::view::web::{ListObject, ListParams, ListQuery, SaveViewForm, Shorthand, Shown, problem_text};
use crate::web::{Layout, csrf_token, render};

pub fn router() -> Pages {
    Pages::new()
        .route("/people", get(list))
        .route("/people/views", post(save_view))
        .route("/people/new", get(new_form).post(submit))
        .route("/people/{id}", get(detail))
        .route("/people/{id}/history", get(history))
        .route("/people/{id}/edit", get(edit_form).post(edit))
        .route("/people/{id}/delete", post(delete))
        .route("/people/{id}/restore", post(restore))
}

/// The form's built-in fields: vocabulary key, label, input type, autocomplete hint.
const FORM_FIELDS: [FormField; 11] = [
    ("first_name", "First name", "text", "given-name"),
    ("last_name", "Last name", "text", "family-name"),
    ("email", "Email", "email", "email"),
    ("phone", "Phone", "tel", "tel"),
    ("birthday", "Birthday", "date", "bday"),
    ("address.street", "Street", "text", "address-line1"),
    ("address.postal_code", "Postal code", "text", "postal-code"),
    ("address.city", "City", "text", "address-level2"),
    ("address.region", "Region", "text", "address-level1"),
    ("address.country", "Country (ISO code, e.g. FR)", "text", "country"),
    ("lifecycle_stage", "Lifecycle stage (lead, customer, …)", "text", "off"),
];

impl Fillable for PersonInput {
    fn custom_mut(&mut self) -> &mut BTreeMap<String, Value> {
        &mut self.custom
    }
}

/// A person as their edit form opens on them.
fn editing(person: &Person) -> Editing<'_> {
    Editing {
        fields: serde_json::to_value(&person.fields).unwrap_or_default(),
        custom: &person.fields.custom,
        version: person.version,
    }
}

fn form_page(
    principal: &Principal,
    target: FormTarget,
    (access, defs): (&FieldAccess, &[CustomField]),
    form: &RecordForm,
    errors: FieldErrors,
) -> FormPage {
    FormPage::new(principal, target, (&FORM_FIELDS, access, defs), form, errors)
}

fn edit_target(person: &Person, access: &FieldAccess) -> FormTarget {
    FormTarget::edit(&display_name(person, access), &format!("/people/{}", person.id))
}

async fn field_access(state: &AppState, principal: &Principal) -> Result<FieldAccess, ApiError> {
    Ok(crate::access::field_access(&state.db, principal, OBJECT).await?)
}

/// What a form needs to know beyond the person: the caller's field rules and the custom fields.
async fn form_rules(state: &AppState, principal: &Principal) -> Result<(FieldAccess, Vec<CustomField>), ApiError> {
    let defs = field::definitions(&state.db, principal.workspace_id, field::Object::Person).await?;
    Ok((field_access(state, principal).await?, defs))
}

fn create_target() -> FormTarget {
    FormTarget::create("New person", "/people")
}

async fn new_form(State(state): State<AppState>, principal: Principal) -> Result<Response, ApiError> {
    if principal.can(MODULE, Action::Create).is_none() {
        return Err(PersonError::Forbidden("your role may not create people").into());
    }
    let (access, defs) = form_rules(&state, &principal).await?;
    let page = form_page(&principal, create_target(), (&access, &defs), &RecordForm::default(), FieldErrors::new());
    Ok(render(StatusCode::OK, &page))
}

async fn submit(
    State(state): State<AppState>,
    SessionForm(principal, form): SessionForm<RecordForm>,
) -> Result<Response, ApiError> {
    let (access, defs) = form_rules(&state, &principal).await?;
    access.check_write(form.filled(&FORM_FIELDS).iter().map(String::as_str))?;
    let invalid = |errors| {
        let page = form_page(&principal, create_target(), (&access, &defs), &form, errors);
        Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &page))
    };
    let input: PersonInput = match form.input(&FORM_FIELDS) {
        Ok(input) => input,
        Err(errors) => return invalid(errors),
    };
    match service::create(&state.db, &principal, &input, None, |_| Value::Null).await {
        Ok(service::Created::New(person)) => Ok(Redirect::to(&format!("/people/{}", person.id)).into_response()),
        Ok(service::Created::Replayed(_)) => Ok(Redirect::to("/people").into_response()),
        Err(PersonError::Invalid(errors)) => invalid(errors),
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
    let (access, defs) = form_rules(&state, &principal).await?;
    let form = RecordForm::of(&editing(&person), &FORM_FIELDS, &defs);
    let page = form_page(&principal, edit_target(&person, &access), (&access, &defs), &form, FieldErrors::new());
    Ok(render(StatusCode::OK, &page))
}

/// Saves an edit made at the form's version; a person changed meanwhile is not overwritten,
/// and the form says so.
async fn edit(
    State(state): State<AppState>,
    Path(id): Path<PersonId>,
    SessionForm(principal, form): SessionForm<RecordForm>,
) -> Result<Response, ApiError> {
    let person = service::get(&state.db, &principal, id).await?;
    let (access, defs) = form_rules(&state, &principal).await?;
    let (patch, changed) = form.patch(&editing(&person), &FORM_FIELDS, &defs);
    access.check_write(changed.iter().map(String::as_str))?;
    let page = |errors| form_page(&principal, edit_target(&person, &access), (&access, &defs), &form, errors);
    match service::update(&state.db, &principal, id, patch, form.version()).await {
        Ok(_) => Ok(Redirect::to(&format!("/people/{id}")).into_response()),
        Err(PersonError::Invalid(errors)) => Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &page(errors))),
        Err(PersonError::Stale) => Ok(render(StatusCode::PRECONDITION_FAILED, &page(FieldErrors::new()).stale())),
        Err(other) => Err(other.into()),
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

/// The people list page's place and contents.
static LIST: ListObject = ListObject {
    path: "/people",
    noun: "people",
    table: &super::LIST_TABLE,
    vocabulary: fields,
    default_columns: &["email", "phone", "lifecycle_stage"],
    shorthands: &[
        Shorthand { param: "lifecycle_stage", field: "lifecycle_stage", op: "is" },
        Shorthand { param: "tag", field: "tags", op: "has_any" },
    ],
    export: crate::export::Object::People,
};

struct Row {
    id: PersonId,
    name: String,
    cells: Vec<String>,
}

#[derive(Template)]
#[template(path = "people_list.html")]
struct ListPage {
    layout: Layout,
    may_create: bool,
    rows: Vec<Row>,
    count: String,
    next: Option<String>,
    controls: crate::view::web::ListControls,
    columns: Vec<(String, String)>,
    /// Where the Export button leads, for callers who may export.
    export_href: Option<String>,
    /// The bulk action bar, for callers who may act on people.
    bulk: Option<crate::bulk::web::Bar>,
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

/// The tab a person's page shows.
enum Tab {
    Details(Vec<(String, String)>),
    History { rows: Vec<HistoryRow>, next: Option<String> },
}

#[derive(Template)]
#[template(path = "person.html")]
struct DetailPage {
    layout: Layout,
    id: PersonId,
    name: String,
    trashed: bool,
    merged_into: Option<PersonId>,
    /// Probable duplicates: id, name and score in percent, for a person the caller may change.
    duplicates: Vec<(i64, String, i64)>,
    csrf_token: String,
    permitted: service::Permitted,
    tab: Tab,
    /// Notes and tasks, shown beside the details.
    activities: Option<crate::activity::web::Activities>,
    attachments: Option<crate::attachment::web::Attachments>,
    /// Tracked behaviour and orders, for a caller whose role sees events or orders.
    behaviour: Option<crate::tracking::behaviour_web::Behaviour>,
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
    let target = crate::activity::Target::Person(person.id.get());
    let (activities, attachments, behaviour) = match tab {
        Tab::Details(_) => (
            Some(crate::activity::web::activities(state, principal, target).await?),
            Some(crate::attachment::web::attachments(state, principal, target).await?),
            crate::tracking::behaviour_web::behaviour(state, principal, person.id).await?,
        ),
        Tab::History { .. } => (None, None, None),
    };
    let permitted = service::permitted(&state.db, principal, person).await?;
    let duplicates = if permitted.update && person.deleted_at.is_none() && matches!(tab, Tab::Details(_)) {
        possible_duplicates(state, principal, person, access).await?
    } else {
        Vec::new()
    };
    let page = DetailPage {
        layout: Layout::for_caller(name.clone(), principal),
        id: person.id,
        name,
        trashed: person.deleted_at.is_some(),
        merged_into: person.merged_into,
        duplicates,
        csrf_token: csrf_token(principal),
        permitted,
        tab,
        activities,
        attachments,
        behaviour,
    };
    Ok(render(StatusCode::OK, &page))
}

/// The people the duplicate check finds for `person` that the caller may read, best first.
async fn possible_duplicates(
    state: &AppState,
    principal: &Principal,
    person: &Person,
    access: &FieldAccess,
) -> Result<Vec<(i64, String, i64)>, ApiError> {
    let pairs = crate::dedup::candidates_of(&state.db, principal.workspace_id, person)
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    let other = |p: &crate::dedup::Pair| if p.a.id == person.id.get() { p.b.id } else { p.a.id };
    let ids: Vec<i64> = pairs.iter().map(other).collect();
    let people = service::readable(&state.db, principal, &ids).await?;
    Ok(pairs
        .iter()
        .filter_map(|pair| {
            let found = people.iter().find(|p| p.id.get() == other(pair))?;
            Some((found.id.get(), display_name(found, access), (pair.score * 100.0).floor() as i64))
        })
        .collect())
}

/// What a person is called on a page: the name, else the primary email or phone, as far as
/// the caller's role may see them.
pub(crate) fn display_name(person: &Person, access: &FieldAccess) -> String {
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

/// The list page: the filter builder (or a JSON tree), sort, columns and saved views over the
/// same list use case as `GET /api/v1/people`.
async fn list(
    State(state): State<AppState>,
    principal: Principal,
    Query(params): Query<ListParams>,
) -> Result<Response, ApiError> {
    let (access, defs) = form_rules(&state, &principal).await?;
    let query = ListQuery::read(&state.db, &principal, &LIST, params).await?;
    let spec = query.spec(50);
    let (page, error) = match &spec {
        Err(problem) => (None, Some(problem.clone())),
        Ok(spec) => match service::list(&state.db, &principal, &access, spec).await {
            Ok(page) => (Some(page), None),
            Err(PersonError::Invalid(errors)) => (None, Some(problem_text(&errors))),
            Err(other) => return Err(other.into()),
        },
    };
    let paging = (page.as_ref().map(|p| p.count), page.as_ref().and_then(|p| p.next.clone()), error);
    let shown = query.shown(&state.db, &principal, (&access, &defs), paging).await?;
    let rows = page
        .iter()
        .flat_map(|page| &page.people)
        .map(|p| {
            let cells = shown.cells(&serde_json::to_value(&p.fields).unwrap_or_default(), &p.fields.custom, &defs);
            Row { id: p.id, name: display_name(p, &access), cells }
        })
        .collect();
    let Shown { controls, columns, count, next, export_href } = shown;
    let status = if controls.error.is_some() { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::OK };
    let bulk = crate::bulk::web::Bar::of(
        &principal,
        crate::bulk::Object::People,
        (&access, &defs),
        (spec.as_ref().ok().and_then(|spec| spec.filter.as_ref()), count.clone()),
    );
    let html = ListPage {
        layout: Layout::for_caller("People", &principal),
        may_create: principal.can(MODULE, Action::Create).is_some(),
        rows,
        count,
        next,
        controls,
        columns,
        export_href,
        bulk,
    };
    Ok(render(status, &html))
}

async fn save_view(
    State(state): State<AppState>,
    SessionForm(principal, form): SessionForm<SaveViewForm>,
) -> Result<Response, ApiError> {
    crate::view::web::save_view(&state.db, &principal, &LIST, form).await
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
    let defs = field::definitions(&state.db, principal.workspace_id, field::Object::Person).await?;
    let shown = crate::profile::page::shown_fields(fields(), &values, &access)
        .into_iter()
        .map(|(label, text)| (label.to_owned(), text))
        .chain(field::shown_values(&defs, &person.fields.custom, &access))
        .collect();
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
