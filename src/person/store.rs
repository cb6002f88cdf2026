//! The person module's SQL. Every statement is scoped by `workspace_id`.

use chrono::NaiveDate;
use rapport_core::{PersonId, Timestamp, WorkspaceId};
use rapport_db::{Db, DbError, Tx, sql};
use sqlx::types::Json;

use super::model::{NewPerson, Person, PersonInput};
use crate::field::Object;
use crate::profile::{AddressInput, LabelledInput};
use crate::view::{Column, FieldType, Table};

const COLUMNS: &str = "id, first_name, last_name, emails, phones, birthday, street, street2, city, region, postal_code, \
     country, language, time_zone, currency, lifecycle_stage, owner_id, source, tags, social, external_id, custom, \
     version, created_at, updated_at, deleted_at, merged_into";

#[derive(sqlx::FromRow)]
struct Row {
    id: PersonId,
    first_name: Option<String>,
    last_name: Option<String>,
    emails: Json<Vec<LabelledInput>>,
    phones: Json<Vec<LabelledInput>>,
    birthday: Option<NaiveDate>,
    street: Option<String>,
    street2: Option<String>,
    city: Option<String>,
    region: Option<String>,
    postal_code: Option<String>,
    country: Option<String>,
    language: Option<String>,
    time_zone: Option<String>,
    currency: Option<String>,
    lifecycle_stage: Option<String>,
    owner_id: Option<i64>,
    source: Option<String>,
    tags: Json<Vec<String>>,
    social: Json<std::collections::BTreeMap<String, String>>,
    external_id: Option<String>,
    custom: Json<crate::field::Stored>,
    version: i64,
    created_at: Timestamp,
    updated_at: Timestamp,
    deleted_at: Option<Timestamp>,
    merged_into: Option<PersonId>,
}

impl From<Row> for Person {
    fn from(row: Row) -> Self {
        Self {
            id: row.id,
            fields: PersonInput {
                first_name: row.first_name,
                last_name: row.last_name,
                email: None,
                phone: None,
                emails: row.emails.0,
                phones: row.phones.0,
                birthday: row.birthday.map(|d| d.format("%Y-%m-%d").to_string()),
                address: AddressInput {
                    street: row.street,
                    street2: row.street2,
                    city: row.city,
                    region: row.region,
                    postal_code: row.postal_code,
                    country: row.country,
                },
                language: row.language,
                time_zone: row.time_zone,
                currency: row.currency,
                lifecycle_stage: row.lifecycle_stage,
                owner: row.owner_id,
                source: row.source,
                tags: row.tags.0,
                social: row.social.0,
                external_id: row.external_id,
                custom: std::collections::BTreeMap::new(),
            },
            custom: row.custom.0,
            version: row.version,
            created_at: row.created_at,
            updated_at: row.updated_at,
            deleted_at: row.deleted_at,
            merged_into: row.merged_into,
        }
    }
}

/// A person by id, in the trash or not.
pub(super) async fn find(db: &Db, workspace: WorkspaceId, id: PersonId) -> Result<Option<Person>, DbError> {
    let sql = format!("SELECT {COLUMNS} FROM people WHERE workspace_id = $1 AND id = $2");
    let row: Option<Row> = sql!(db.exec(), c => sqlx::query_as(sqlx::AssertSqlSafe(sql.clone())).bind(workspace).bind(id).fetch_optional(c).await)?;
    Ok(row.map(Person::from))
}

/// The same inside a write, so a check and the update that follows see one version.
pub(super) async fn find_in(tx: &mut Tx, workspace: WorkspaceId, id: PersonId) -> Result<Option<Person>, DbError> {
    let sql = format!("SELECT {COLUMNS} FROM people WHERE workspace_id = $1 AND id = $2");
    let row: Option<Row> = sql!(tx.exec(), c => sqlx::query_as(sqlx::AssertSqlSafe(sql.clone())).bind(workspace).bind(id).fetch_optional(c).await)?;
    Ok(row.map(Person::from))
}

