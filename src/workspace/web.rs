//! The one-time setup page of a fresh installation. It is reachable only with the token printed
//! on the server console, which also guards it against cross-site submission: a forging page
//! cannot know the token. The same-origin check refuses forged posts early anyway.

use askama::Template;
use axum::Form;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::get;
use rapport_core::Email;
use serde::Deserialize;

use super::model::{NewWorkspace, WorkspaceName};
use super::service::{self, WorkspaceError};
use crate::app::AppState;
use crate::http::{ApiError, FieldErrors, Pages};
use crate::identity::Password;
use crate::web::{Layout, render};

pub fn router() -> Pages {
    Pages::new().route("/setup", get(show).post(submit))
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
