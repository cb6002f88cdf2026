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

use serde_json::{Map, Value, json};

use super::api::{OBJECT, parse_cursor};
use super::model::{Person, PersonInput, fields, governing_field};
use super::service::{self, MODULE, PersonError};
use crate::access::FieldAccess;
use crate::app::AppState;
use crate::audit::AuditRow;
use crate::field::{self, CustomField};
use crate::http::auth::{CsrfProtected, SessionForm};
use crate::http::{ApiError, FieldErrors, Pages};
use crate::identity::{Action, Principal};
use crate::profile::{LabelledInput, primary};
use crate::view::{BuilderRow, ListSpec};
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

/// The prefix of custom fields' input names.
const CUSTOM: &str = "custom.";

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
    /// Text, because a flattened form reads every value as text.
    #[serde(default)]
    version: String,
    /// Custom fields' inputs, named `custom.KEY`.
    #[serde(flatten)]
    custom: BTreeMap<String, String>,
}

impl CsrfProtected for PersonForm {
    fn csrf_token(&self) -> &str {
        &self.csrf_token
    }
}

impl PersonForm {
    fn value(&self, key: &str) -> &str {
        if let Some(custom) = key.strip_prefix(CUSTOM) {
            return self.custom.get(&format!("{CUSTOM}{custom}")).map_or("", String::as_str);
        }
        match key {
            "first_name" => &self.first_name,
            "last_name" => &self.last_name,
            "email" => &self.email,
            "phone" => &self.phone,
            _ => &self.lifecycle_stage,
        }
    }

    fn version(&self) -> Option<i64> {
        self.version.trim().parse().ok()
    }

    /// The form as it opens on an existing person.
    fn of(person: &Person, defs: &[CustomField]) -> Self {
        let f = &person.fields;
        let text = |value: &Option<String>| value.clone().unwrap_or_default();
        Self {
            csrf_token: String::new(),
            first_name: text(&f.first_name),
            last_name: text(&f.last_name),
            email: primary(&f.emails).unwrap_or_default(),
            phone: primary(&f.phones).unwrap_or_default(),
            lifecycle_stage: text(&f.lifecycle_stage),
            version: person.version.to_string(),
            custom: defs
                .iter()
                .filter_map(|def| {
                    let value = f.custom.get(&def.key)?;
                    Some((format!("{CUSTOM}{}", def.key), field::form_text(def.kind, value)))
                })
                .collect(),
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
            custom: self
                .custom
                .iter()
                .filter_map(|(name, value)| Some((name.strip_prefix(CUSTOM)?.to_owned(), value.trim())))
                .filter(|(_, value)| !value.is_empty())
                .map(|(key, value)| (key, Value::from(value)))
                .collect(),
            ..PersonInput::default()
        }
    }

    /// The keys a create writes: those filled in.
    fn filled(&self) -> Vec<String> {
        let builtin = FORM_FIELDS.iter().map(|(key, ..)| *key).filter(|key| !self.value(key).trim().is_empty());
        let custom = self.input().custom.into_keys();
        builtin.map(str::to_owned).chain(custom).collect()
    }