/// Binds `$1` the workspace, `$2`–`$25` the person's fields in [`FIELD_COLUMNS`] order and
/// `$26` the time, for both the insert and the update.
macro_rules! bind_person {
    ($query:expr, $workspace:expr, $person:expr, $input:expr, $now:expr) => {{
        let a = &$input.address;
        $query
            .bind($workspace)
            .bind(&$input.first_name)
            .bind(&$input.last_name)
            .bind($person.primary_email().map(|e| e.as_str()))
            .bind($person.primary_email().map(|e| e.canonical()))
            .bind($person.primary_phone().map(|p| p.as_e164()))
            .bind(Json(&$input.emails))
            .bind(Json(&$input.phones))
            .bind($person.birthday)
            .bind(&a.street)
            .bind(&a.street2)
            .bind(&a.city)
            .bind(&a.region)
            .bind(&a.postal_code)
            .bind(&a.country)
            .bind(&$input.language)
            .bind(&$input.time_zone)
            .bind(&$input.currency)
            .bind(&$input.lifecycle_stage)
            .bind($input.owner)
            .bind(&$input.source)
            .bind(Json(&$input.tags))
            .bind(Json(&$input.social))
            .bind(&$input.external_id)
            .bind(Json(&$person.custom))
            .bind($now)
    }};
}

const FIELD_COLUMNS: [&str; 24] = [
    "first_name",
    "last_name",
    "email",
    "email_canonical",
    "phone",
    "emails",
    "phones",
    "birthday",
    "street",
    "street2",
    "city",
    "region",
    "postal_code",
    "country",
    "language",
    "time_zone",
    "currency",
    "lifecycle_stage",
    "owner_id",
    "source",
    "tags",
    "social",
    "external_id",
    "custom",
];

pub(super) async fn insert(
    tx: &mut Tx,
    workspace: WorkspaceId,
    person: &NewPerson,
    now: Timestamp,
) -> Result<PersonId, DbError> {
    let params: Vec<String> = (2..=25).map(|n| format!("${n}")).collect();
    let sql = format!(
        "INSERT INTO people (workspace_id, {}, created_at, updated_at) VALUES ($1, {}, $26, $26) RETURNING id",
        FIELD_COLUMNS.join(", "),
        params.join(", ")
    );
    let input = person.to_input();
    let id = sql!(tx.exec(), c => bind_person!(sqlx::query_scalar(sqlx::AssertSqlSafe(sql.clone())), workspace, person, input, now)
        .fetch_one(c).await)?;
    Ok(id)
}

/// Rows per INSERT of [`insert_many`]: 26 values a row stays well under SQLite's limit of
/// 32,766 bound values.
const PEOPLE_PER_INSERT: usize = 500;

