//! Custom fields' SQL: definitions, and the indexed copy of each record's values that filters,
//! sorts and uniqueness read. Every statement is scoped by `workspace_id`.

use rapport_core::{FieldId, Timestamp, WorkspaceId};
use rapport_db::{Db, DbError, Tx, sql};
use sqlx::types::Json;

use super::model::{CustomField, CustomKind, IndexValue, Object};

#[derive(sqlx::FromRow)]
struct Row {
    id: FieldId,
    object: String,
    key: String,
    label: String,
    kind: String,
    options: Json<Vec<String>>,
    target: Option<String>,
    required: bool,
    is_unique: bool,
    default_value: Option<Json<serde_json::Value>>,
    help: Option<String>,
    position: i64,
    retired_at: Option<Timestamp>,
    created_at: Timestamp,
    updated_at: Timestamp,
}

impl Row {
    fn field(self) -> Option<CustomField> {
        Some(CustomField {
            id: self.id,
            object: Object::parse(&self.object)?,
            key: self.key,
            label: self.label,
            kind: CustomKind::parse(&self.kind)?,
            options: self.options.0,
            target: self.target.as_deref().and_then(Object::parse),
            required: self.required,
            unique: self.is_unique,
            default: self.default_value.map(|Json(v)| v),
            help: self.help,
            position: self.position,
            retired_at: self.retired_at,
            created_at: self.created_at,
            updated_at: self.updated_at,
        })
    }
}

const COLUMNS: &str = "id, object, key, label, kind, options, target, required, is_unique, default_value, help, \
     position, retired_at, created_at, updated_at";

/// Every field of an object, retired ones included, in form order.
pub(super) async fn fields(db: &Db, workspace: WorkspaceId, object: Object) -> Result<Vec<CustomField>, DbError> {
    let sql =
        format!("SELECT {COLUMNS} FROM custom_fields WHERE workspace_id = $1 AND object = $2 ORDER BY position, id");
    let rows: Vec<Row> = sql!(db.exec(), c => sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
        .bind(workspace).bind(object.as_str()).fetch_all(c).await)?;
    Ok(rows.into_iter().filter_map(Row::field).collect())
}

pub(super) async fn find(db: &Db, workspace: WorkspaceId, id: FieldId) -> Result<Option<CustomField>, DbError> {
    let sql = format!("SELECT {COLUMNS} FROM custom_fields WHERE workspace_id = $1 AND id = $2");
    let row: Option<Row> = sql!(db.exec(), c => sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
        .bind(workspace).bind(id).fetch_optional(c).await)?;
    Ok(row.and_then(Row::field))
}

pub(super) async fn find_in(tx: &mut Tx, workspace: WorkspaceId, id: FieldId) -> Result<Option<CustomField>, DbError> {
    let sql = format!("SELECT {COLUMNS} FROM custom_fields WHERE workspace_id = $1 AND id = $2");
    let row: Option<Row> = sql!(tx.exec(), c => sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
        .bind(workspace).bind(id).fetch_optional(c).await)?;
    Ok(row.and_then(Row::field))
}

/// Binds a definition's columns as `$2`–`$13`.
macro_rules! bind_field {
    ($query:expr, $workspace:expr, $field:expr) => {
        $query
            .bind($workspace)
            .bind($field.object.as_str())
            .bind(&$field.key)
            .bind(&$field.label)
            .bind($field.kind.as_str())
            .bind(Json(&$field.options))
            .bind($field.target.map(Object::as_str))
            .bind($field.required)
            .bind($field.unique)
            .bind($field.default.as_ref().map(Json))
            .bind(&$field.help)
            .bind($field.position)
            .bind($field.retired_at)
    };
}

pub(super) async fn insert(tx: &mut Tx, workspace: WorkspaceId, field: &CustomField) -> Result<FieldId, DbError> {
    let id = sql!(tx.exec(), c => bind_field!(sqlx::query_scalar(
        "INSERT INTO custom_fields (workspace_id, object, key, label, kind, options, target, required, is_unique, \
         default_value, help, position, retired_at, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $14) RETURNING id"
    ), workspace, field).bind(field.created_at).fetch_one(c).await)?;
    Ok(id)
}

