//! Use cases of list views: reading one page of an object's records through a filter tree and
//! a sort (the objects' own list use cases call [`page`] with the caller's reach), and saving
//! views, private or shared.

use chrono::Utc;
use rapport_core::UserId;
use rapport_db::{Db, DbError};
use serde_json::Value;

use super::model::{Cursor, Filter, FilterError, SavedView, Sort, Table, Vocabulary, parse};
use super::store::{self, Listing};
use crate::access::FieldAccess;
use crate::identity::{Action, Principal};
use crate::profile::COUNT_CAP;

#[derive(Debug, thiserror::Error)]
pub enum ViewError {
    /// The filter, sort or cursor is wrong; the message points at where.
    #[error("{0}")]
    Invalid(FilterError),
    #[error("no such view")]
    NotFound,
    #[error("{0}")]
    Forbidden(&'static str),
    #[error(transparent)]
    Db(#[from] DbError),
}

/// What a list request asks, as the API and the page send it.
#[derive(Clone, Debug, Default)]
pub struct ListSpec {
    pub trash: bool,
    /// The filter tree (`{"and": […]}` …).
    pub filter: Option<Value>,
    /// `last_name`, `-updated_at`; newest first when absent.
    pub sort: Option<String>,
    /// The `next` of the previous page.
    pub cursor: Option<String>,
    pub limit: i64,
}

/// One page: the records' ids in order, the next page's cursor, and the count (capped).
pub struct Listed {
    pub ids: Vec<i64>,
    pub next: Option<String>,
    pub count: i64,
}

/// The vocabulary a caller filters with: the table's fields and the active custom fields
/// (`custom`, the object's definitions), less those their role may not see, which filter and
/// sort as if they did not exist.
async fn vocabulary_for<'a>(
    db: &Db,
    principal: &Principal,
    table: &'a Table,
    access: &FieldAccess,
    custom: &'a [crate::field::CustomField],
) -> Result<Vocabulary<'a>, ViewError> {
    let time_zone = match crate::workspace::settings(db, principal.workspace_id).await {
        Ok(settings) => settings.time_zone,
        Err(crate::workspace::WorkspaceError::Db(err)) => return Err(err.into()),
        Err(other) => return Err(DbError::Unavailable(other.to_string()).into()),
    };
    Ok(Vocabulary {
        table,
        custom,
        me: principal.user_id.get(),
        today: Utc::now().with_timezone(&time_zone).date_naive(),
        access: access.clone(),
    })
}

/// Checks a filter and sort as the caller may use them; the saved-view and list paths share it.
fn checked(
    spec_filter: Option<&Value>,
    spec_sort: Option<&str>,
    vocabulary: &Vocabulary<'_>,
) -> Result<(Option<Filter>, Sort), ViewError> {
    let filter =
        spec_filter.filter(|f| !f.is_null()).map(|f| parse(f, vocabulary)).transpose().map_err(ViewError::Invalid)?;
    let sort = match spec_sort.filter(|s| !s.trim().is_empty()) {
        Some(raw) => Sort::parse(raw, vocabulary).map_err(ViewError::Invalid)?,
        None => Sort::newest(),
    };
    Ok((filter, sort))
}

/// One page of `table`'s records that the reach (`owners`) covers and the spec selects;
/// `custom` is the object's custom fields, which the caller has read already.
pub async fn page(
    db: &Db,
    principal: &Principal,
    (table, access, custom): (&Table, &FieldAccess, &[crate::field::CustomField]),
    owners: Option<&[UserId]>,
    spec: &ListSpec,
) -> Result<Listed, ViewError> {
    let vocabulary = vocabulary_for(db, principal, table, access, custom).await?;
    let (filter, sort) = checked(spec.filter.as_ref(), spec.sort.as_deref(), &vocabulary)?;
    let after = match spec.cursor.as_deref().filter(|c| !c.trim().is_empty()) {
        Some(raw) => Some(Cursor::decode(raw, &sort).ok_or_else(|| {
            ViewError::Invalid(FilterError {
                path: "cursor".into(),
                message: "is not a cursor of this list and sort".into(),
            })
        })?),
        None => None,
    };
    let listing = Listing {
        table,
        workspace: principal.workspace_id,
        trash: spec.trash,
        owners,
        filter: filter.as_ref(),
        sort: &sort,
    };
    let limit = spec.limit.clamp(1, 200);
    let mut found = store::page(db, &listing, after.as_ref(), limit + 1).await?;
    let next =
        crate::profile::cut_page(&mut found, limit, |f| Cursor { value: f.value.clone(), id: f.id }.encode(&sort));
    let count = store::count(db, &listing, COUNT_CAP + 1).await?;
    Ok(Listed { ids: found.into_iter().map(|f| f.id).collect(), next, count })
}

