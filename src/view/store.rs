//! List views' SQL: a checked filter tree and sort compiled into one query over an object's
//! table (`t`) and the indexed custom values, and saved views. Every statement is scoped by
//! `workspace_id`; every operand is bound, never spliced.
//!
//! A sorted list reads in two phases so that both stay index range scans: first the records
//! with a value, in value order, then those without, in id order, so empties come last in
//! either direction. The cursor says which phase and where in it the next page starts.

use chrono::{DateTime, NaiveDate, Utc};
use rapport_core::{UserId, WorkspaceId};
use rapport_db::{Backend, Db, DbError, Tx, sql};
use sqlx::types::Json;

use super::model::{Column, Cursor, FieldType, Filter, Op, Operand, SavedView, Sort, Table, Target};

/// A value bound into a query, typed as its column compares.
#[derive(Clone, Debug)]
enum Bind {
    Text(String),
    Float(f64),
    Int(i64),
    Date(NaiveDate),
    Time(DateTime<Utc>),
}

/// A query under construction: SQL text with `?` marks where binds go, in order.
#[derive(Default)]
struct Query {
    parts: Vec<(String, Option<Bind>)>,
}

impl Query {
    fn sql(&mut self, text: &str) -> &mut Self {
        self.parts.push((text.to_owned(), None));
        self
    }

    fn bind(&mut self, value: Bind) -> &mut Self {
        self.parts.push((String::new(), Some(value)));
        self
    }

    fn list(&mut self, values: Vec<Bind>) -> &mut Self {
        self.sql("(");
        for (i, value) in values.into_iter().enumerate() {
            if i > 0 {
                self.sql(", ");
            }
            self.bind(value);
        }
        self.sql(")")
    }
}

/// Pushes a [`Query`] into a `sqlx::QueryBuilder` of whichever backend the arm is for.
macro_rules! built {
    ($query:expr, $prefix:expr) => {{
        let mut builder = sqlx::QueryBuilder::new($prefix);
        for (text, bind) in &$query.parts {
            builder.push(text.as_str());
            match bind {
                None => {}
                Some(Bind::Text(v)) => {
                    builder.push_bind(v.clone());
                }
                Some(Bind::Float(v)) => {
                    builder.push_bind(*v);
                }
                Some(Bind::Int(v)) => {
                    builder.push_bind(*v);
                }
                Some(Bind::Date(v)) => {
                    builder.push_bind(*v);
                }
                Some(Bind::Time(v)) => {
                    builder.push_bind(*v);
                }
            }
        }
        builder
    }};
}

/// What one list request reads.
pub struct Listing<'a> {
    pub table: &'a Table,
    pub workspace: WorkspaceId,
    pub trash: bool,
    /// The caller's reach: only records owned by one of these members.
    pub owners: Option<&'a [UserId]>,
    pub filter: Option<&'a Filter>,
    pub sort: &'a Sort,
}

/// The conditions every page and count of a listing share.
fn conditions(backend: Backend, listing: &Listing<'_>, q: &mut Query) {
    q.sql("t.workspace_id = ").bind(Bind::Int(listing.workspace.get()));
    q.sql(if listing.trash { " AND t.deleted_at IS NOT NULL" } else { " AND t.deleted_at IS NULL" });
    if let Some(owners) = listing.owners {
        if owners.is_empty() {
            q.sql(" AND 1 = 0");
        } else {
            q.sql(" AND t.owner_id IN ").list(owners.iter().map(|o| Bind::Int(o.get())).collect());
        }
    }
    if let Some(filter) = listing.filter {
        q.sql(" AND ");
        tree(backend, listing, filter, q);
    }
}

fn tree(backend: Backend, listing: &Listing<'_>, filter: &Filter, q: &mut Query) {
    match filter {
        Filter::All(items) | Filter::Any(items) if items.is_empty() => {
            q.sql("1 = 1");
        }
        Filter::All(items) | Filter::Any(items) => {
            let joiner = if matches!(filter, Filter::All(_)) { " AND " } else { " OR " };
            q.sql("(");
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    q.sql(joiner);
                }
                tree(backend, listing, item, q);
            }
            q.sql(")");
        }
        Filter::Not(inner) => {
            q.sql("NOT (");
            tree(backend, listing, inner, q);
            q.sql(")");
        }
        Filter::Condition { target: Target::Column(column), op } => column_condition(backend, column, op, q),
        Filter::Condition { target: Target::Custom { id, numeric, .. }, op } => {
            custom_condition(listing, *id, *numeric, op, q);
        }
    }
}