pub(super) async fn update(tx: &mut Tx, workspace: WorkspaceId, field: &CustomField) -> Result<(), DbError> {
    sql!(tx.exec(), c => bind_field!(sqlx::query(
        "UPDATE custom_fields SET object = $2, key = $3, label = $4, kind = $5, options = $6, target = $7, \
         required = $8, is_unique = $9, default_value = $10, help = $11, position = $12, retired_at = $13, \
         updated_at = $14 WHERE workspace_id = $1 AND id = $15"
    ), workspace, field).bind(field.updated_at).bind(field.id).execute(c).await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// The next position at the end of an object's form.
pub(super) async fn next_position(tx: &mut Tx, workspace: WorkspaceId, object: Object) -> Result<i64, DbError> {
    let last: Option<i64> = sql!(tx.exec(), c => sqlx::query_scalar(
        "SELECT max(position) FROM custom_fields WHERE workspace_id = $1 AND object = $2"
    ).bind(workspace).bind(object.as_str()).fetch_one(c).await)?;
    Ok(last.map_or(0, |p| p + 1))
}

/// The uniqueness key of an indexed value, computed by the database alike for new rows, the
/// check before a write and a field made unique later.
const UNIQUE_KEY: &str = "COALESCE(text_value, '') || '|' || COALESCE(CAST(number_value AS TEXT), '')";

/// Replaces a record's indexed values, one row per `(field, value)`; values of unique fields
/// get their key, and a key another record holds fails the unique index.
pub(super) async fn replace_values(
    tx: &mut Tx,
    workspace: WorkspaceId,
    (object, record): (Object, i64),
    rows: &[(FieldId, IndexValue)],
) -> Result<(), DbError> {
    remove_values(tx, workspace, (object, record)).await?;
    if rows.is_empty() {
        return Ok(());
    }
    sql!(tx.exec(), c => {
        let mut insert = sqlx::QueryBuilder::new(
            "INSERT INTO custom_values (workspace_id, field_id, object, record_id, text_value, number_value) ",
        );
        insert.push_values(rows, |mut row, (field, value)| {
            row.push_bind(workspace)
                .push_bind(*field)
                .push_bind(object.as_str())
                .push_bind(record)
                .push_bind(value.text.clone())
                .push_bind(value.number);
        });
        insert.build().execute(c).await.map(|r| r.rows_affected())
    })?;
    let sql = format!(
        "UPDATE custom_values SET unique_value = {UNIQUE_KEY} WHERE workspace_id = $1 AND object = $2 AND record_id = $3 \
         AND field_id IN (SELECT id FROM custom_fields WHERE workspace_id = $1 AND is_unique)"
    );
    sql!(tx.exec(), c => sqlx::query(sqlx::AssertSqlSafe(sql.clone())).bind(workspace).bind(object.as_str()).bind(record)
        .execute(c).await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// Rows per multi-row insert of [`insert_values`]: six values a row.
const VALUES_PER_INSERT: usize = 1000;

/// Inserts indexed values of records that have none yet and hold no unique value.
pub(super) async fn insert_values(
    tx: &mut Tx,
    workspace: WorkspaceId,
    object: Object,
    rows: &[(i64, FieldId, IndexValue)],
) -> Result<(), DbError> {
    for chunk in rows.chunks(VALUES_PER_INSERT) {
        sql!(tx.exec(), c => {
            let mut insert = sqlx::QueryBuilder::new(
                "INSERT INTO custom_values (workspace_id, field_id, object, record_id, text_value, number_value) ",
            );
            insert.push_values(chunk, |mut row, (record, field, value)| {
                row.push_bind(workspace)
                    .push_bind(*field)
                    .push_bind(object.as_str())
                    .push_bind(*record)
                    .push_bind(value.text.clone())
                    .push_bind(value.number);
            });
            insert.build().execute(c).await.map(|r| r.rows_affected())
        })?;
    }
    Ok(())
}

pub(super) async fn remove_values(
    tx: &mut Tx,
    workspace: WorkspaceId,
    (object, record): (Object, i64),
) -> Result<(), DbError> {
    sql!(tx.exec(), c => sqlx::query(
        "DELETE FROM custom_values WHERE workspace_id = $1 AND object = $2 AND record_id = $3"
    ).bind(workspace).bind(object.as_str()).bind(record).execute(c).await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// Whether another record than `record` already holds `value` in the unique field.
pub(super) async fn unique_taken(
    tx: &mut Tx,
    workspace: WorkspaceId,
    field: FieldId,
    value: &IndexValue,
    record: Option<i64>,
) -> Result<bool, DbError> {
    let sql = format!(
        "SELECT v.record_id FROM custom_values v WHERE v.workspace_id = $1 AND v.field_id = $2 \
         AND v.unique_value = (SELECT {UNIQUE_KEY} FROM (SELECT CAST($3 AS TEXT) AS text_value, \
         CAST($4 AS DOUBLE PRECISION) AS number_value) AS given) AND ($5 IS NULL OR v.record_id <> $5) LIMIT 1"
    );
    let taken: Option<i64> = sql!(tx.exec(), c => sqlx::query_scalar(sqlx::AssertSqlSafe(sql.clone()))
        .bind(workspace).bind(field).bind(value.text.as_deref()).bind(value.number).bind(record)
        .fetch_optional(c).await)?;
    Ok(taken.is_some())
}

/// How many values a field holds more than once, for making a field unique.
pub(super) async fn repeated_values(tx: &mut Tx, workspace: WorkspaceId, field: FieldId) -> Result<i64, DbError> {
    let sql = format!(
        "SELECT count(*) FROM (SELECT {UNIQUE_KEY} AS k FROM custom_values WHERE workspace_id = $1 AND field_id = $2 \
         GROUP BY k HAVING count(*) > 1) AS repeated"
    );
    let n = sql!(tx.exec(), c => sqlx::query_scalar(sqlx::AssertSqlSafe(sql.clone())).bind(workspace).bind(field).fetch_one(c).await)?;
    Ok(n)
}

/// Sets or clears the uniqueness keys of a field's existing values.
pub(super) async fn set_unique_keys(
    tx: &mut Tx,
    workspace: WorkspaceId,
    field: FieldId,
    unique: bool,
) -> Result<(), DbError> {
    let key = if unique { UNIQUE_KEY } else { "NULL" };
    let sql = format!("UPDATE custom_values SET unique_value = {key} WHERE workspace_id = $1 AND field_id = $2");
    sql!(tx.exec(), c => sqlx::query(sqlx::AssertSqlSafe(sql.clone())).bind(workspace).bind(field).execute(c).await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// Whether a live record of the workspace has this id, for relation fields.
pub(super) async fn record_exists(
    tx: &mut Tx,
    workspace: WorkspaceId,
    object: Object,
    id: i64,
) -> Result<bool, DbError> {
    let sql = match object {
        Object::Person => "SELECT id FROM people WHERE workspace_id = $1 AND id = $2 AND deleted_at IS NULL",
        Object::Company => "SELECT id FROM companies WHERE workspace_id = $1 AND id = $2 AND deleted_at IS NULL",
    };
    let found: Option<i64> =
        sql!(tx.exec(), c => sqlx::query_scalar(sql).bind(workspace).bind(id).fetch_optional(c).await)?;
    Ok(found.is_some())
}
