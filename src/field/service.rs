//! Use cases on custom fields: defining, changing, retiring them (admins of the object's
//! module), and, for the objects that carry them, checking a record's values and keeping their
//! indexed copy in the record's own transaction.

use std::collections::BTreeMap;

use chrono::Utc;
use rapport_core::{FieldId, WorkspaceId};
use rapport_db::{Db, DbError, Tx};
use serde_json::{Value, json};

use super::model::{CustomField, CustomKind, FieldSpec, Object, Stored, ValueContext, check, index_values, valid_key};
use super::store;
use crate::audit::{AuditAction, AuditEntry};
use crate::http::FieldErrors;
use crate::identity::{Action, Principal};

#[derive(Debug, thiserror::Error)]
pub enum FieldError {
    #[error("some fields are invalid")]
    Invalid(FieldErrors),
    #[error("no such field")]
    NotFound,
    #[error("{0}")]
    Forbidden(&'static str),
    #[error(transparent)]
    Db(#[from] DbError),
}

/// The keys no custom field may take: the built-in vocabulary of either object and the members
/// every record's JSON carries.
fn reserved(object: Object, key: &str) -> bool {
    let builtin: Vec<&str> = match object {
        Object::Person => crate::person::fields().iter().map(|f| f.key).collect(),
        Object::Company => crate::company::fields().iter().map(|f| f.key).collect(),
    };
    const MEMBERS: [&str; 9] =
        ["id", "version", "created_at", "updated_at", "deleted_at", "address", "companies", "segments", "custom"];
    MEMBERS.contains(&key) || builtin.iter().any(|b| *b == key || b.split('.').next() == Some(key))
}

/// Every field of `object`, retired ones included, for anyone who may read its records.
pub async fn list(db: &Db, principal: &Principal, object: Object) -> Result<Vec<CustomField>, FieldError> {
    if principal.can(object.module(), Action::Read).is_none() {
        return Err(FieldError::Forbidden("your role may not read these records"));
    }
    Ok(store::fields(db, principal.workspace_id, object).await?)
}

/// One field, for anyone who may read its object's records; otherwise it does not exist.
pub async fn find(db: &Db, principal: &Principal, id: FieldId) -> Result<CustomField, FieldError> {
    let found = store::find(db, principal.workspace_id, id).await?;
    found.filter(|f| principal.can(f.object.module(), Action::Read).is_some()).ok_or(FieldError::NotFound)
}

/// The definitions a record's values are read and checked by, without a permission check: the
/// record's own use case has made that.
pub async fn definitions(db: &Db, workspace: WorkspaceId, object: Object) -> Result<Vec<CustomField>, DbError> {
    store::fields(db, workspace, object).await
}

fn admin(principal: &Principal, object: Object) -> Result<(), FieldError> {
    match principal.can(object.module(), Action::Admin) {
        Some(_) => Ok(()),
        None => Err(FieldError::Forbidden("only administrators of these records may change their fields")),
    }
}

/// Defines a new field at the end of the object's form.
pub async fn create(
    db: &Db,
    principal: &Principal,
    object: Object,
    spec: FieldSpec,
) -> Result<CustomField, FieldError> {
    admin(principal, object)?;
    let workspace = principal.workspace_id;
    let ctx = context(db, workspace).await?;
    let actor = principal.actor();
    db.write(move |tx| {
        Box::pin(async move {
            let now = Utc::now();
            let blank = CustomField {
                id: FieldId::new(0),
                object,
                key: String::new(),
                label: String::new(),
                kind: CustomKind::Text,
                options: Vec::new(),
                target: None,
                required: false,
                unique: false,
                default: None,
                help: None,
                position: store::next_position(tx, workspace, object).await?,
                retired_at: None,
                created_at: now,
                updated_at: now,
            };
            let mut field = apply(blank, &spec, true, ctx)?;
            field.id = store::insert(tx, workspace, &field).await.map_err(key_taken)?;
            audit(tx, workspace, &actor, &field, AuditAction::Create, None).await?;
            Ok(field)
        })
    })
    .await
}

/// Changes a field: label, key (values stay, they are kept by id), options, flags, retirement.
/// The kind and target are fixed once created: existing values were checked against them.
pub async fn update(db: &Db, principal: &Principal, id: FieldId, spec: FieldSpec) -> Result<CustomField, FieldError> {
    let workspace = principal.workspace_id;
    let ctx = context(db, workspace).await?;
    let actor = principal.actor();
    let principal = principal.clone();
    db.write(move |tx| {
        Box::pin(async move {
            let before = store::find_in(tx, workspace, id).await?.ok_or(FieldError::NotFound)?;
            if principal.can(before.object.module(), Action::Read).is_none() {
                return Err(FieldError::NotFound);
            }
            admin(&principal, before.object)?;
            let mut field = apply(before.clone(), &spec, false, ctx)?;
            if field.unique && !before.unique {
                if store::repeated_values(tx, workspace, id).await? > 0 {
                    return Err(invalid("unique", "some records share a value of this field; make them differ first"));
                }
                store::set_unique_keys(tx, workspace, id, true).await?;
            } else if !field.unique && before.unique {
                store::set_unique_keys(tx, workspace, id, false).await?;
            }
            field.updated_at = Utc::now();
            store::update(tx, workspace, &field).await.map_err(key_taken)?;
            audit(tx, workspace, &actor, &field, AuditAction::Update, Some(&before)).await?;
            Ok(field)
        })
    })
    .await
}

/// `spec` applied to `field`; on create every required member must be there.
fn apply(
    mut field: CustomField,
    spec: &FieldSpec,
    creating: bool,
    ctx: ValueContext,
) -> Result<CustomField, FieldError> {
    let mut errors = FieldErrors::new();
    let mut bad = |key: &str, message: String| errors.entry(key.to_owned()).or_default().push(message);
    if let Some(key) = &spec.key {
        let key = key.trim();
        if !valid_key(key) {
            bad("key", "must start with a lower-case letter and hold only a-z, 0-9 and _ (at most 63)".into());
        } else if reserved(field.object, key) {
            bad("key", format!("{key} is a built-in field"));
        }
        field.key = key.to_owned();
    } else if creating {
        bad("key", "is required".into());
    }
    if let Some(label) = &spec.label {
        field.label = label.trim().to_owned();
    }
    if field.label.is_empty() {
        if creating && spec.label.is_none() {
            field.label = field.key.replace('_', " ");
        } else {
            bad("label", "is required".into());
        }
    }
    match (&spec.kind, creating) {
        (Some(raw), true) => match CustomKind::parse(raw) {
            Some(kind) => field.kind = kind,
            None => {
                let kinds: Vec<&str> = CustomKind::ALL.iter().map(|k| k.as_str()).collect();
                bad("kind", format!("must be one of {}", kinds.join(", ")));
            }
        },
        (Some(raw), false) if raw != field.kind.as_str() => bad("kind", "cannot change once created".into()),
        (None, true) => bad("kind", "is required".into()),
        _ => {}
    }
    match (&spec.target, creating) {
        (Some(raw), true) => field.target = Object::parse(raw),
        (Some(raw), false) if Object::parse(raw) != field.target => bad("target", "cannot change once created".into()),
        _ => {}
    }
    if field.kind == CustomKind::Relation && field.target.is_none() {
        bad("target", "a relation needs a target: person or company".into());
    }
    if let Some(options) = &spec.options {
        let mut kept: Vec<String> = Vec::new();
        for option in options.iter().map(|o| o.trim()).filter(|o| !o.is_empty()) {
            if !kept.iter().any(|k| k.eq_ignore_ascii_case(option)) {
                kept.push(option.to_owned());
            }
        }
        field.options = kept;
    }
    if matches!(field.kind, CustomKind::Select | CustomKind::MultiSelect) && field.options.is_empty() {
        bad("options", "a select needs at least one option".into());
    }
    field.required = spec.required.unwrap_or(field.required);
    field.unique = spec.unique.unwrap_or(field.unique);
    if field.unique && (field.kind.many() || matches!(field.kind, CustomKind::Boolean | CustomKind::LongText)) {
        bad("unique", format!("a {} field cannot be unique", field.kind.label().to_lowercase()));
    }
    if let Some(help) = &spec.help {
        field.help = Some(help.trim().to_owned()).filter(|h| !h.is_empty());
    }
    if let Some(position) = spec.position {
        field.position = position;
    }
    if let Some(retired) = spec.retired {
        field.retired_at = match (retired, field.retired_at) {
            (true, None) => Some(Utc::now()),
            (true, at) => at,
            (false, _) => None,
        };
    }
    if let Some(default) = &spec.default {
        field.default = default.clone().filter(|v| !v.is_null());
    }
    if let Some(default) = field.default.clone() {
        match check(&field, &default, ctx) {
            Ok(value) => field.default = Some(value),
            Err(message) => bad("default", message),
        }
    }
    if errors.is_empty() { Ok(field) } else { Err(FieldError::Invalid(errors)) }
}

fn invalid(key: &str, message: &str) -> FieldError {
    FieldError::Invalid(FieldErrors::from([(key.to_owned(), vec![message.to_owned()])]))
}

fn key_taken(err: DbError) -> FieldError {
    if err.is_unique("custom_fields", "key", "custom_fields_key") {
        return invalid("key", "another field of this object has this key");
    }
    FieldError::Db(err)
}

async fn audit(
    tx: &mut Tx,
    workspace: WorkspaceId,
    actor: &rapport_core::Actor,
    field: &CustomField,
    action: AuditAction,
    before: Option<&CustomField>,
) -> Result<(), DbError> {
    let as_json = |f: Option<&CustomField>| f.map_or(Value::Null, |f| serde_json::to_value(f).unwrap_or(Value::Null));
    let (old, new) = (as_json(before), as_json(Some(field)));
    let changes: Vec<_> = [
        "key",
        "label",
        "kind",
        "options",
        "target",
        "required",
        "unique",
        "default",
        "help",
        "position",
        "retired_at",
    ]
    .into_iter()
    .filter_map(|key| {
        let get = |v: &Value| v.get(key).cloned().unwrap_or(Value::Null);
        rapport_core::FieldChange::between(key, get(&old), get(&new))
    })
    .collect();
    let entry = AuditEntry {
        workspace,
        actor,
        request_id: None,
        entity: "custom_field",
        entity_id: field.id.get(),
        action,
        changes: &changes,
    };
    crate::audit::record(tx, &entry).await
}

/// A record's custom values by key, as the API shows them: active fields only.
pub fn named(defs: &[CustomField], stored: &Stored) -> BTreeMap<String, Value> {
    defs.iter()
        .filter(|f| f.active())
        .filter_map(|f| stored.get(&f.id.to_string()).map(|v| (f.key.clone(), super::model::shown(f.kind, v))))
        .collect()
}

/// Checks the custom values a client sent (`input`, by key; `null` clears) on top of what the
/// record stored (`before`, `None` for a new record, which also gets the defaults) and answers
/// the new stored values, or every bad key. Retired fields' values are kept as they were.
pub fn checked(
    defs: &[CustomField],
    input: &BTreeMap<String, Value>,
    before: Option<&Stored>,
    ctx: ValueContext,
) -> Result<Stored, FieldErrors> {
    let mut errors = FieldErrors::new();
    let mut stored = before.cloned().unwrap_or_default();
    for (key, value) in input {
        match defs.iter().find(|f| &f.key == key) {
            None => errors.entry(key.clone()).or_default().push("is not a field of this object".into()),
            Some(field) if !field.active() => errors.entry(key.clone()).or_default().push("is retired".into()),
            Some(field) => {
                let empty = match value {
                    Value::Null => true,
                    Value::String(s) => s.trim().is_empty(),
                    Value::Array(items) => items.is_empty(),
                    _ => false,
                };
                if empty {
                    stored.remove(&field.id.to_string());
                    continue;
                }
                match check(field, value, ctx) {
                    Ok(value) => {
                        stored.insert(field.id.to_string(), value);
                    }
                    Err(message) => errors.entry(key.clone()).or_default().push(message),
                }
            }
        }
    }
    for field in defs.iter().filter(|f| f.active()) {
        let id = field.id.to_string();
        if let (None, false, Some(default)) = (before, input.contains_key(&field.key), &field.default) {
            stored.insert(id.clone(), default.clone());
        }
        let touched = before.is_none() || input.contains_key(&field.key);
        if field.required && touched && !stored.contains_key(&id) && !errors.contains_key(&field.key) {
            errors.entry(field.key.clone()).or_default().push("is required".into());
        }
    }
    if errors.is_empty() { Ok(stored) } else { Err(errors) }
}

/// A record's built-in fields and custom values checked together, so one answer names every
/// bad field of either.
pub fn together<T>(
    builtin: Result<T, FieldErrors>,
    custom: Result<Stored, FieldErrors>,
) -> Result<(T, Stored), FieldErrors> {
    match (builtin, custom) {
        (Ok(record), Ok(custom)) => Ok((record, custom)),
        (Err(mut errors), Err(more)) => {
            errors.extend(more);
            Err(errors)
        }
        (Err(errors), _) | (_, Err(errors)) => Err(errors),
    }
}

/// Writes a record's indexed values in its transaction, after checking that relations point
/// at live records and that unique values are not another record's.
pub async fn index(
    tx: &mut Tx,
    workspace: WorkspaceId,
    (object, record): (Object, i64),
    defs: &[CustomField],
    stored: &Stored,
) -> Result<Result<(), FieldErrors>, DbError> {
    if defs.is_empty() {
        return Ok(Ok(()));
    }
    let mut errors = FieldErrors::new();
    let mut rows = Vec::new();
    for field in defs {
        let Some(value) = stored.get(&field.id.to_string()) else { continue };
        if let (CustomKind::Relation, Some(target), Some(id), true) =
            (field.kind, field.target, value.as_i64(), field.active())
            && !store::record_exists(tx, workspace, target, id).await?
        {
            errors.entry(field.key.clone()).or_default().push(format!("no {} has id {id}", target.as_str()));
        }
        for indexed in index_values(field.kind, value) {
            if field.unique
                && field.active()
                && store::unique_taken(tx, workspace, field.id, &indexed, Some(record)).await?
            {
                errors.entry(field.key.clone()).or_default().push("is taken by another record".into());
            }
            rows.push((field.id, indexed));
        }
    }
    if !errors.is_empty() {
        return Ok(Err(errors));
    }
    match store::replace_values(tx, workspace, (object, record), &rows).await {
        Err(err) if err.is_unique("custom_values", "unique_value", "custom_values_unique") => Ok(Err(
            FieldErrors::from([("custom".into(), vec!["a unique value was taken meanwhile; try again".into()])]),
        )),
        other => other.map(Ok),
    }
}

/// Writes the indexed values of many records created in the caller's transaction, which have
/// none yet: with multi-row inserts, except for records holding a unique or relation value,
/// which are checked one at a time as [`index`] checks them. A record refused that way is
/// answered by its position.
pub async fn index_many(
    tx: &mut Tx,
    workspace: WorkspaceId,
    object: Object,
    defs: &[CustomField],
    records: &[(i64, &Stored)],
) -> Result<Result<(), (usize, FieldErrors)>, DbError> {
    if defs.is_empty() {
        return Ok(Ok(()));
    }
    let checked = |field: &CustomField| field.active() && (field.unique || field.kind == CustomKind::Relation);
    let mut rows = Vec::new();
    for (place, (record, stored)) in records.iter().enumerate() {
        let needs_check = defs.iter().any(|field| checked(field) && stored.contains_key(&field.id.to_string()));
        if needs_check {
            if let Err(errors) = index(tx, workspace, (object, *record), defs, stored).await? {
                return Ok(Err((place, errors)));
            }
            continue;
        }
        for field in defs {
            let Some(value) = stored.get(&field.id.to_string()) else { continue };
            rows.extend(index_values(field.kind, value).into_iter().map(|indexed| (*record, field.id, indexed)));
        }
    }
    store::insert_values(tx, workspace, object, &rows).await?;
    Ok(Ok(()))
}

/// Forgets a purged record's indexed values.
pub async fn unindex(tx: &mut Tx, workspace: WorkspaceId, record: (Object, i64)) -> Result<(), DbError> {
    store::remove_values(tx, workspace, record).await
}

/// The context a workspace's values are checked in.
pub async fn context(db: &Db, workspace: WorkspaceId) -> Result<ValueContext, DbError> {
    match crate::workspace::settings(db, workspace).await {
        Ok(settings) => Ok(ValueContext { region: settings.country, currency: settings.default_currency }),
        Err(crate::workspace::WorkspaceError::Db(err)) => Err(err),
        Err(other) => Err(DbError::Unavailable(other.to_string())),
    }
}

/// A definition as the API shows it, with `retired` spelled out.
pub fn view(field: &CustomField) -> Value {
    let mut value = serde_json::to_value(field).unwrap_or(Value::Null);
    if let Value::Object(map) = &mut value {
        map.insert("retired".into(), json!(!field.active()));
    }
    value
}

/// What an update asks of the custom values: the keys whose value differs from `before` (both
/// by key), with `null` for those the update removed. Unchanged values are left out, so a
/// field made required later does not block changes to other fields of older records.
pub fn changed_values(before: &BTreeMap<String, Value>, after: &BTreeMap<String, Value>) -> BTreeMap<String, Value> {
    let mut changed: BTreeMap<String, Value> = after
        .iter()
        .filter(|(key, value)| before.get(*key) != Some(value))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    changed.extend(before.keys().filter(|key| !after.contains_key(*key)).map(|key| (key.clone(), Value::Null)));
    changed
}

/// A record's custom values the caller may see, as (label, text) for its page, in form order.
pub fn shown_values(
    defs: &[CustomField],
    values: &BTreeMap<String, Value>,
    access: &crate::access::FieldAccess,
) -> Vec<(String, String)> {
    defs.iter()
        .filter(|def| def.active() && access.visible(&def.key))
        .filter_map(|def| Some((def.label.clone(), super::model::text_of(def.kind, values.get(&def.key)?))))
        .collect()
}

/// How a form asks for a field's value: the input type and, for a select, its choices.
pub fn input_kind(field: &CustomField) -> (&'static str, Vec<String>) {
    match field.kind {
        CustomKind::LongText => ("textarea", Vec::new()),
        CustomKind::Select => ("select", field.options.clone()),
        CustomKind::Boolean => ("select", vec!["true".into(), "false".into()]),
        CustomKind::Number | CustomKind::Relation => ("number", Vec::new()),
        CustomKind::Date => ("date", Vec::new()),
        CustomKind::Url => ("url", Vec::new()),
        CustomKind::Email => ("email", Vec::new()),
        CustomKind::Phone => ("tel", Vec::new()),
        _ => ("text", Vec::new()),
    }
}