/// An operand bound as `column` compares: dates and times typed, text as given.
fn typed(kind: FieldType, operand: &Operand) -> Bind {
    match (kind, operand) {
        (FieldType::Date, Operand::Text(s)) => {
            NaiveDate::parse_from_str(s, "%Y-%m-%d").map_or_else(|_| Bind::Text(s.clone()), Bind::Date)
        }
        (FieldType::DateTime, Operand::Text(s)) => DateTime::parse_from_rfc3339(s)
            .map_or_else(|_| Bind::Text(s.clone()), |t| Bind::Time(t.with_timezone(&Utc))),
        (_, Operand::Text(s)) => Bind::Text(s.clone()),
        // A whole number compares with an integer column as an integer, so the column's index
        // (the record id's, for one) serves the condition on PostgreSQL too.
        (FieldType::Number, Operand::Number(n)) if n.fract() == 0.0 && n.abs() < 9.0e15 => Bind::Int(*n as i64),
        (_, Operand::Number(n)) => Bind::Float(*n),
        (_, Operand::Int(n)) => Bind::Int(*n),
        (_, Operand::Bool(b)) => Bind::Float(if *b { 1.0 } else { 0.0 }),
    }
}

/// `%text%` for LIKE, with the pattern characters of the text itself escaped.
fn like(text: &str, prefix_only: bool) -> Bind {
    let escaped = text.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
    Bind::Text(if prefix_only { format!("{escaped}%") } else { format!("%{escaped}%") })
}

fn column_condition(backend: Backend, column: &Column, op: &Op, q: &mut Query) {
    let col = format!("t.{}", column.column);
    if column.kind == FieldType::Tags {
        return tags_condition(backend, &col, op, q);
    }
    // Free text compares without case; choices and ids are stored normalised and compare as
    // they are, so their indexes serve the filter.
    let expr = if column.kind == FieldType::Text { format!("lower({col})") } else { col.clone() };
    let bind = |operand: &Operand| typed(column.kind, operand);
    let binds = |operands: &[Operand]| operands.iter().map(|o| typed(column.kind, o)).collect::<Vec<_>>();
    match op {
        Op::Is(v) => q.sql(&format!("{expr} = ")).bind(bind(v)),
        Op::IsNot(v) => q.sql(&format!("({col} IS NULL OR {expr} <> ")).bind(bind(v)).sql(")"),
        Op::In(vs) | Op::HasAny(vs) => q.sql(&format!("{expr} IN ")).list(binds(vs)),
        Op::NotIn(vs) | Op::HasNone(vs) => q.sql(&format!("({col} IS NULL OR {expr} NOT IN ")).list(binds(vs)).sql(")"),
        Op::HasAll(vs) => q.sql(&format!("{expr} IN ")).list(binds(vs)),
        Op::Contains(s) => q.sql(&format!("{expr} LIKE ")).bind(like(s, false)).sql(" ESCAPE '\\'"),
        Op::NotContains(s) => {
            q.sql(&format!("({col} IS NULL OR {expr} NOT LIKE ")).bind(like(s, false)).sql(" ESCAPE '\\')")
        }
        Op::StartsWith(s) => q.sql(&format!("{expr} LIKE ")).bind(like(s, true)).sql(" ESCAPE '\\'"),
        Op::Lt(v) => q.sql(&format!("{col} < ")).bind(bind(v)),
        Op::Lte(v) => q.sql(&format!("{col} <= ")).bind(bind(v)),
        Op::Gt(v) => q.sql(&format!("{col} > ")).bind(bind(v)),
        Op::Gte(v) => q.sql(&format!("{col} >= ")).bind(bind(v)),
        Op::Between(low, high) => {
            q.sql(&format!("{col} >= ")).bind(bind(low)).sql(&format!(" AND {col} <= ")).bind(bind(high))
        }
        Op::IsEmpty if column.kind == FieldType::Text => q.sql(&format!("({col} IS NULL OR {col} = '')")),
        Op::IsNotEmpty if column.kind == FieldType::Text => q.sql(&format!("({col} IS NOT NULL AND {col} <> '')")),
        Op::IsEmpty => q.sql(&format!("{col} IS NULL")),
        Op::IsNotEmpty => q.sql(&format!("{col} IS NOT NULL")),
    };
}

