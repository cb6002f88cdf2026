//! Companies' pages: the list (filter by tag, a page at a time), a company's detail page with
//! its people, and the create form with inline errors. They read through the service, as the
//! API does; the HTML is the templates' work.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use rapport_core::CompanyId;
use serde::Deserialize;

use super::model::{CompanyInput, Link, fields};
use super::service::{self, CompanyError, Created};
use crate::app::AppState;
use crate::http::auth::{CsrfProtected, SessionForm};
use crate::http::{ApiError, FieldErrors, Pages};
use crate::identity::Principal;
use crate::profile::page::{FormField, FormInput, form_inputs, shown_fields};
use crate::profile::{governing_field, primary};
use crate::web::{Layout, render};

pub fn router() -> Pages {
    Pages::new()
        .route("/companies", get(list))
        .route("/companies/new", get(new_form).post(submit))
        .route("/companies/{id}", get(detail))
}

const FORM_FIELDS: [FormField; 5] = [
    ("name", "Name", "text", "organization"),
    ("domain", "Domain (example.com)", "text", "url"),
    ("industry", "Industry", "text", "off"),
    ("email", "Email", "email", "email"),
    ("phone", "Phone", "tel", "tel"),
];

#[derive(Deserialize, Default)]
struct CompanyForm {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    domain: String,
    #[serde(default)]
    industry: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    phone: String,
}

impl CsrfProtected for CompanyForm {
    fn csrf_token(&self) -> &str {
        &self.csrf_token
    }
}

impl CompanyForm {
    fn value(&self, key: &str) -> &str {
        match key {
            "name" => &self.name,
            "domain" => &self.domain,
            "industry" => &self.industry,
            "email" => &self.email,
            _ => &self.phone,
        }
    }

    fn input(&self) -> CompanyInput {
        let some = |s: &str| (!s.trim().is_empty()).then(|| s.to_owned());
        CompanyInput {
            name: some(&self.name),
            domain: some(&self.domain),
            industry: some(&self.industry),
            email: some(&self.email),
            phone: some(&self.phone),
            ..CompanyInput::default()
        }
    }
}

#[derive(Template)]
#[template(path = "record_form.html")]
struct FormPage {
    layout: Layout,
    back: (&'static str, &'static str),
    action: &'static str,
    csrf_token: String,
    inputs: Vec<FormInput>,
    errors: FieldErrors,
}

fn form_page(principal: &Principal, form: &CompanyForm, errors: FieldErrors) -> FormPage {
    FormPage {
        layout: Layout::for_caller("New company", principal),
        back: ("/companies", "Companies"),
        action: "/companies/new",
        csrf_token: crate::web::csrf_token(principal),
        inputs: form_inputs(&FORM_FIELDS, |key| form.value(key), &errors),
        errors,
    }
}

fn allow(principal: &Principal, write: bool) -> Result<(), ApiError> {
    if principal.may("companies", write) { Ok(()) } else { Err(ApiError::Forbidden("not allowed here".into())) }
}

async fn new_form(principal: Principal) -> Result<Response, ApiError> {
    allow(&principal, true)?;
    Ok(render(StatusCode::OK, &form_page(&principal, &CompanyForm::default(), FieldErrors::new())))
}

async fn submit(
    State(state): State<AppState>,
    SessionForm(principal, form): SessionForm<CompanyForm>,
) -> Result<Response, ApiError> {
    allow(&principal, true)?;
    let access = crate::access::field_access(&state.db, &principal, "company").await?;
    let input = form.input();
    let written: Vec<&str> =
        FORM_FIELDS.iter().map(|(key, ..)| *key).filter(|key| !form.value(key).is_empty()).collect();
    access.check_write(written)?;
    match service::create(&state.db, principal.workspace_id, &principal.actor(), &input, None, |_| {
        serde_json::Value::Null
    })
    .await
    {
        Ok(Created::New(company)) => Ok(Redirect::to(&format!("/companies/{}", company.id)).into_response()),
        Ok(Created::Replayed(_)) => Ok(Redirect::to("/companies").into_response()),
        Err(CompanyError::Invalid(errors)) => {
            Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &form_page(&principal, &form, errors)))
        }
        Err(other) => Err(other.into()),
    }
}