/// Inserts many people with multi-row statements; every chunk of the same size reuses one
/// prepared statement. Returns the people as stored.
pub(super) async fn insert_many(
    tx: &mut Tx,
    workspace: WorkspaceId,
    people: &[NewPerson],
    now: Timestamp,
) -> Result<Vec<Person>, DbError> {
    let mut inserted = Vec::with_capacity(people.len());
    for chunk in people.chunks(PEOPLE_PER_INSERT) {
        let inputs: Vec<_> = chunk.iter().map(NewPerson::to_input).collect();
        let rows: Vec<Row> = sql!(tx.exec(), c => {
            let mut insert = sqlx::QueryBuilder::new(format!(
                "INSERT INTO people (workspace_id, {}, created_at, updated_at) ",
                FIELD_COLUMNS.join(", ")
            ));
            insert.push_values(chunk.iter().zip(&inputs), |mut row, (person, input)| {
                let a = &input.address;
                row.push_bind(workspace)
                    .push_bind(input.first_name.clone())
                    .push_bind(input.last_name.clone())
                    .push_bind(person.primary_email().map(|e| e.as_str().to_owned()))
                    .push_bind(person.primary_email().map(|e| e.canonical()))
                    .push_bind(person.primary_phone().map(|p| p.as_e164().to_owned()))
                    .push_bind(Json(input.emails.clone()))
                    .push_bind(Json(input.phones.clone()))
                    .push_bind(person.birthday)
                    .push_bind(a.street.clone())
                    .push_bind(a.street2.clone())
                    .push_bind(a.city.clone())
                    .push_bind(a.region.clone())
                    .push_bind(a.postal_code.clone())
                    .push_bind(a.country.clone())
                    .push_bind(input.language.clone())
                    .push_bind(input.time_zone.clone())
                    .push_bind(input.currency.clone())
                    .push_bind(input.lifecycle_stage.clone())
                    .push_bind(input.owner)
                    .push_bind(input.source.clone())
                    .push_bind(Json(input.tags.clone()))
                    .push_bind(Json(input.social.clone()))
                    .push_bind(input.external_id.clone())
                    .push_bind(Json(person.custom.clone()))
                    .push_bind(now)
                    .push_bind(now);
            });
            insert.push(format!(" RETURNING {COLUMNS}"));
            insert.build_query_as().fetch_all(c).await
        })?;
        inserted.extend(rows.into_iter().map(Person::from));
    }
    Ok(inserted)
}

#[derive(sqlx::FromRow)]
struct InWorkspace {
    workspace_id: WorkspaceId,
    #[sqlx(flatten)]
    row: Row,
}

/// Up to `limit` people not in the trash after `after` in id order, in any workspace.
pub(super) async fn live_after(
    db: &Db,
    after: Option<PersonId>,
    limit: i64,
) -> Result<Vec<(WorkspaceId, Person)>, DbError> {
    let sql =
        format!("SELECT workspace_id, {COLUMNS} FROM people WHERE id > $1 AND deleted_at IS NULL ORDER BY id LIMIT $2");
    let rows: Vec<InWorkspace> = sql!(db.exec(), c => sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
        .bind(after.map_or(0, PersonId::get))
        .bind(limit)
        .fetch_all(c)
        .await)?;
    Ok(rows.into_iter().map(|found| (found.workspace_id, Person::from(found.row))).collect())
}