    /// The merge patch an edit sends: only the fields that differ from `person`. Clearing the
    /// email or phone drops the primary one and keeps the others.
    fn patch(&self, person: &Person, defs: &[CustomField]) -> (Value, Vec<String>) {
        let before = Self::of(person, defs);
        let mut patch = Map::new();
        let mut changed = Vec::new();
        for def in defs.iter().filter(|def| def.active()) {
            let name = format!("{CUSTOM}{}", def.key);
            let value = self.value(&name).trim();
            if value != before.value(&name).trim() {
                changed.push(def.key.clone());
                patch.insert(def.key.clone(), if value.is_empty() { Value::Null } else { Value::from(value) });
            }
        }
        for (key, ..) in FORM_FIELDS {
            let value = self.value(key).trim();
            if value == before.value(key).trim() {
                continue;
            }
            changed.push(key.to_owned());
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
    /// The input's name: a vocabulary key, or `custom.KEY`.
    name: String,
    label: String,
    /// An `<input>` type, or `textarea` / `select`.
    kind: &'static str,
    autocomplete: &'static str,
    /// A select's choices, the empty one first.
    options: Vec<String>,
    help: Option<String>,
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
    (access, defs): (&FieldAccess, &[CustomField]),
    form: &PersonForm,
    errors: FieldErrors,
) -> FormPage {
    let builtin =
        FORM_FIELDS.iter().filter(|(key, ..)| shows(access, key)).map(|(key, label, kind, autocomplete)| FormInput {
            name: (*key).to_owned(),
            label: (*label).to_owned(),
            kind,
            autocomplete,
            options: Vec::new(),
            help: None,
            value: form.value(key).to_owned(),
            errors: errors.get(*key).cloned().unwrap_or_default(),
            autofocus: false,
            read_only: access.check_write([*key]).is_err(),
        });
    let custom = defs.iter().filter(|def| def.active() && shows(access, &def.key)).map(|def| {
        let name = format!("{CUSTOM}{}", def.key);
        let (kind, options) = field::input_kind(def);
        FormInput {
            value: form.value(&name).to_owned(),
            name,
            label: if def.required { format!("{} (required)", def.label) } else { def.label.clone() },
            kind,
            autocomplete: "off",
            options,
            help: def.help.clone(),
            errors: errors.get(&def.key).cloned().unwrap_or_default(),
            autofocus: false,
            read_only: access.check_write([def.key.as_str()]).is_err(),
        }
    });
    let mut inputs: Vec<FormInput> = builtin.chain(custom).collect();
    let first_bad = inputs.iter().position(|input| !input.errors.is_empty()).unwrap_or(0);
    if let Some(input) = inputs.get_mut(first_bad) {
        input.autofocus = true;
    }
    FormPage {
        layout: Layout::for_caller(target.heading.clone(), principal),
        heading: target.heading,
        action: target.action,
        back: target.back,
        submit: target.submit,
        csrf_token: csrf_token(principal),
        version: form.version(),
        inputs,
        errors,
    }
}

async fn field_access(state: &AppState, principal: &Principal) -> Result<FieldAccess, ApiError> {
    Ok(crate::access::field_access(&state.db, principal, OBJECT).await?)
}

/// What a form needs to know beyond the person: the caller's field rules and the custom fields.
async fn form_rules(state: &AppState, principal: &Principal) -> Result<(FieldAccess, Vec<CustomField>), ApiError> {
    let defs = field::definitions(&state.db, principal.workspace_id, field::Object::Person).await?;
    Ok((field_access(state, principal).await?, defs))
}

async fn new_form(State(state): State<AppState>, principal: Principal) -> Result<Response, ApiError> {
    if principal.can(MODULE, Action::Create).is_none() {
        return Err(PersonError::Forbidden("your role may not create people").into());
    }
    let (access, defs) = form_rules(&state, &principal).await?;
    let page =
        form_page(&principal, FormTarget::create(), (&access, &defs), &PersonForm::default(), FieldErrors::new());
    Ok(render(StatusCode::OK, &page))
}

async fn submit(
    State(state): State<AppState>,
    SessionForm(principal, form): SessionForm<PersonForm>,
) -> Result<Response, ApiError> {
    let (access, defs) = form_rules(&state, &principal).await?;
    access.check_write(form.filled().iter().map(String::as_str))?;
    let created = service::create(&state.db, &principal, &form.input(), None, |_| Value::Null).await;
    match created {
        Ok(service::Created::New(person)) => Ok(Redirect::to(&format!("/people/{}", person.id)).into_response()),
        Ok(service::Created::Replayed(_)) => Ok(Redirect::to("/people").into_response()),
        Err(PersonError::Invalid(errors)) => Ok(render(
            StatusCode::UNPROCESSABLE_ENTITY,
            &form_page(&principal, FormTarget::create(), (&access, &defs), &form, errors),
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
    let (access, defs) = form_rules(&state, &principal).await?;
    let target = FormTarget::edit(&person, &access);
    let form = PersonForm::of(&person, &defs);
    Ok(render(StatusCode::OK, &form_page(&principal, target, (&access, &defs), &form, FieldErrors::new())))
}

async fn edit(
    State(state): State<AppState>,
    Path(id): Path<PersonId>,
    SessionForm(principal, form): SessionForm<PersonForm>,
) -> Result<Response, ApiError> {
    let person = service::get(&state.db, &principal, id).await?;
    let (access, defs) = form_rules(&state, &principal).await?;
    let (patch, changed) = form.patch(&person, &defs);
    access.check_write(changed.iter().map(String::as_str))?;
    match service::update(&state.db, &principal, id, patch, form.version()).await {
        Ok(_) => Ok(Redirect::to(&format!("/people/{id}")).into_response()),
        Err(PersonError::Invalid(errors)) => {
            let target = FormTarget::edit(&person, &access);
            let page = form_page(&principal, target, (&access, &defs), &form, errors);
            Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &page))
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

#[derive(Deserialize, Default)]
struct ListParams {
    #[serde(default)]
    lifecycle_stage: String,
    #[serde(default)]
    tag: String,
    #[serde(default)]
    cursor: String,
    /// A filter tree as JSON, for trees the builder rows cannot show.
    #[serde(default)]
    filter: String,
    #[serde(default)]
    sort: String,
    /// `any` joins the builder's conditions with or.
    #[serde(default, rename = "match")]
    match_any: String,
    /// A saved view to open.
    #[serde(default)]
    view: String,
    /// The columns shown, field keys separated by commas.
    #[serde(default)]
    columns: String,
    /// The builder's rows: `f0`, `o0`, `v0`, `f1` …
    #[serde(flatten)]
    rows: BTreeMap<String, String>,
}

/// The columns a list shows when none were chosen.
const DEFAULT_COLUMNS: [&str; 3] = ["email", "phone", "lifecycle_stage"];

impl ListParams {
    fn builder_rows(&self) -> Vec<BuilderRow> {
        (0..20)
            .map_while(|i| {
                let get = |prefix: &str| self.rows.get(&format!("{prefix}{i}")).cloned();
                Some(BuilderRow {
                    field: get("f")?,
                    op: get("o").unwrap_or_default(),
                    value: get("v").unwrap_or_default(),
                })
            })
            .filter(|row| !row.field.is_empty())
            .collect()
    }
}

struct Row {
    id: PersonId,
    name: String,
    cells: Vec<String>,
}

/// A field the filter builder, the sort and the columns offer.
struct ListField {
    key: String,
    label: String,
    sortable: bool,
}

#[derive(Template)]
#[template(path = "people_list.html")]
struct ListPage {
    layout: Layout,
    csrf_token: String,
    may_create: bool,
    rows: Vec<Row>,
    count: String,
    next: Option<String>,
    fields: Vec<ListField>,
    operators: Vec<&'static str>,
    builder: Vec<BuilderRow>,
    match_any: bool,
    /// The filter as JSON when the builder cannot show it.
    advanced: String,
    sort: String,
    columns: Vec<(String, String)>,
    chosen_columns: String,
    views: Vec<crate::view::SavedView>,
    error: Option<String>,
    /// Where the Export button leads, for callers who may export.
    export_href: Option<String>,
    /// The bulk action bar, for callers who may act on people.
    bulk: Option<crate::bulk::web::Bar>,
}

impl ListPage {
    /// The builder's filter as JSON, for saving the view.
    fn filter_text(&self) -> String {
        crate::view::from_rows(&self.builder, self.match_any).map(|f| f.to_string()).unwrap_or_default()
    }
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
    csrf_token: String,
    permitted: service::Permitted,
    tab: Tab,
    /// Notes and tasks, shown beside the details.
    activities: Option<crate::activity::web::Activities>,
    attachments: Option<crate::attachment::web::Attachments>,
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
    let (activities, attachments) = match tab {
        Tab::Details(_) => (
            Some(crate::activity::web::activities(state, principal, target).await?),
            Some(crate::attachment::web::attachments(state, principal, target).await?),
        ),
        Tab::History { .. } => (None, None),
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
        attachments,
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

/// The list page: the filter builder (or a JSON tree), sort, columns and saved views over the
/// same list use case as `GET /api/v1/people`.
async fn list(
    State(state): State<AppState>,
    principal: Principal,
    Query(params): Query<ListParams>,
) -> Result<Response, ApiError> {
    let (access, defs) = form_rules(&state, &principal).await?;
    let saved = match params.view.trim().parse::<i64>() {
        Ok(id) => Some(crate::view::view(&state.db, &principal, id).await?),
        Err(_) => None,
    };
    let mut builder = params.builder_rows();
    let mut match_any = params.match_any == "any";
    let (mut filter, sort, chosen) = match &saved {
        Some(view) => (view.filter.clone(), view.sort.clone().unwrap_or_default(), view.columns.join(",")),
        None => (None, params.sort.clone(), params.columns.clone()),
    };
    if saved.is_none() {
        filter = match (crate::view::from_rows(&builder, match_any), params.filter.trim()) {
            (Some(tree), _) => Some(tree),
            (None, "") => None,
            (None, raw) => serde_json::from_str(raw).ok().or(Some(Value::String(raw.to_owned()))),
        };
    }
    let mut advanced = String::new();
    if let Some(tree) = &filter {
        match crate::view::to_rows(tree) {
            Some((rows, any)) => (builder, match_any) = (rows, any),
            None => advanced = tree.to_string(),
        }
    }
    let mut shorthands = Vec::new();
    if !params.lifecycle_stage.trim().is_empty() {
        shorthands.push(("lifecycle_stage", "is", Value::from(params.lifecycle_stage.trim())));
    }
    if !params.tag.trim().is_empty() {
        shorthands.push(("tags", "has_any", json!([params.tag.trim()])));
    }
    let filter_json = filter.as_ref().map(Value::to_string);
    let tree = crate::view::query_filter(filter_json.as_deref(), shorthands);
    let spec = |filter| ListSpec {
        trash: false,
        filter,
        sort: Some(sort.clone()),
        cursor: Some(params.cursor.clone()),
        limit: 50,
    };
    let (page, error) = match &tree {
        Err(problem) => (None, Some(problem.to_string())),
        Ok(filter) => match service::list(&state.db, &principal, &access, &spec(filter.clone())).await {
            Ok(page) => (Some(page), None),
            Err(PersonError::Invalid(errors)) => (
                None,
                Some(errors.iter().map(|(k, m)| format!("{k}: {}", m.join("; "))).collect::<Vec<_>>().join(". ")),
            ),
            Err(other) => return Err(other.into()),
        },
    };
    let fields = list_fields(&defs, &access);
    let keys: Vec<String> = if chosen.trim().is_empty() {
        DEFAULT_COLUMNS.iter().map(|k| (*k).to_owned()).collect()
    } else {
        chosen.split(',').map(|k| k.trim().to_owned()).filter(|k| fields.iter().any(|f| &f.key == k)).collect()
    };
    let columns: Vec<(String, String)> = keys
        .iter()
        .filter(|key| shows(&access, key))
        .map(|key| {
            (key.clone(), fields.iter().find(|f| &f.key == key).map_or_else(|| key.clone(), |f| f.label.clone()))
        })
        .collect();
    let rows = page
        .as_ref()
        .map(|page| {
            page.people
                .iter()
                .map(|p| Row { id: p.id, name: display_name(p, &access), cells: cells(p, &columns, &defs) })
                .collect()
        })
        .unwrap_or_default();
    let next = page.as_ref().and_then(|page| page.next.clone()).map(|cursor| {
        let query = [
            ("filter", filter_json.clone().unwrap_or_default()),
            ("sort", sort.clone()),
            ("columns", chosen.clone()),
            ("lifecycle_stage", params.lifecycle_stage.clone()),
            ("tag", params.tag.clone()),
            ("cursor", cursor),
        ];
        url::form_urlencoded::Serializer::new(String::new()).extend_pairs(query).finish()
    });
    let count = page.as_ref().map_or_else(|| "0".into(), |page| crate::profile::count_text(page.count));
    let bulk = crate::bulk::web::Bar::of(
        &principal,
        crate::bulk::Object::People,
        (&access, &defs),
        (tree.as_ref().ok().and_then(Option::as_ref), count.clone()),
    );
    let html = ListPage {
        layout: Layout::for_caller("People", &principal),
        csrf_token: csrf_token(&principal),
        may_create: principal.can(MODULE, Action::Create).is_some(),
        export_href: crate::export::web::export_href(
            &principal,
            crate::export::Object::People,
            &[
                ("lifecycle_stage", &params.lifecycle_stage),
                ("tag", &params.tag),
                ("filter", filter_json.as_deref().unwrap_or_default()),
                ("sort", &sort),
            ],
        ),
        rows,
        count,
        next,
        fields,
        operators: ALL_OPERATORS.to_vec(),
        builder,
        match_any,
        advanced,
        sort,
        columns,
        chosen_columns: keys.join(","),
        views: crate::view::views(&state.db, &principal, &super::LIST_TABLE).await?,
        error,
        bulk,
    };
    let status = if html.error.is_some() { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::OK };
    Ok(render(status, &html))
}

/// Every operator the builder offers; the list refuses one that does not fit the field, and
/// says which do.
const ALL_OPERATORS: [&str; 21] = [
    "is",
    "is_not",
    "contains",
    "not_contains",
    "starts_with",
    "in",
    "not_in",
    "lt",
    "lte",
    "gt",
    "gte",
    "between",
    "before",
    "after",
    "in_last_days",
    "in_next_days",
    "has_any",
    "has_all",
    "has_none",
    "is_empty",
    "is_not_empty",
];

/// The fields a people list filters, sorts and shows, as far as the caller may see them.
fn list_fields(defs: &[CustomField], access: &FieldAccess) -> Vec<ListField> {
    let builtin = super::LIST_TABLE.columns.iter().filter(|c| shows(access, c.key)).map(|column| ListField {
        key: column.key.to_owned(),
        label: fields()
            .iter()
            .find(|f| f.key == column.key)
            .map_or_else(|| column.key.replace('_', " "), |f| f.label.to_owned()),
        sortable: column.sortable,
    });
    let custom = defs.iter().filter(|d| d.active() && shows(access, &d.key)).map(|def| ListField {
        key: def.key.clone(),
        label: def.label.clone(),
        sortable: !def.kind.many(),
    });
    builtin.chain(custom).collect()
}

/// A person's cells for the chosen columns.
fn cells(person: &Person, columns: &[(String, String)], defs: &[CustomField]) -> Vec<String> {
    let mut values = crate::profile::flat_values(serde_json::to_value(&person.fields).unwrap_or_default());
    values.insert("email".into(), primary(&person.fields.emails).into());
    values.insert("phone".into(), primary(&person.fields.phones).into());
    columns
        .iter()
        .map(|(key, _)| match defs.iter().find(|d| &d.key == key) {
            Some(def) => person.fields.custom.get(key).map(|v| field::text_of(def.kind, v)).unwrap_or_default(),
            None => values.get(key).map(value_text).filter(|t| t != "—").unwrap_or_default(),
        })
        .collect()
}

/// The form that saves the list as it is shown as a view.
#[derive(Deserialize)]
struct SaveViewForm {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    name: String,
    shared: Option<String>,
    #[serde(default)]
    filter: String,
    #[serde(default)]
    sort: String,
    #[serde(default)]
    columns: String,
}

crate::http::auth::csrf_protected!(SaveViewForm);

async fn save_view(
    State(state): State<AppState>,
    SessionForm(principal, form): SessionForm<SaveViewForm>,
) -> Result<Response, ApiError> {
    let access = field_access(&state, &principal).await?;
    let filter = match form.filter.trim() {
        "" => None,
        raw => Some(serde_json::from_str(raw).map_err(|e| ApiError::field("filter", format!("is not JSON: {e}")))?),
    };
    let spec = crate::view::ViewSpec {
        object: None,
        name: Some(form.name),
        shared: Some(form.shared.is_some()),
        filter,
        sort: Some(form.sort),
        columns: Some(form.columns.split(',').map(|c| c.trim().to_owned()).filter(|c| !c.is_empty()).collect()),
    };
    let view = crate::view::create(&state.db, &principal, (&super::LIST_TABLE, &access), spec).await?;
    Ok(Redirect::to(&format!("/people?view={}", view.id)).into_response())
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
