//! Companies' pages: the list (the filter builder over any field and custom field, sort,
//! columns, saved views, cursor pages, export), a company's detail page with its custom fields
//! and people, the create and edit forms with inline errors, and the delete and restore
//! buttons. Everything reads and writes through the service, as the API does, so the caller's
//! reach and field rules decide alike: a button or field the caller may not use is not shown,
//! and a forged post is refused all the same. The list and the forms are the same code as
//! people's (`crate::view::web`, `crate::profile::page`); the HTML is the templates' work.

use std::collections::BTreeMap;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use rapport_core::CompanyId;
use serde_json::Value;

use super::api::OBJECT;
use super::model::{Company, CompanyInput, Link, fields};
use super::service::{self, CompanyError, Created, MODULE, Permitted};
use crate::access::FieldAccess;
use crate::app::AppState;
use crate::field::{self, CustomField};
use crate::http::auth::{ButtonForm, SessionForm};
use crate::http::{ApiError, FieldErrors, Pages};
use crate::identity::{Action, Principal};
use crate::profile::page::{Editing, Fillable, FormField, FormPage, FormTarget, RecordForm, shown_fields, shows};
use crate::profile::primary;
use crate::view::web::{ListControls, ListObject, ListParams, ListQuery, SaveViewForm, Shorthand, Shown, problem_text};
use crate::web::{Layout, csrf_token, render};

pub fn router() -> Pages {
    Pages::new()
        .route("/companies", get(list))
        .route("/companies/views", post(save_view))
        .route("/companies/new", get(new_form).post(submit))
        .route("/companies/{id}", get(detail))
        .route("/companies/{id}/edit", get(edit_form).post(edit))
        .route("/companies/{id}/delete", post(delete))
        .route("/companies/{id}/restore", post(restore))
}

/// The form's built-in fields: vocabulary key, label, input type, autocomplete hint.
const FORM_FIELDS: [FormField; 6] = [
    ("name", "Name", "text", "organization"),
    ("domain", "Domain (example.com)", "text", "url"),
    ("industry", "Industry", "text", "off"),
    ("email", "Email", "email", "email"),
    ("phone", "Phone", "tel", "tel"),
    ("lifecycle_stage", "Lifecycle stage (lead, customer, …)", "text", "off"),
];

impl Fillable for CompanyInput {
    fn custom_mut(&mut self) -> &mut BTreeMap<String, Value> {
        &mut self.custom
    }
}

/// A company as its edit form opens on it.
fn editing(company: &Company) -> Editing<'_> {
    Editing {
        fields: serde_json::to_value(&company.fields).unwrap_or_default(),
        custom: &company.fields.custom,
        version: company.version,
    }
}

/// What a company is called on a page, as far as the caller's role may see its name.
fn display_name(company: &Company, access: &FieldAccess) -> String {
    company.fields.name.clone().filter(|_| shows(access, "name")).unwrap_or_else(|| format!("Company {}", company.id))
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

fn create_target() -> FormTarget {
    FormTarget::create("New company", "/companies")
}

fn edit_target(company: &Company, access: &FieldAccess) -> FormTarget {
    FormTarget::edit(&display_name(company, access), &format!("/companies/{}", company.id))
}

/// What a page needs to know beyond the company: the caller's field rules and the custom fields.
async fn rules(state: &AppState, principal: &Principal) -> Result<(FieldAccess, Vec<CustomField>), ApiError> {
    let defs = field::definitions(&state.db, principal.workspace_id, field::Object::Company).await?;
    Ok((crate::access::field_access(&state.db, principal, OBJECT).await?, defs))
}

async fn new_form(State(state): State<AppState>, principal: Principal) -> Result<Response, ApiError> {
    if principal.can(MODULE, Action::Create).is_none() {
        return Err(CompanyError::Forbidden("your role may not create companies").into());
    }
    let (access, defs) = rules(&state, &principal).await?;
    let page = form_page(&principal, create_target(), (&access, &defs), &RecordForm::default(), FieldErrors::new());
    Ok(render(StatusCode::OK, &page))
}

async fn submit(
    State(state): State<AppState>,
    SessionForm(principal, form): SessionForm<RecordForm>,
) -> Result<Response, ApiError> {
    let (access, defs) = rules(&state, &principal).await?;
    access.check_write(form.filled(&FORM_FIELDS).iter().map(String::as_str))?;
    let invalid = |errors| {
        let page = form_page(&principal, create_target(), (&access, &defs), &form, errors);
        Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &page))
    };
    let input: CompanyInput = match form.input(&FORM_FIELDS) {
        Ok(input) => input,
        Err(errors) => return invalid(errors),
    };
    match service::create(&state.db, &principal, &input, None, |_| Value::Null).await {
        Ok(Created::New(company)) => Ok(Redirect::to(&format!("/companies/{}", company.id)).into_response()),
        Ok(Created::Replayed(_)) => Ok(Redirect::to("/companies").into_response()),
        Err(CompanyError::Invalid(errors)) => invalid(errors),
        Err(other) => Err(other.into()),
    }
}

