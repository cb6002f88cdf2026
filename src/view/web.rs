//! What every object's list page shares: reading the page's query (a saved view, the filter
//! builder's rows or a JSON tree, shorthand parameters, the sort, the columns, the cursor)
//! into a [`ListSpec`], the controls the page shows around its rows (the builder, the sort,
//! the column choice, the saved views and the form that saves one, rendered by
//! `templates/list_controls.html`), each record's cells, and the handler that saves a view.
//! Each object's page runs its own list use case between reading and showing, so reach and
//! field rules decide as they do on the API.

use std::collections::BTreeMap;

use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{BuilderRow, ListSpec, SavedView, Table, ViewError, ViewSpec};
use crate::access::FieldAccess;
use crate::field::{self, CustomField};
use crate::http::{ApiError, FieldErrors};
use crate::identity::Principal;
use crate::profile::page::{shows, value_text};
use crate::profile::{FieldDef, count_text};
use crate::web::csrf_token;

/// A query parameter that stands for one condition: `tag=vip` is `tags has_any ["vip"]`.
pub struct Shorthand {
    pub param: &'static str,
    pub field: &'static str,
    pub op: &'static str,
}

/// One object's list page: where it lives and what it lists.
pub struct ListObject {
    /// The page's path (`/people`); saved views post to `PATH/views`.
    pub path: &'static str,
    /// What the list holds, for labels (`people`).
    pub noun: &'static str,
    pub table: &'static Table,
    /// The object's field vocabulary, for labels.
    pub vocabulary: fn() -> &'static [FieldDef],
    /// The columns shown when none were chosen.
    pub default_columns: &'static [&'static str],
    /// The shorthand parameters the page (and its export) takes.
    pub shorthands: &'static [Shorthand],
    pub export: crate::export::Object,
}

/// A list page's query string.
#[derive(Deserialize, Default)]
pub struct ListParams {
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
    /// The builder's rows (`f0`, `o0`, `v0`, `f1` …) and the shorthand parameters.
    #[serde(flatten)]
    rest: BTreeMap<String, String>,
}