#[derive(Deserialize)]
struct ListParams {
    #[serde(default)]
    tag: String,
    #[serde(default)]
    cursor: String,
}

struct Row {
    id: CompanyId,
    name: String,
    domain: Option<String>,
    city: Option<String>,
}

#[derive(Template)]
#[template(path = "companies_list.html")]
struct ListPage {
    layout: Layout,
    rows: Vec<Row>,
    count: String,
    next: Option<String>,
    tag_filter: String,
    /// Where the Export button leads, for callers who may export.
    export_href: Option<String>,
}

async fn list(
    State(state): State<AppState>,
    principal: Principal,
    Query(params): Query<ListParams>,
) -> Result<Response, ApiError> {
    allow(&principal, false)?;
    let access = crate::access::field_access(&state.db, &principal, "company").await?;
    let tag = params.tag.trim();
    let filter = (!tag.is_empty()).then(|| serde_json::json!({"field": "tags", "op": "has_any", "value": [tag]}));
    let spec = crate::view::ListSpec { filter, cursor: Some(params.cursor.clone()), limit: 50, ..Default::default() };
    let page = service::list(&state.db, &principal, &access, &spec).await?;
    let shows = |key: &str| access.visible(governing_field(key));
    let rows = page
        .companies
        .iter()
        .map(|c| Row {
            id: c.id,
            name: c.fields.name.clone().filter(|_| shows("name")).unwrap_or_else(|| format!("Company {}", c.id)),
            domain: c.fields.domain.clone().filter(|_| shows("domain")),
            city: c.fields.address.city.clone().filter(|_| shows("address.city")),
        })
        .collect();
    let html = ListPage {
        layout: Layout::for_caller("Companies", &principal),
        rows,
        count: crate::profile::count_text(page.count),
        next: page.next,
        export_href: crate::export::web::export_href(
            &principal,
            crate::export::Object::Companies,
            &[("tag", &params.tag)],
        ),
        tag_filter: params.tag,
    };
    Ok(render(StatusCode::OK, &html))
}

#[derive(Template)]
#[template(path = "company.html")]
struct DetailPage {
    layout: Layout,
    name: String,
    trashed: bool,
    fields: Vec<(&'static str, String)>,
    /// Empty when the caller may not read people.
    people: Vec<Link>,
    activities: crate::activity::web::Activities,
    attachments: crate::attachment::web::Attachments,
}

async fn detail(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<CompanyId>,
) -> Result<Response, ApiError> {
    allow(&principal, false)?;
    let access = crate::access::field_access(&state.db, &principal, "company").await?;
    let company = service::get(&state.db, principal.workspace_id, id).await?;
    let mut values = serde_json::to_value(&company.fields).unwrap_or_default();
    values["email"] = primary(&company.fields.emails).into();
    values["phone"] = primary(&company.fields.phones).into();
    let people = if principal.may("people", false) {
        service::people(&state.db, principal.workspace_id, id).await?
    } else {
        Vec::new()
    };
    let name =
        company.fields.name.clone().filter(|_| access.visible("name")).unwrap_or_else(|| format!("Company {id}"));
    let page = DetailPage {
        layout: Layout::for_caller(name.clone(), &principal),
        name,
        trashed: company.deleted_at.is_some(),
        fields: shown_fields(fields(), &values, &access),
        people,
        activities: crate::activity::web::activities(&state, &principal, crate::activity::Target::Company(id.get()))
            .await?,
        attachments: crate::attachment::web::attachments(
            &state,
            &principal,
            crate::activity::Target::Company(id.get()),
        )
        .await?,
    };
    Ok(render(StatusCode::OK, &page))
}