/// Tags live in a JSON list on the row: SQLite walks it with `json_each`, PostgreSQL with
/// `jsonb_array_elements_text`.
fn tags_condition(backend: Backend, col: &str, op: &Op, q: &mut Query) {
    let any = |q: &mut Query, values: &[Operand]| {
        let binds = values.iter().map(|v| typed(FieldType::Tags, v)).collect();
        match backend {
            Backend::Sqlite => {
                q.sql(&format!("EXISTS (SELECT 1 FROM json_each({col}) WHERE lower(json_each.value) IN "))
            }
            Backend::Postgres => {
                q.sql(&format!("EXISTS (SELECT 1 FROM jsonb_array_elements_text({col}) AS tag WHERE lower(tag) IN "))
            }
        };
        q.list(binds).sql(")");
    };
    let length = match backend {
        Backend::Sqlite => format!("json_array_length({col})"),
        Backend::Postgres => format!("jsonb_array_length({col})"),
    };
    match op {
        Op::HasAny(vs) | Op::In(vs) => any(q, vs),
        Op::HasNone(vs) | Op::NotIn(vs) => {
            q.sql("NOT ");
            any(q, vs);
        }
        Op::HasAll(vs) => {
            q.sql("(");
            for (i, v) in vs.iter().enumerate() {
                if i > 0 {
                    q.sql(" AND ");
                }
                any(q, std::slice::from_ref(v));
            }
            q.sql(")");
        }
        Op::IsNotEmpty => {
            q.sql(&format!("{length} > 0"));
        }
        Op::IsEmpty => {
            q.sql(&format!("{length} = 0"));
        }
        // The parse gives tags no other operator.
        _ => {
            q.sql("1 = 0");
        }
    }
}

/// A custom field's condition: the record's id among (or not among) those whose indexed value
/// matches, an index range of `custom_values`.
fn custom_condition(listing: &Listing<'_>, field: i64, numeric: bool, op: &Op, q: &mut Query) {
    let value = if numeric { "number_value" } else { "text_value" };
    let bind = |operand: &Operand| typed(FieldType::Text, operand);
    let matching = |q: &mut Query, negated: bool, condition: &dyn Fn(&mut Query)| {
        q.sql(if negated { "t.id NOT IN (" } else { "t.id IN (" });
        q.sql("SELECT record_id FROM custom_values WHERE workspace_id = ").bind(Bind::Int(listing.workspace.get()));
        q.sql(" AND field_id = ").bind(Bind::Int(field));
        condition(q);
        q.sql(")");
    };
    match op {
        Op::Is(v) => matching(q, false, &|q| {
            q.sql(&format!(" AND {value} = ")).bind(bind(v));
        }),
        Op::IsNot(v) => matching(q, true, &|q| {
            q.sql(&format!(" AND {value} = ")).bind(bind(v));
        }),
        Op::In(vs) | Op::HasAny(vs) => matching(q, false, &|q| {
            q.sql(&format!(" AND {value} IN ")).list(vs.iter().map(bind).collect());
        }),
        Op::NotIn(vs) | Op::HasNone(vs) => matching(q, true, &|q| {
            q.sql(&format!(" AND {value} IN ")).list(vs.iter().map(bind).collect());
        }),
        Op::HasAll(vs) => {
            q.sql("(");
            for (i, v) in vs.iter().enumerate() {
                if i > 0 {
                    q.sql(" AND ");
                }
                matching(q, false, &|q| {
                    q.sql(&format!(" AND {value} = ")).bind(bind(v));
                });
            }
            q.sql(")");
        }
        Op::Contains(s) => matching(q, false, &|q| {
            q.sql(&format!(" AND {value} LIKE ")).bind(like(s, false)).sql(" ESCAPE '\\'");
        }),
        Op::NotContains(s) => matching(q, true, &|q| {
            q.sql(&format!(" AND {value} LIKE ")).bind(like(s, false)).sql(" ESCAPE '\\'");
        }),
        Op::StartsWith(s) => matching(q, false, &|q| {
            q.sql(&format!(" AND {value} LIKE ")).bind(like(s, true)).sql(" ESCAPE '\\'");
        }),
        Op::Lt(v) => matching(q, false, &|q| {
            q.sql(&format!(" AND {value} < ")).bind(bind(v));
        }),
        Op::Lte(v) => matching(q, false, &|q| {
            q.sql(&format!(" AND {value} <= ")).bind(bind(v));
        }),
        Op::Gt(v) => matching(q, false, &|q| {
            q.sql(&format!(" AND {value} > ")).bind(bind(v));
        }),
        Op::Gte(v) => matching(q, false, &|q| {
            q.sql(&format!(" AND {value} >= ")).bind(bind(v));
        }),
        Op::Between(low, high) => matching(q, false, &|q| {
            q.sql(&format!(" AND {value} >= ")).bind(bind(low)).sql(&format!(" AND {value} <= ")).bind(bind(high));
        }),
        Op::IsEmpty => matching(q, true, &|_| {}),
        Op::IsNotEmpty => matching(q, false, &|_| {}),
    }
}