/// How many of `table`'s records the reach (`owners`) covers and the spec's filter selects,
/// without the list's cap: what a bulk action over everything matching counts before it starts.
pub async fn count(
    db: &Db,
    principal: &Principal,
    (table, access, custom): (&Table, &FieldAccess, &[crate::field::CustomField]),
    owners: Option<&[UserId]>,
    spec: &ListSpec,
) -> Result<i64, ViewError> {
    let vocabulary = vocabulary_for(db, principal, table, access, custom).await?;
    let (filter, sort) = checked(spec.filter.as_ref(), None, &vocabulary)?;
    let listing = Listing {
        table,
        workspace: principal.workspace_id,
        trash: spec.trash,
        owners,
        filter: filter.as_ref(),
        sort: &sort,
    };
    Ok(store::count(db, &listing, i64::MAX).await?)
}

/// A view as a client writes it; on update, absent members stay.
#[derive(Clone, Debug, Default, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ViewSpec {
    /// `person` or `company`; given on create.
    pub object: Option<String>,
    pub name: Option<String>,
    pub shared: Option<bool>,
    #[schema(value_type = Option<Object>)]
    pub filter: Option<Value>,
    pub sort: Option<String>,
    pub columns: Option<Vec<String>>,
}

/// The views of an object the caller sees: their own and the shared ones.
pub async fn views(db: &Db, principal: &Principal, table: &Table) -> Result<Vec<SavedView>, ViewError> {
    readable(principal, table)?;
    Ok(store::views(db, principal.workspace_id, table.object.as_str(), principal.user_id).await?)
}

fn readable(principal: &Principal, table: &Table) -> Result<(), ViewError> {
    match principal.can(table.object.module(), Action::Read) {
        Some(_) => Ok(()),
        None => Err(ViewError::Forbidden("your role may not read these records")),
    }
}

/// A view the caller sees (their own or a shared one); any other is missing.
pub async fn view(db: &Db, principal: &Principal, id: i64) -> Result<SavedView, ViewError> {
    let view = store::find_view(db, principal.workspace_id, id).await?.ok_or(ViewError::NotFound)?;
    let readable =
        crate::field::Object::parse(&view.object).is_some_and(|o| principal.can(o.module(), Action::Read).is_some());
    if readable && (view.shared || view.owner == principal.user_id.get()) { Ok(view) } else { Err(ViewError::NotFound) }
}

/// Saves a view of `table` after checking its filter and sort as the caller would use them.
pub async fn create(
    db: &Db,
    principal: &Principal,
    (table, access): (&Table, &FieldAccess),
    spec: ViewSpec,
) -> Result<SavedView, ViewError> {
    readable(principal, table)?;
    let custom = crate::field::definitions(db, principal.workspace_id, table.object).await?;
    let vocabulary = vocabulary_for(db, principal, table, access, &custom).await?;
    checked(spec.filter.as_ref(), spec.sort.as_deref(), &vocabulary)?;
    let name = named(spec.name.as_deref())?;
    let now = Utc::now();
    let mut view = SavedView {
        id: 0,
        object: table.object.as_str().to_owned(),
        name,
        owner: principal.user_id.get(),
        shared: spec.shared.unwrap_or(false),
        filter: spec.filter.filter(|f| !f.is_null()),
        sort: spec.sort.filter(|s| !s.trim().is_empty()),
        columns: columns(spec.columns.unwrap_or_default(), &vocabulary),
        created_at: now,
        updated_at: now,
    };
    let workspace = principal.workspace_id;
    let stored = view.clone();
    view.id = db.write(move |tx| Box::pin(async move { store::insert_view(tx, workspace, &stored).await })).await?;
    Ok(view)
}

