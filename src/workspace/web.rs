//! The workspace's pages: the one-time setup page of a fresh installation, and the settings
//! page of owners and admins.
//!
//! Setup is reachable only with the token printed on the server console, which also guards it
//! against cross-site submission: a forging page cannot know the token. The same-origin check
//! refuses forged posts early anyway. The settings form posts to the same service function as
//! `PATCH /api/v1/workspace`, so both check and record a change alike.

use askama::Template;
use axum::Form;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use rapport_core::Email;
use serde::Deserialize;

use super::model::{NewWorkspace, WorkspaceName};
use super::service::{self, WorkspaceError};
use super::settings::WorkspaceSettings;
use crate::app::AppState;
use crate::http::auth::{CsrfProtected, SessionForm};
use crate::http::{ApiError, FieldErrors, Pages};
use crate::identity::{Action, Password, Principal};
use crate::web::{Layout, render};

pub fn router() -> Pages {
    Pages::new().route("/setup", get(show).post(submit)).route("/settings", get(show_settings).post(save_settings))
}

#[derive(Deserialize)]
struct TokenQuery {
    token: Option<String>,
}

#[derive(Template)]
#[template(path = "setup.html")]
struct SetupPage {
    layout: Layout,
    token: String,
    workspace_name: String,
    owner_email: String,
    sample_data: bool,
    errors: FieldErrors,
    form_error: Option<String>,
}

impl SetupPage {
    fn errors_for(&self, field: &str) -> &[String] {
        self.errors.get(field).map_or(&[], Vec::as_slice)
    }

    /// Focus goes to the first field with an error, so a phone's keyboard opens where the fix is.
    fn autofocus(&self, field: &str) -> bool {
        let first_invalid = Self::FIELDS.iter().find(|f| self.errors.contains_key(**f));
        first_invalid.map_or(field == Self::FIELDS[0], |first| *first == field)
    }