/// One row of a page: the record's id and its sort value (for the next cursor).
pub struct Found {
    pub id: i64,
    pub value: Option<Operand>,
}

/// How the sort key is selected and compared in one phase.
struct SortSql {
    /// The value expression, or `None` for the id order.
    value: Option<String>,
    /// The value as selected: numbers as floating point, whatever the column's integer type.
    selected: String,
    /// The custom field whose indexed values are joined in to sort by.
    join: Option<i64>,
    kind: FieldType,
    numeric: bool,
}

fn sort_sql(sort: &Sort) -> SortSql {
    match &sort.target {
        None => SortSql { value: None, selected: String::new(), join: None, kind: FieldType::Number, numeric: true },
        Some(Target::Column(column)) => SortSql {
            value: Some(format!("t.{}", column.column)),
            selected: if column.kind == FieldType::Number {
                format!("CAST(t.{} AS DOUBLE PRECISION)", column.column)
            } else {
                format!("t.{}", column.column)
            },
            join: None,
            kind: column.kind,
            numeric: column.kind == FieldType::Number,
        },
        Some(Target::Custom { id, numeric, .. }) => {
            let column = if *numeric { "number_value" } else { "text_value" };
            SortSql {
                value: Some(format!("cv.{column}")),
                selected: format!("cv.{column}"),
                join: Some(*id),
                kind: FieldType::Text,
                numeric: *numeric,
            }
        }
    }
}