/// Changes a view; only its owner may.
pub async fn update(
    db: &Db,
    principal: &Principal,
    (table, access): (&Table, &FieldAccess),
    id: i64,
    spec: ViewSpec,
) -> Result<SavedView, ViewError> {
    let mut view = owned(db, principal, id).await?;
    let custom = crate::field::definitions(db, principal.workspace_id, table.object).await?;
    let vocabulary = vocabulary_for(db, principal, table, access, &custom).await?;
    if let Some(name) = spec.name.as_deref() {
        view.name = named(Some(name))?;
    }
    if let Some(filter) = spec.filter {
        view.filter = Some(filter).filter(|f| !f.is_null());
    }
    if let Some(sort) = spec.sort {
        view.sort = Some(sort).filter(|s| !s.trim().is_empty());
    }
    checked(view.filter.as_ref(), view.sort.as_deref(), &vocabulary)?;
    if let Some(shared) = spec.shared {
        view.shared = shared;
    }
    if let Some(keys) = spec.columns {
        view.columns = columns(keys, &vocabulary);
    }
    view.updated_at = Utc::now();
    let workspace = principal.workspace_id;
    let stored = view.clone();
    db.write(move |tx| Box::pin(async move { store::update_view(tx, workspace, &stored).await })).await?;
    Ok(view)
}

pub async fn delete(db: &Db, principal: &Principal, id: i64) -> Result<(), ViewError> {
    owned(db, principal, id).await?;
    let workspace = principal.workspace_id;
    Ok(db.write(move |tx| Box::pin(async move { store::delete_view(tx, workspace, id).await })).await?)
}

/// The object a view lists.
pub async fn object_of(db: &Db, principal: &Principal, id: i64) -> Result<crate::field::Object, ViewError> {
    let view = view(db, principal, id).await?;
    crate::field::Object::parse(&view.object).ok_or(ViewError::NotFound)
}

async fn owned(db: &Db, principal: &Principal, id: i64) -> Result<SavedView, ViewError> {
    let view = view(db, principal, id).await?;
    if view.owner == principal.user_id.get() {
        Ok(view)
    } else {
        Err(ViewError::Forbidden("only its owner may change a view"))
    }
}

fn named(raw: Option<&str>) -> Result<String, ViewError> {
    let name = raw.map(str::trim).unwrap_or_default();
    if name.is_empty() || name.chars().count() > 80 {
        return Err(ViewError::Invalid(FilterError {
            path: "name".into(),
            message: "must be 1 to 80 characters".into(),
        }));
    }
    Ok(name.to_owned())
}

/// The columns kept: fields of the list, each once.
fn columns(keys: Vec<String>, vocabulary: &Vocabulary<'_>) -> Vec<String> {
    let mut kept: Vec<String> = Vec::new();
    for key in keys {
        if vocabulary.target(&key).is_some() && !kept.contains(&key) {
            kept.push(key);
        }
    }
    kept
}

/// The filter a list request's query string carries: the `filter` tree (JSON) and the
/// shorthand parameters (`lifecycle_stage=lead`, `tag=vip` …), each a condition `field op value`,
/// all of which must hold.
pub fn query_filter(raw: Option<&str>, shorthands: Vec<(&str, &str, Value)>) -> Result<Option<Value>, FilterError> {
    let mut all: Vec<Value> = Vec::new();
    if let Some(raw) = raw.filter(|r| !r.trim().is_empty()) {
        let tree = serde_json::from_str(raw)
            .map_err(|e| FilterError { path: "filter".into(), message: format!("is not JSON: {e}") })?;
        all.push(tree);
    }
    all.extend(
        shorthands.into_iter().map(|(field, op, value)| serde_json::json!({"field": field, "op": op, "value": value})),
    );
    Ok(match all.len() {
        0 => None,
        1 => all.pop(),
        _ => Some(serde_json::json!({ "and": all })),
    })
}