    const FIELDS: [&'static str; 4] = ["workspace_name", "owner_email", "password", "password_confirm"];
}

#[derive(Template)]
#[template(path = "setup_done.html")]
struct SetupDone {
    layout: Layout,
    workspace_name: String,
    workspace_id: i64,
    owner_email: String,
    /// People loaded as sample data, when asked for.
    sample_people: Option<u64>,
}

#[derive(Template)]
#[template(path = "setup_closed.html")]
struct SetupClosed {
    layout: Layout,
    heading: &'static str,
    message: &'static str,
}

fn closed(status: StatusCode, heading: &'static str, message: &'static str) -> Response {
    render(status, &SetupClosed { layout: Layout::new(heading), heading, message })
}

fn already_set_up() -> Response {
    closed(
        StatusCode::OK,
        "Rapport is already set up",
        "This installation already has a workspace. Sign in, or ask its owner for an invitation.",
    )
}

fn bad_token() -> Response {
    closed(
        StatusCode::FORBIDDEN,
        "This setup link is not valid",
        "Use the setup link printed in the server console at the latest start. Restarting the server prints a new one.",
    )
}

async fn show(State(state): State<AppState>, Query(query): Query<TokenQuery>) -> Result<Response, ApiError> {
    if !service::needs_setup(&state.db).await? {
        return Ok(already_set_up());
    }
    let token = query.token.unwrap_or_default();
    if !service::setup_token_valid(&state.db, &token).await? {
        return Ok(bad_token());
    }
    Ok(render(
        StatusCode::OK,
        &SetupPage {
            layout: Layout::new("Set up"),
            token,
            workspace_name: String::new(),
            owner_email: String::new(),
            sample_data: false,
            errors: FieldErrors::new(),
            form_error: None,
        },
    ))
}

#[derive(Deserialize)]
struct SetupForm {
    token: String,
    workspace_name: String,
    owner_email: String,
    password: String,
    password_confirm: String,
    /// The "Load sample data" checkbox: present only when ticked.
    sample_data: Option<String>,
}

impl SetupForm {
    fn parse(&self) -> Result<NewWorkspace, FieldErrors> {
        let mut errors = FieldErrors::new();
        let mut fail = |field: &str, message: String| errors.entry(field.to_string()).or_default().push(message);
        let name =
            WorkspaceName::parse(&self.workspace_name).map_err(|e| fail("workspace_name", format!("The name {e}.")));
        let email = Email::parse(&self.owner_email).map_err(|e| fail("owner_email", format!("This address {e}.")));
        let password = Password::parse(&self.password).map_err(|e| fail("password", format!("The password {e}.")));
        if self.password != self.password_confirm {
            fail("password_confirm", "The two passwords differ.".into());
        }
        match (name, email, password) {
            (Ok(name), Ok(owner_email), Ok(owner_password)) if errors.is_empty() => {
                Ok(NewWorkspace { name, owner_email, owner_password })
            }
            _ => Err(errors),
        }
    }
}

async fn submit(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<SetupForm>,
) -> Result<Response, ApiError> {
    crate::web::require_same_origin(&headers)?;
    if !service::needs_setup(&state.db).await? {
        return Ok(already_set_up());
    }
    if !service::setup_token_valid(&state.db, &form.token).await? {
        return Ok(bad_token());
    }
    let new = match form.parse() {
        Ok(new) => new,
        Err(errors) => return Ok(form_again(&form, errors)),
    };
    let name = new.name.as_str().to_string();
    let email = new.owner_email.to_string();
    match service::complete_setup(&state.db, &form.token, new).await {
        Ok(created) => {
            // Inline: the sample loads in about two seconds on SQLite and five on PostgreSQL
            // (docs/benchmarks.md); a job would leave the owner in an empty workspace as long.
            let sample_people = match form.sample_data {
                Some(_) => Some(
                    crate::r#gen::load_sample(&state.db, created.workspace_id)
                        .await
                        .map_err(|e| ApiError::Internal(format!("loading sample data: {e:#}")))?
                        .people,
                ),
                None => None,
            };
            Ok(render(
                StatusCode::OK,
                &SetupDone {
                    layout: Layout::new("Workspace ready"),
                    workspace_name: name,
                    workspace_id: created.workspace_id.get(),
                    owner_email: email,
                    sample_people,
                },
            ))
        }
        Err(WorkspaceError::EmailTaken) => Ok(form_again(
            &form,
            FieldErrors::from([("owner_email".into(), vec!["A user with this email already exists.".into()])]),
        )),
        Err(WorkspaceError::SetupTokenInvalid) => Ok(bad_token()),
        Err(other) => Err(other.into()),
    }
}

fn form_again(form: &SetupForm, errors: FieldErrors) -> Response {
    render(
        StatusCode::UNPROCESSABLE_ENTITY,
        &SetupPage {
            layout: Layout::new("Set up"),
            token: form.token.clone(),
            workspace_name: form.workspace_name.clone(),
            owner_email: form.owner_email.clone(),
            sample_data: form.sample_data.is_some(),
            errors,
            form_error: Some("Please correct the fields marked below.".into()),
        },
    )
}

/// The settings form's fields: key (as the API names it), label, hint, autocomplete hint.
const SETTINGS_FIELDS: [(&str, &str, &str, &str); 5] = [
    ("name", "Workspace name", "", "organization"),
    ("default_currency", "Default currency", "ISO 4217, e.g. EUR", "off"),
    ("time_zone", "Time zone", "IANA, e.g. Europe/Paris: relative dates are read in it", "off"),
    ("locale", "Locale", "BCP 47, e.g. fr-FR", "off"),
    ("country", "Country", "ISO 3166 two letters, e.g. FR: national phone numbers are read in it", "country"),
];

#[derive(Deserialize, Default)]
struct SettingsForm {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    default_currency: String,
    #[serde(default)]
    time_zone: String,
    #[serde(default)]
    locale: String,
    #[serde(default)]
    country: String,
}

impl CsrfProtected for SettingsForm {
    fn csrf_token(&self) -> &str {
        &self.csrf_token
    }
}

impl SettingsForm {
    fn of(settings: &WorkspaceSettings) -> Self {
        Self {
            csrf_token: String::new(),
            name: settings.name.as_str().to_owned(),
            default_currency: settings.default_currency.as_str().to_owned(),
            time_zone: settings.time_zone.name().to_owned(),
            locale: settings.locale.as_str().to_owned(),
            country: settings.country.as_str().to_owned(),
        }
    }