/// Replaces every field and moves the version on.
pub(super) async fn update(
    tx: &mut Tx,
    workspace: WorkspaceId,
    id: PersonId,
    person: &NewPerson,
    now: Timestamp,
) -> Result<(), DbError> {
    let sets: Vec<String> = FIELD_COLUMNS.iter().zip(2..).map(|(column, n)| format!("{column} = ${n}")).collect();
    let sql = format!(
        "UPDATE people SET {}, updated_at = $26, version = version + 1 WHERE workspace_id = $1 AND id = $27",
        sets.join(", ")
    );
    let input = person.to_input();
    sql!(tx.exec(), c => bind_person!(sqlx::query(sqlx::AssertSqlSafe(sql.clone())), workspace, person, input, now)
        .bind(id).execute(c).await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// Moves a person into (`Some`) or out of (`None`) the trash.
pub(super) async fn set_deleted(
    tx: &mut Tx,
    workspace: WorkspaceId,
    id: PersonId,
    deleted_at: Option<Timestamp>,
    now: Timestamp,
) -> Result<(), DbError> {
    sql!(tx.exec(), c => sqlx::query(
        "UPDATE people SET deleted_at = $3, updated_at = $4, version = version + 1 WHERE workspace_id = $1 AND id = $2"
    ).bind(workspace).bind(id).bind(deleted_at).bind(now).execute(c).await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// Marks a person as merged into `into` and trashed at `at`, or (both `None`) takes them back
/// out of a merge.
pub(super) async fn set_merged(
    tx: &mut Tx,
    workspace: WorkspaceId,
    id: PersonId,
    (into, at): (Option<PersonId>, Option<Timestamp>),
    now: Timestamp,
) -> Result<(), DbError> {
    sql!(tx.exec(), c => sqlx::query(
        "UPDATE people SET merged_into = $3, deleted_at = $4, updated_at = $5, version = version + 1 \
         WHERE workspace_id = $1 AND id = $2"
    ).bind(workspace).bind(id).bind(into).bind(at).bind(now).execute(c).await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// Sets or clears a person's external id alone: a merge hands it to the survivor, its undo
/// gives it back.
pub(super) async fn set_external_id(
    tx: &mut Tx,
    workspace: WorkspaceId,
    id: PersonId,
    external_id: Option<&str>,
) -> Result<(), DbError> {
    sql!(tx.exec(), c => sqlx::query("UPDATE people SET external_id = $3 WHERE workspace_id = $1 AND id = $2")
        .bind(workspace).bind(id).bind(external_id).execute(c).await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// Deletes for good everyone trashed before `cutoff`, in every workspace; returns them.
pub(super) async fn purge(tx: &mut Tx, cutoff: Timestamp) -> Result<Vec<(WorkspaceId, PersonId)>, DbError> {
    let rows = sql!(tx.exec(), c => sqlx::query_as(
        "DELETE FROM people WHERE deleted_at IS NOT NULL AND deleted_at < $1 RETURNING workspace_id, id"
    ).bind(cutoff).fetch_all(c).await)?;
    Ok(rows)
}

/// What people lists filter and sort on, by vocabulary key.
pub static LIST_TABLE: Table = Table {
    name: "people",
    object: Object::Person,
    columns: &[
        Column { key: "id", column: "id", kind: FieldType::Number, sortable: false },
        Column { key: "first_name", column: "first_name", kind: FieldType::Text, sortable: true },
        Column { key: "last_name", column: "last_name", kind: FieldType::Text, sortable: true },
        Column { key: "email", column: "email_canonical", kind: FieldType::Text, sortable: false },
        Column { key: "phone", column: "phone", kind: FieldType::Text, sortable: false },
        Column { key: "birthday", column: "birthday", kind: FieldType::Date, sortable: false },
        Column { key: "address.street", column: "street", kind: FieldType::Text, sortable: false },
        Column { key: "address.city", column: "city", kind: FieldType::Text, sortable: false },
        Column { key: "address.region", column: "region", kind: FieldType::Text, sortable: false },
        Column { key: "address.postal_code", column: "postal_code", kind: FieldType::Text, sortable: false },
        Column { key: "address.country", column: "country", kind: FieldType::Choice, sortable: false },
        Column { key: "language", column: "language", kind: FieldType::Text, sortable: false },
        Column { key: "time_zone", column: "time_zone", kind: FieldType::Text, sortable: false },
        Column { key: "currency", column: "currency", kind: FieldType::Choice, sortable: false },
        Column { key: "lifecycle_stage", column: "lifecycle_stage", kind: FieldType::Choice, sortable: false },
        Column { key: "owner", column: "owner_id", kind: FieldType::User, sortable: false },
        Column { key: "source", column: "source", kind: FieldType::Text, sortable: false },
        Column { key: "tags", column: "tags", kind: FieldType::Tags, sortable: false },
        Column { key: "external_id", column: "external_id", kind: FieldType::Text, sortable: false },
        Column { key: "created_at", column: "created_at", kind: FieldType::DateTime, sortable: false },
        Column { key: "updated_at", column: "updated_at", kind: FieldType::DateTime, sortable: true },
    ],
};

/// The people with these ids, in the order given (a list page's order).
pub(super) async fn by_ids(db: &Db, workspace: WorkspaceId, ids: &[i64]) -> Result<Vec<Person>, DbError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let rows: Vec<Row> = sql!(db.exec(), c => {
        let mut select = sqlx::QueryBuilder::new(format!("SELECT {COLUMNS} FROM people WHERE workspace_id = "));
        select.push_bind(workspace).push(" AND id IN (");
        let mut list = select.separated(", ");
        for id in ids {
            list.push_bind(*id);
        }
        select.push(")");
        select.build_query_as().fetch_all(c).await
    })?;
    let mut people: Vec<Person> = rows.into_iter().map(Person::from).collect();
    people.sort_by_key(|p| ids.iter().position(|id| *id == p.id.get()));
    Ok(people)
}

/// How many people the workspace holds, the trash included.
pub(super) async fn count_all(db: &Db, workspace: WorkspaceId) -> Result<i64, DbError> {
    let n = sql!(db.exec(), c => sqlx::query_scalar("SELECT count(*) FROM people WHERE workspace_id = $1")
        .bind(workspace).fetch_one(c).await)?;
    Ok(n)
}

/// Every external id set in the workspace.
pub(super) async fn external_ids(db: &Db, workspace: WorkspaceId) -> Result<Vec<String>, DbError> {
    let ids = sql!(db.exec(), c => sqlx::query_scalar(
        "SELECT external_id FROM people WHERE workspace_id = $1 AND external_id IS NOT NULL"
    ).bind(workspace).fetch_all(c).await)?;
    Ok(ids)
}

/// The people (in the trash too) whose `column` holds one of `keys`, with the key each matched.
pub(super) async fn by_column(
    tx: &mut Tx,
    workspace: WorkspaceId,
    column: &'static str,
    keys: &[String],
) -> Result<Vec<(String, Person)>, DbError> {
    #[derive(sqlx::FromRow)]
    struct Keyed {
        matched: String,
        #[sqlx(flatten)]
        row: Row,
    }
    let mut found = Vec::new();
    for chunk in keys.chunks(PEOPLE_PER_INSERT) {
        let rows: Vec<Keyed> = sql!(tx.exec(), c => {
            let mut select = sqlx::QueryBuilder::new(format!(
                "SELECT {column} AS matched, {COLUMNS} FROM people WHERE workspace_id = "
            ));
            select.push_bind(workspace).push(format!(" AND {column} IN ("));
            let mut list = select.separated(", ");
            for key in chunk {
                list.push_bind(key.clone());
            }
            select.push(")");
            select.build_query_as().fetch_all(c).await
        })?;
        found.extend(rows.into_iter().map(|keyed| (keyed.matched, Person::from(keyed.row))));
    }
    Ok(found)
}

/// Refreshes PostgreSQL's statistics of the people table, so that a table growing fast inside
/// one long import keeps being read through its indexes (planned against the statistics of an
/// empty table, a key lookup scans the whole table). SQLite plans by its indexes without them.
pub(super) async fn refresh_statistics(tx: &mut Tx) -> Result<(), DbError> {
    if tx.backend() == rapport_db::Backend::Postgres {
        sql!(tx.exec(), c => sqlx::query("ANALYZE people").execute(c).await.map(|r| r.rows_affected()))?;
    }
    Ok(())
}

/// Deletes one person for good; false when there was none.
pub(super) async fn erase(tx: &mut Tx, workspace: WorkspaceId, id: PersonId) -> Result<bool, DbError> {
    let gone = sql!(tx.exec(), c => sqlx::query("DELETE FROM people WHERE workspace_id = $1 AND id = $2")
        .bind(workspace).bind(id).execute(c).await.map(|r| r.rows_affected()))?;
    Ok(gone == 1)
}

/// The oldest live person whose `column` (the canonical email or the external id) is `key`.
pub(super) async fn live_id_by(
    db: &Db,
    workspace: WorkspaceId,
    column: &'static str,
    key: &str,
) -> Result<Option<PersonId>, DbError> {
    let sql = format!(
        "SELECT id FROM people WHERE workspace_id = $1 AND {column} = $2 AND deleted_at IS NULL ORDER BY id LIMIT 1"
    );
    let id = sql!(db.exec(), c => sqlx::query_scalar(sqlx::AssertSqlSafe(sql.clone())).bind(workspace).bind(key).fetch_optional(c).await)?;
    Ok(id)
}