impl ListParams {
    fn builder_rows(&self) -> Vec<BuilderRow> {
        (0..20)
            .map_while(|i| {
                let get = |prefix: &str| self.rest.get(&format!("{prefix}{i}")).cloned();
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

/// What a list page was asked for, resolved: a saved view's filter, sort and columns, or the
/// builder's, and the shorthand parameters on top.
pub struct ListQuery {
    object: &'static ListObject,
    builder: Vec<BuilderRow>,
    match_any: bool,
    /// The filter as JSON when the builder cannot show it.
    advanced: String,
    filter: Option<String>,
    sort: String,
    columns: String,
    shorthands: Vec<(&'static Shorthand, String)>,
    cursor: String,
}

impl ListQuery {
    /// Reads the query; a saved view must be one of this object's that the caller sees.
    pub async fn read(
        db: &rapport_db::Db,
        principal: &Principal,
        object: &'static ListObject,
        params: ListParams,
    ) -> Result<Self, ViewError> {
        let saved = match params.view.trim().parse::<i64>() {
            Ok(id) => {
                let view = super::view(db, principal, id).await?;
                if view.object != object.table.object.as_str() {
                    return Err(ViewError::NotFound);
                }
                Some(view)
            }
            Err(_) => None,
        };
        let mut builder = params.builder_rows();
        let mut match_any = params.match_any == "any";
        let (filter, sort, columns) = match saved {
            Some(view) => (view.filter, view.sort.unwrap_or_default(), view.columns.join(",")),
            None => {
                let filter = match (super::from_rows(&builder, match_any), params.filter.trim()) {
                    (Some(tree), _) => Some(tree),
                    (None, "") => None,
                    (None, raw) => serde_json::from_str(raw).ok().or(Some(Value::String(raw.to_owned()))),
                };
                (filter, params.sort, params.columns)
            }
        };
        let mut advanced = String::new();
        if let Some(tree) = &filter {
            match super::to_rows(tree) {
                Some((rows, any)) => (builder, match_any) = (rows, any),
                None => advanced = tree.to_string(),
            }
        }
        let shorthands = object
            .shorthands
            .iter()
            .filter_map(|s| Some((s, params.rest.get(s.param)?.trim().to_owned())))
            .filter(|(_, value)| !value.is_empty())
            .collect();
        Ok(Self {
            object,
            builder,
            match_any,
            advanced,
            filter: filter.as_ref().map(Value::to_string),
            sort,
            columns,
            shorthands,
            cursor: params.cursor,
        })
    }

    /// The list spec of one page of `limit` records, or the filter's problem as a reader says it.
    pub fn spec(&self, limit: i64) -> Result<ListSpec, String> {
        let shorthands = self
            .shorthands
            .iter()
            .map(|(s, value)| {
                (s.field, s.op, if s.op == "has_any" { json!([value]) } else { Value::from(value.as_str()) })
            })
            .collect();
        let filter = super::query_filter(self.filter.as_deref(), shorthands).map_err(|problem| problem.to_string())?;
        Ok(ListSpec { trash: false, filter, sort: Some(self.sort.clone()), cursor: Some(self.cursor.clone()), limit })
    }

    /// The controls and columns around a page of the list, whose next page starts at `next`;
    /// `error` is the filter's problem when the list refused it.
    pub async fn shown(
        self,
        db: &rapport_db::Db,
        principal: &Principal,
        (access, defs): (&FieldAccess, &[CustomField]),
        (count, next, error): (Option<i64>, Option<String>, Option<String>),
    ) -> Result<Shown, ViewError> {
        let object = self.object;
        let fields = list_fields(object, defs, access);
        let keys: Vec<String> = if self.columns.trim().is_empty() {
            object.default_columns.iter().map(|k| (*k).to_owned()).collect()
        } else {
            self.columns
                .split(',')
                .map(|k| k.trim().to_owned())
                .filter(|k| fields.iter().any(|f| &f.key == k))
                .collect()
        };
        let columns = keys
            .iter()
            .filter(|key| shows(access, key))
            .map(|key| {
                let label = fields.iter().find(|f| &f.key == key).map_or_else(|| key.clone(), |f| f.label.clone());
                (key.clone(), label)
            })
            .collect();
        let shorthands: Vec<(&str, &str)> =
            self.shorthands.iter().map(|(s, value)| (s.param, value.as_str())).collect();
        let filter = self.filter.clone().unwrap_or_default();
        let next = next.map(|cursor| {
            let mut query = url::form_urlencoded::Serializer::new(String::new());
            query.extend_pairs([("filter", filter.as_str()), ("sort", &self.sort), ("columns", &self.columns)]);
            query.extend_pairs(&shorthands);
            query.append_pair("cursor", &cursor);
            query.finish()
        });
        let mut exported = shorthands.clone();
        exported.extend([("filter", filter.as_str()), ("sort", self.sort.as_str())]);
        Ok(Shown {
            export_href: crate::export::web::export_href(principal, object.export, &exported),
            count: count_text(count.unwrap_or_default()),
            next,
            controls: ListControls {
                path: object.path,
                noun: object.noun,
                csrf_token: csrf_token(principal),
                fields,
                operators: ALL_OPERATORS.to_vec(),
                builder: self.builder,
                match_any: self.match_any,
                advanced: self.advanced,
                sort: self.sort,
                chosen_columns: keys.join(","),
                views: super::views(db, principal, object.table).await?,
                error,
            },
            columns,
        })
    }
}

/// What the page shows around its rows.
pub struct Shown {
    pub controls: ListControls,
    /// The columns shown, as (key, label).
    pub columns: Vec<(String, String)>,
    /// The count as the page says it (`10,000+` past the cap).
    pub count: String,
    /// The next page's query string.
    pub next: Option<String>,
    /// Where the Export button leads, for callers who may export.
    pub export_href: Option<String>,
}

impl Shown {
    /// A record's cells for the chosen columns, from its input as JSON (`fields`) with its
    /// custom values by key.
    pub fn cells(&self, fields: &Value, custom: &BTreeMap<String, Value>, defs: &[CustomField]) -> Vec<String> {
        let mut values = crate::profile::flat_values(fields.clone());
        for (key, list) in [("email", "emails"), ("phone", "phones")] {
            let primary = fields[list]
                .as_array()
                .and_then(|items| items.iter().find(|item| item["primary"] == true))
                .map_or(Value::Null, |item| item["value"].clone());
            values.insert(key.into(), primary);
        }
        self.columns
            .iter()
            .map(|(key, _)| match defs.iter().find(|d| &d.key == key) {
                Some(def) => custom.get(key).map(|v| field::text_of(def.kind, v)).unwrap_or_default(),
                None => values.get(key).map(value_text).filter(|t| t != "—").unwrap_or_default(),
            })
            .collect()
    }
}

/// A field the filter builder, the sort and the columns offer.
pub struct ListField {
    pub key: String,
    pub label: String,
    pub sortable: bool,
}

/// The filter builder, sort, columns and saved views, as `templates/list_controls.html` shows them.
pub struct ListControls {
    pub path: &'static str,
    pub noun: &'static str,
    pub csrf_token: String,
    pub fields: Vec<ListField>,
    pub operators: Vec<&'static str>,
    pub builder: Vec<BuilderRow>,
    pub match_any: bool,
    /// The filter as JSON when the builder cannot show it.
    pub advanced: String,
    pub sort: String,
    pub chosen_columns: String,
    pub views: Vec<SavedView>,
    pub error: Option<String>,
}

impl ListControls {
    /// The builder's filter as JSON, for saving the view.
    pub fn filter_text(&self) -> String {
        super::from_rows(&self.builder, self.match_any).map(|f| f.to_string()).unwrap_or_default()
    }
}

/// A list's refusal of a filter or sort, as one line the page shows above the list.
pub fn problem_text(errors: &FieldErrors) -> String {
    errors.iter().map(|(k, m)| format!("{k}: {}", m.join("; "))).collect::<Vec<_>>().join(". ")
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

/// The fields a list filters, sorts and shows, as far as the caller may see them.
fn list_fields(object: &ListObject, defs: &[CustomField], access: &FieldAccess) -> Vec<ListField> {
    let builtin = object.table.columns.iter().filter(|c| shows(access, c.key)).map(|column| ListField {
        key: column.key.to_owned(),
        label: (object.vocabulary)()
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

/// The form that saves the list as it is shown as a view.
#[derive(Deserialize)]
pub struct SaveViewForm {
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

/// Saves the list as shown as a view of `object` and opens it.
pub async fn save_view(
    db: &rapport_db::Db,
    principal: &Principal,
    object: &ListObject,
    form: SaveViewForm,
) -> Result<Response, ApiError> {
    let access = crate::access::field_access(db, principal, object.table.object.as_str()).await?;
    let filter = match form.filter.trim() {
        "" => None,
        raw => Some(serde_json::from_str(raw).map_err(|e| ApiError::field("filter", format!("is not JSON: {e}")))?),
    };
    let spec = ViewSpec {
        object: None,
        name: Some(form.name),
        shared: Some(form.shared.is_some()),
        filter,
        sort: Some(form.sort),
        columns: Some(form.columns.split(',').map(|c| c.trim().to_owned()).filter(|c| !c.is_empty()).collect()),
    };
    let view = super::create(db, principal, (object.table, &access), spec).await?;
    Ok(Redirect::to(&format!("{}?view={}", object.path, view.id)).into_response())
}