/// The edit form, offered only to those whose update reach covers the company.
async fn edit_form(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<CompanyId>,
) -> Result<Response, ApiError> {
    let company = service::get(&state.db, &principal, id).await?;
    if !service::permitted(&state.db, &principal, &company).await?.update {
        return Err(CompanyError::Forbidden("you may change only companies within your reach").into());
    }
    let (access, defs) = rules(&state, &principal).await?;
    let form = RecordForm::of(&editing(&company), &FORM_FIELDS, &defs);
    let page = form_page(&principal, edit_target(&company, &access), (&access, &defs), &form, FieldErrors::new());
    Ok(render(StatusCode::OK, &page))
}

/// Saves an edit made at the form's version; a company changed meanwhile is not overwritten,
/// and the form says so.
async fn edit(
    State(state): State<AppState>,
    Path(id): Path<CompanyId>,
    SessionForm(principal, form): SessionForm<RecordForm>,
) -> Result<Response, ApiError> {
    let company = service::get(&state.db, &principal, id).await?;
    let (access, defs) = rules(&state, &principal).await?;
    let (patch, changed) = form.patch(&editing(&company), &FORM_FIELDS, &defs);
    access.check_write(changed.iter().map(String::as_str))?;
    let page = |errors| form_page(&principal, edit_target(&company, &access), (&access, &defs), &form, errors);
    match service::update(&state.db, &principal, id, patch, form.version()).await {
        Ok(_) => Ok(Redirect::to(&format!("/companies/{id}")).into_response()),
        Err(CompanyError::Invalid(errors)) => Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &page(errors))),
        Err(CompanyError::Stale) => Ok(render(StatusCode::PRECONDITION_FAILED, &page(FieldErrors::new()).stale())),
        Err(other) => Err(other.into()),
    }
}

async fn delete(
    State(state): State<AppState>,
    Path(id): Path<CompanyId>,
    SessionForm(principal, _): SessionForm<ButtonForm>,
) -> Result<Response, ApiError> {
    service::delete(&state.db, &principal, id).await?;
    Ok(Redirect::to(&format!("/companies/{id}")).into_response())
}

async fn restore(
    State(state): State<AppState>,
    Path(id): Path<CompanyId>,
    SessionForm(principal, _): SessionForm<ButtonForm>,
) -> Result<Response, ApiError> {
    service::restore(&state.db, &principal, id).await?;
    Ok(Redirect::to(&format!("/companies/{id}")).into_response())
}

/// The companies list page's place and contents.
static LIST: ListObject = ListObject {
    path: "/companies",
    noun: "companies",
    table: &super::LIST_TABLE,
    vocabulary: fields,
    default_columns: &["domain", "address.city", "industry"],
    shorthands: &[Shorthand { param: "tag", field: "tags", op: "has_any" }],
    export: crate::export::Object::Companies,
};

struct Row {
    id: CompanyId,
    name: String,
    cells: Vec<String>,
}