    fn value(&self, key: &str) -> &str {
        match key {
            "name" => &self.name,
            "default_currency" => &self.default_currency,
            "time_zone" => &self.time_zone,
            "locale" => &self.locale,
            _ => &self.country,
        }
    }

    /// Every field as the patch the API takes.
    fn patch(&self) -> serde_json::Map<String, serde_json::Value> {
        SETTINGS_FIELDS.iter().map(|(key, ..)| ((*key).to_owned(), self.value(key).trim().into())).collect()
    }
}

struct SettingsInput {
    key: &'static str,
    label: &'static str,
    hint: &'static str,
    autocomplete: &'static str,
    value: String,
    errors: Vec<String>,
    autofocus: bool,
}

#[derive(Template)]
#[template(path = "settings.html")]
struct SettingsPage {
    layout: Layout,
    csrf_token: String,
    inputs: Vec<SettingsInput>,
    errors: FieldErrors,
    saved: bool,
    two_factor_required: bool,
}

#[derive(Deserialize)]
struct SavedQuery {
    saved: Option<String>,
}

fn require_admin(principal: &Principal) -> Result<(), ApiError> {
    match principal.can("workspace", Action::Admin) {
        Some(_) => Ok(()),
        None => Err(WorkspaceError::NotAdmin.into()),
    }
}

async fn settings_page(
    state: &AppState,
    principal: &Principal,
    form: &SettingsForm,
    errors: FieldErrors,
    saved: bool,
) -> Result<Response, ApiError> {
    let first_bad = SETTINGS_FIELDS.iter().position(|(key, ..)| errors.contains_key(*key)).unwrap_or(0);
    let inputs = SETTINGS_FIELDS
        .iter()
        .enumerate()
        .map(|(i, (key, label, hint, autocomplete))| SettingsInput {
            key,
            label,
            hint,
            autocomplete,
            value: form.value(key).to_owned(),
            errors: errors.get(*key).cloned().unwrap_or_default(),
            autofocus: !errors.is_empty() && i == first_bad,
        })
        .collect();
    let status = if errors.is_empty() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
    let page = SettingsPage {
        layout: Layout::for_caller("Workspace settings", principal),
        csrf_token: crate::web::csrf_token(principal),
        inputs,
        errors,
        saved,
        two_factor_required: crate::identity::two_factor::policy(&state.db, principal.workspace_id).await?,
    };
    Ok(render(status, &page))
}

async fn show_settings(
    State(state): State<AppState>,
    principal: Principal,
    Query(query): Query<SavedQuery>,
) -> Result<Response, ApiError> {
    require_admin(&principal)?;
    let settings = service::settings(&state.db, principal.workspace_id).await?;
    settings_page(&state, &principal, &SettingsForm::of(&settings), FieldErrors::new(), query.saved.is_some()).await
}

/// Saves the form through the API's service function: every bad field is shown beside it and
/// nothing is saved.
async fn save_settings(
    State(state): State<AppState>,
    SessionForm(principal, form): SessionForm<SettingsForm>,
) -> Result<Response, ApiError> {
    match service::update_settings(&state.db, &principal, &form.patch()).await {
        Ok(_) => Ok(Redirect::to("/settings?saved=1").into_response()),
        Err(WorkspaceError::InvalidSettings(errors)) => settings_page(&state, &principal, &form, errors, false).await,
        Err(other) => Err(other.into()),
    }
}
