//! The custom fields page (`/settings/fields`): each object's fields with their kind and flags,
//! a form to define one, and per field a form to rename, change options and flags, retire or
//! bring back. Everything goes through the service, as the API does.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use rapport_core::FieldId;
use serde::Deserialize;

use super::model::{CustomField, CustomKind, FieldSpec, Object};
use super::service::{self, FieldError};
use crate::app::AppState;
use crate::http::auth::{SessionForm, csrf_protected};
use crate::http::{ApiError, FieldErrors, Pages};
use crate::identity::{Action, Principal};
use crate::web::{Layout, csrf_token, render};

pub fn router() -> Pages {
    Pages::new().route("/settings/fields", get(page).post(create)).route("/settings/fields/{id}", post(update))
}

#[derive(Deserialize, Default)]
struct FieldForm {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    object: String,
    #[serde(default)]
    key: String,
    #[serde(default)]
    label: String,
    #[serde(default)]
    kind: String,
    /// One option per line, or separated by commas.
    #[serde(default)]
    options: String,
    #[serde(default)]
    target: String,
    #[serde(default)]
    help: String,
    required: Option<String>,
    unique: Option<String>,
    /// `retire` or `restore` from the row's buttons; absent for a plain save.
    #[serde(default)]
    change: String,
}

csrf_protected!(FieldForm);

impl FieldForm {
    fn spec(&self, creating: bool) -> FieldSpec {
        let some = |s: &str| Some(s.trim().to_owned()).filter(|s| !s.is_empty());
        let options: Vec<String> =
            self.options.split(['\n', ',']).map(str::trim).filter(|o| !o.is_empty()).map(str::to_owned).collect();
        FieldSpec {
            object: creating.then(|| self.object.clone()),
            key: some(&self.key),
            label: some(&self.label),
            kind: creating.then(|| self.kind.clone()),
            options: (!options.is_empty()).then_some(options),
            target: if creating { some(&self.target) } else { None },
            required: Some(self.required.is_some()),
            unique: Some(self.unique.is_some()),
            default: None,
            help: Some(self.help.clone()),
            position: None,
            retired: match self.change.as_str() {
                "retire" => Some(true),
                "restore" => Some(false),
                _ => None,
            },
        }
    }
}

struct Section {
    object: &'static str,
    title: &'static str,
    fields: Vec<CustomField>,
    can_admin: bool,
}

#[derive(Template)]
#[template(path = "custom_fields.html")]
struct FieldsPage {
    layout: Layout,
    csrf_token: String,
    sections: Vec<Section>,
    kinds: Vec<(&'static str, &'static str)>,
    form: FieldForm,
    errors: FieldErrors,
    /// The field whose row form was refused, to show its errors there.
    failed: Option<FieldId>,
    saved: bool,
}

impl FieldsPage {
    fn failed_on(&self, id: &FieldId) -> bool {
        self.failed == Some(*id)
    }
}

#[derive(Deserialize)]
struct SavedQuery {
    saved: Option<String>,
}

async fn fields_page(
    state: &AppState,
    principal: &Principal,
    form: FieldForm,
    errors: FieldErrors,
    failed: Option<FieldId>,
    saved: bool,
) -> Result<Response, ApiError> {
    let mut sections = Vec::new();
    for (object, title) in [(Object::Person, "People"), (Object::Company, "Companies")] {
        if principal.can(object.module(), Action::Read).is_none() {
            continue;
        }
        sections.push(Section {
            object: object.as_str(),
            title,
            fields: service::list(&state.db, principal, object).await?,
            can_admin: principal.can(object.module(), Action::Admin).is_some(),
        });
    }
    if sections.is_empty() {
        return Err(ApiError::Forbidden("your role may not read people or companies".into()));
    }
    let status = if errors.is_empty() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
    let page = FieldsPage {
        layout: Layout::for_caller("Custom fields", principal),
        csrf_token: csrf_token(principal),
        sections,
        kinds: CustomKind::ALL.iter().map(|k| (k.as_str(), k.label())).collect(),
        form,
        errors,
        failed,
        saved,
    };
    Ok(render(status, &page))
}

async fn page(
    State(state): State<AppState>,
    principal: Principal,
    Query(query): Query<SavedQuery>,
) -> Result<Response, ApiError> {
    fields_page(&state, &principal, FieldForm::default(), FieldErrors::new(), None, query.saved.is_some()).await
}

async fn create(
    State(state): State<AppState>,
    SessionForm(principal, form): SessionForm<FieldForm>,
) -> Result<Response, ApiError> {
    let Some(object) = Object::parse(&form.object) else {
        let errors = FieldErrors::from([("object".into(), vec!["must be person or company".into()])]);
        return fields_page(&state, &principal, form, errors, None, false).await;
    };
    match service::create(&state.db, &principal, object, form.spec(true)).await {
        Ok(_) => Ok(Redirect::to("/settings/fields?saved=1").into_response()),
        Err(FieldError::Invalid(errors)) => fields_page(&state, &principal, form, errors, None, false).await,
        Err(other) => Err(other.into()),
    }
}

async fn update(
    State(state): State<AppState>,
    Path(id): Path<FieldId>,
    SessionForm(principal, form): SessionForm<FieldForm>,
) -> Result<Response, ApiError> {
    match service::update(&state.db, &principal, id, form.spec(false)).await {
        Ok(_) => Ok(Redirect::to("/settings/fields?saved=1").into_response()),
        Err(FieldError::Invalid(errors)) => {
            fields_page(&state, &principal, FieldForm::default(), errors, Some(id), false).await
        }
        Err(other) => Err(other.into()),
    }
}