/// Up to `limit` records of the listing after `after`, in the sort's order.
pub async fn page(db: &Db, listing: &Listing<'_>, after: Option<&Cursor>, limit: i64) -> Result<Vec<Found>, DbError> {
    let backend = db.backend();
    let sort = sort_sql(listing.sort);
    let dir = if listing.sort.descending { "DESC" } else { "ASC" };
    let (cmp, id_cmp) = if listing.sort.descending { ("<", "<") } else { (">", ">") };
    let Some(value) = &sort.value else {
        let mut q = Query::default();
        q.sql("SELECT t.id FROM ").sql(listing.table.name).sql(" t WHERE ");
        conditions(backend, listing, &mut q);
        if let Some(cursor) = after {
            q.sql(&format!(" AND t.id {id_cmp} ")).bind(Bind::Int(cursor.id));
        }
        q.sql(&format!(" ORDER BY t.id {dir} LIMIT ")).bind(Bind::Int(limit));
        let ids: Vec<i64> = sql!(db.exec(), c => built!(q, "").build_query_scalar().fetch_all(c).await)?;
        return Ok(ids.into_iter().map(|id| Found { id, value: None }).collect());
    };
    let mut found = Vec::new();
    let in_empties = after.is_some_and(|c| c.value.is_none());
    if !in_empties {
        let mut q = Query::default();
        q.sql(&format!("SELECT t.id, {} AS sort_value FROM ", sort.selected)).sql(listing.table.name).sql(" t");
        if let Some(field) = sort.join {
            q.sql(
                " JOIN custom_values cv ON cv.workspace_id = t.workspace_id AND cv.record_id = t.id AND cv.field_id = ",
            )
            .bind(Bind::Int(field));
        }
        q.sql(" WHERE ");
        conditions(backend, listing, &mut q);
        q.sql(&format!(" AND {value} IS NOT NULL"));
        if let Some(Cursor { value: Some(at), id }) = after {
            let at = typed(sort.kind, at);
            q.sql(&format!(" AND ({value} {cmp} ")).bind(at.clone());
            q.sql(&format!(" OR ({value} = "))
                .bind(at)
                .sql(&format!(" AND t.id {id_cmp} "))
                .bind(Bind::Int(*id))
                .sql("))");
        }
        q.sql(&format!(" ORDER BY {value} {dir}, t.id {dir} LIMIT ")).bind(Bind::Int(limit));
        found = fetch_sorted(db, &q, &sort).await?;
    }
    let left = limit - i64::try_from(found.len()).unwrap_or(limit);
    if left > 0 {
        let mut q = Query::default();
        q.sql("SELECT t.id FROM ").sql(listing.table.name).sql(" t WHERE ");
        conditions(backend, listing, &mut q);
        match sort.join {
            Some(field) => {
                q.sql(" AND t.id NOT IN (SELECT record_id FROM custom_values WHERE workspace_id = ")
                    .bind(Bind::Int(listing.workspace.get()))
                    .sql(" AND field_id = ")
                    .bind(Bind::Int(field))
                    .sql(")");
            }
            None => {
                q.sql(&format!(" AND {value} IS NULL"));
            }
        }
        if let Some(cursor) = after.filter(|c| c.value.is_none()) {
            q.sql(&format!(" AND t.id {id_cmp} ")).bind(Bind::Int(cursor.id));
        }
        q.sql(&format!(" ORDER BY t.id {dir} LIMIT ")).bind(Bind::Int(left));
        let ids: Vec<i64> = sql!(db.exec(), c => built!(q, "").build_query_scalar().fetch_all(c).await)?;
        found.extend(ids.into_iter().map(|id| Found { id, value: None }));
    }
    Ok(found)
}

/// The sorted phase's rows, their values read back as the sort compares them.
async fn fetch_sorted(db: &Db, q: &Query, sort: &SortSql) -> Result<Vec<Found>, DbError> {
    let found = match (sort.kind, sort.numeric) {
        (_, true) => {
            let rows: Vec<(i64, f64)> = sql!(db.exec(), c => built!(q, "").build_query_as().fetch_all(c).await)?;
            rows.into_iter().map(|(id, v)| Found { id, value: Some(Operand::Number(v)) }).collect()
        }
        (FieldType::Date, false) => {
            let rows: Vec<(i64, NaiveDate)> = sql!(db.exec(), c => built!(q, "").build_query_as().fetch_all(c).await)?;
            rows.into_iter()
                .map(|(id, v)| Found { id, value: Some(Operand::Text(v.format("%Y-%m-%d").to_string())) })
                .collect()
        }
        (FieldType::DateTime, false) => {
            let rows: Vec<(i64, DateTime<Utc>)> =
                sql!(db.exec(), c => built!(q, "").build_query_as().fetch_all(c).await)?;
            rows.into_iter().map(|(id, v)| Found { id, value: Some(Operand::Text(v.to_rfc3339())) }).collect()
        }
        _ => {
            let rows: Vec<(i64, String)> = sql!(db.exec(), c => built!(q, "").build_query_as().fetch_all(c).await)?;
            rows.into_iter().map(|(id, v)| Found { id, value: Some(Operand::Text(v)) }).collect()
        }
    };
    Ok(found)
}