#[derive(Template)]
#[template(path = "companies_list.html")]
struct ListPage {
    layout: Layout,
    may_create: bool,
    rows: Vec<Row>,
    count: String,
    next: Option<String>,
    controls: ListControls,
    columns: Vec<(String, String)>,
    /// Where the Export button leads, for callers who may export.
    export_href: Option<String>,
    /// The bulk action bar, for callers who may act on companies.
    bulk: Option<crate::bulk::web::Bar>,
}

/// The list page: the filter builder (or a JSON tree), sort, columns and saved views over the
/// same list use case as `GET /api/v1/companies`.
async fn list(
    State(state): State<AppState>,
    principal: Principal,
    Query(params): Query<ListParams>,
) -> Result<Response, ApiError> {
    let (access, defs) = rules(&state, &principal).await?;
    let query = ListQuery::read(&state.db, &principal, &LIST, params).await?;
    let spec = query.spec(50);
    let (page, error) = match &spec {
        Err(problem) => (None, Some(problem.clone())),
        Ok(spec) => match service::list(&state.db, &principal, &access, spec).await {
            Ok(page) => (Some(page), None),
            Err(CompanyError::Invalid(errors)) => (None, Some(problem_text(&errors))),
            Err(other) => return Err(other.into()),
        },
    };
    let paging = (page.as_ref().map(|p| p.count), page.as_ref().and_then(|p| p.next.clone()), error);
    let shown = query.shown(&state.db, &principal, (&access, &defs), paging).await?;
    let rows = page
        .iter()
        .flat_map(|page| &page.companies)
        .map(|c| {
            let cells = shown.cells(&serde_json::to_value(&c.fields).unwrap_or_default(), &c.fields.custom, &defs);
            Row { id: c.id, name: display_name(c, &access), cells }
        })
        .collect();
    let Shown { controls, columns, count, next, export_href } = shown;
    let status = if controls.error.is_some() { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::OK };
    let bulk = crate::bulk::web::Bar::of(
        &principal,
        crate::bulk::Object::Companies,
        (&access, &defs),
        (spec.as_ref().ok().and_then(|spec| spec.filter.as_ref()), count.clone()),
    );
    let html = ListPage {
        layout: Layout::for_caller("Companies", &principal),
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

#[derive(Template)]
#[template(path = "company.html")]
struct DetailPage {
    layout: Layout,
    id: CompanyId,
    name: String,
    trashed: bool,
    csrf_token: String,
    permitted: Permitted,
    /// Built-in fields, then custom fields, as (label, text).
    fields: Vec<(String, String)>,
    /// Empty when the caller may not read people.
    people: Vec<Link>,
    activities: crate::activity::web::Activities,
    attachments: crate::attachment::web::Attachments,
}

/// A company's page: its fields and custom fields as far as the caller's role may see them,
/// its people, notes, tasks and files, and the buttons the caller's reach allows.
async fn detail(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<CompanyId>,
) -> Result<Response, ApiError> {
    let company = service::get(&state.db, &principal, id).await?;
    let (access, defs) = rules(&state, &principal).await?;
    let mut values = serde_json::to_value(&company.fields).unwrap_or_default();
    values["email"] = primary(&company.fields.emails).into();
    values["phone"] = primary(&company.fields.phones).into();
    let fields = shown_fields(fields(), &values, &access)
        .into_iter()
        .map(|(label, text)| (label.to_owned(), text))
        .chain(field::shown_values(&defs, &company.fields.custom, &access))
        .collect();
    let people = service::people(&state.db, &principal, id).await?;
    let name = display_name(&company, &access);
    let target = crate::activity::Target::Company(id.get());
    let page = DetailPage {
        layout: Layout::for_caller(name.clone(), &principal),
        id,
        name,
        trashed: company.deleted_at.is_some(),
        csrf_token: csrf_token(&principal),
        permitted: service::permitted(&state.db, &principal, &company).await?,
        fields,
        people,
        activities: crate::activity::web::activities(&state, &principal, target).await?,
        attachments: crate::attachment::web::attachments(&state, &principal, target).await?,
    };
    Ok(render(StatusCode::OK, &page))
}