/// How many records the listing holds, counted no further than `cap`.
pub async fn count(db: &Db, listing: &Listing<'_>, cap: i64) -> Result<i64, DbError> {
    let mut q = Query::default();
    q.sql("SELECT count(*) FROM (SELECT 1 FROM ").sql(listing.table.name).sql(" t WHERE ");
    conditions(db.backend(), listing, &mut q);
    q.sql(" LIMIT ").bind(Bind::Int(cap)).sql(") AS capped");
    let n: i64 = sql!(db.exec(), c => built!(q, "").build_query_scalar().fetch_one(c).await)?;
    Ok(n)
}

#[derive(sqlx::FromRow)]
struct ViewRow {
    id: i64,
    object: String,
    name: String,
    owner_id: i64,
    shared: bool,
    filter: Option<Json<serde_json::Value>>,
    sort: Option<String>,
    columns: Json<Vec<String>>,
    created_at: rapport_core::Timestamp,
    updated_at: rapport_core::Timestamp,
}

impl From<ViewRow> for SavedView {
    fn from(row: ViewRow) -> Self {
        Self {
            id: row.id,
            object: row.object,
            name: row.name,
            owner: row.owner_id,
            shared: row.shared,
            filter: row.filter.map(|Json(f)| f),
            sort: row.sort,
            columns: row.columns.0,
            created_at: row.created_at,
            updated_at: row.updated_at,
        }
    }
}

const VIEW_COLUMNS: &str = "id, object, name, owner_id, shared, filter, sort, columns, created_at, updated_at";

/// The views of an object a user sees: their own and the shared ones.
pub async fn views(db: &Db, workspace: WorkspaceId, object: &str, user: UserId) -> Result<Vec<SavedView>, DbError> {
    let sql = format!(
        "SELECT {VIEW_COLUMNS} FROM saved_views WHERE workspace_id = $1 AND object = $2 AND (owner_id = $3 OR shared) \
         ORDER BY name, id"
    );
    let rows: Vec<ViewRow> = sql!(db.exec(), c => sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
        .bind(workspace).bind(object).bind(user).fetch_all(c).await)?;
    Ok(rows.into_iter().map(SavedView::from).collect())
}

pub async fn find_view(db: &Db, workspace: WorkspaceId, id: i64) -> Result<Option<SavedView>, DbError> {
    let sql = format!("SELECT {VIEW_COLUMNS} FROM saved_views WHERE workspace_id = $1 AND id = $2");
    let row: Option<ViewRow> = sql!(db.exec(), c => sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
        .bind(workspace).bind(id).fetch_optional(c).await)?;
    Ok(row.map(SavedView::from))
}

pub async fn insert_view(tx: &mut Tx, workspace: WorkspaceId, view: &SavedView) -> Result<i64, DbError> {
    let id = sql!(tx.exec(), c => sqlx::query_scalar(
        "INSERT INTO saved_views (workspace_id, object, name, owner_id, shared, filter, sort, columns, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9) RETURNING id"
    ).bind(workspace).bind(&view.object).bind(&view.name).bind(view.owner).bind(view.shared)
     .bind(view.filter.as_ref().map(Json)).bind(&view.sort).bind(Json(&view.columns)).bind(view.created_at)
     .fetch_one(c).await)?;
    Ok(id)
}

pub async fn update_view(tx: &mut Tx, workspace: WorkspaceId, view: &SavedView) -> Result<(), DbError> {
    sql!(tx.exec(), c => sqlx::query(
        "UPDATE saved_views SET name = $3, shared = $4, filter = $5, sort = $6, columns = $7, updated_at = $8 \
         WHERE workspace_id = $1 AND id = $2"
    ).bind(workspace).bind(view.id).bind(&view.name).bind(view.shared).bind(view.filter.as_ref().map(Json))
     .bind(&view.sort).bind(Json(&view.columns)).bind(view.updated_at).execute(c).await.map(|r| r.rows_affected()))?;
    Ok(())
}

pub async fn delete_view(tx: &mut Tx, workspace: WorkspaceId, id: i64) -> Result<(), DbError> {
    sql!(tx.exec(), c => sqlx::query("DELETE FROM saved_views WHERE workspace_id = $1 AND id = $2")
        .bind(workspace).bind(id).execute(c).await.map(|r| r.rows_affected()))?;
    Ok(())
}
