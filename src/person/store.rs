//! The person module's SQL. Every statement is scoped by `workspace_id`.

use chrono::NaiveDate;
use rapport_core::{PersonId, Timestamp, UserId, WorkspaceId};
use rapport_db::{Backend, Db, DbError, Tx, sql};
use sqlx::types::Json;

use super::model::{NewPerson, Person, PersonInput};
use crate::profile::{AddressInput, LabelledInput};

const COLUMNS: &str = "id, first_name, last_name, emails, phones, birthday, street, street2, city, region, postal_code, \
     country, language, time_zone, currency, lifecycle_stage, owner_id, source, tags, social, external_id, version, \
     created_at, updated_at, deleted_at";

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
    version: i64,
    created_at: Timestamp,
    updated_at: Timestamp,
    deleted_at: Option<Timestamp>,
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
            },
            version: row.version,
            created_at: row.created_at,
            updated_at: row.updated_at,
            deleted_at: row.deleted_at,
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

/// Binds `$1` the workspace, `$2`–`$24` the person's fields in [`FIELD_COLUMNS`] order and
/// `$25` the time, for both the insert and the update.
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
            .bind($now)
    }};
}

const FIELD_COLUMNS: [&str; 23] = [
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
];

pub(super) async fn insert(
    tx: &mut Tx,
    workspace: WorkspaceId,
    person: &NewPerson,
    now: Timestamp,
) -> Result<PersonId, DbError> {
    let params: Vec<String> = (2..=24).map(|n| format!("${n}")).collect();
    let sql = format!(
        "INSERT INTO people (workspace_id, {}, created_at, updated_at) VALUES ($1, {}, $25, $25) RETURNING id",
        FIELD_COLUMNS.join(", "),
        params.join(", ")
    );
    let input = person.to_input();
    let id = sql!(tx.exec(), c => bind_person!(sqlx::query_scalar(sqlx::AssertSqlSafe(sql.clone())), workspace, person, input, now)
        .fetch_one(c).await)?;
    Ok(id)
}

/// Rows per INSERT of [`insert_many`]: 25 values a row stays well under SQLite's limit of
/// 32,766 bound values.
const PEOPLE_PER_INSERT: usize = 500;

/// Inserts many people with multi-row statements; every chunk of the same size reuses one
/// prepared statement. Returns how many were inserted.
pub(super) async fn insert_many(
    tx: &mut Tx,
    workspace: WorkspaceId,
    people: &[NewPerson],
    now: Timestamp,
) -> Result<u64, DbError> {
    let mut inserted = 0;
    for chunk in people.chunks(PEOPLE_PER_INSERT) {
        let inputs: Vec<_> = chunk.iter().map(NewPerson::to_input).collect();
        inserted += sql!(tx.exec(), c => {
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
                    .push_bind(now)
                    .push_bind(now);
            });
            insert.build().execute(c).await.map(|r| r.rows_affected())
        })?;
    }
    Ok(inserted)
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
        "UPDATE people SET {}, updated_at = $25, version = version + 1 WHERE workspace_id = $1 AND id = $26",
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

/// Deletes for good everyone trashed before `cutoff`, in every workspace; returns them.
pub(super) async fn purge(tx: &mut Tx, cutoff: Timestamp) -> Result<Vec<(WorkspaceId, PersonId)>, DbError> {
    let rows = sql!(tx.exec(), c => sqlx::query_as(
        "DELETE FROM people WHERE deleted_at IS NOT NULL AND deleted_at < $1 RETURNING workspace_id, id"
    ).bind(cutoff).fetch_all(c).await)?;
    Ok(rows)
}

/// Which people a list shows; `None` fields do not filter.
pub(super) struct Filter<'a> {
    pub trash: bool,
    pub lifecycle_stage: Option<&'a str>,
    pub owner: Option<i64>,
    pub tag: Option<&'a str>,
    /// The caller's reach: only people owned by one of these members (`people_owner` index).
    pub owners: Option<&'a [UserId]>,
}

/// The conditions of [`Filter`] on `$1`–`$5`, and the reach's owners from `$first_owner` on.
/// Only the tag test differs: SQLite looks inside the JSON list with `json_each`, PostgreSQL
/// asks `jsonb` containment.
fn filter_sql(backend: Backend, filter: &Filter<'_>, first_owner: usize) -> String {
    let tag = match backend {
        Backend::Sqlite => "EXISTS (SELECT 1 FROM json_each(people.tags) WHERE json_each.value = $5)",
        Backend::Postgres => "tags @> jsonb_build_array($5::text)",
    };
    let reach = filter.owners.map_or_else(String::new, |owners| {
        let placeholders: Vec<String> = (first_owner..first_owner + owners.len()).map(|n| format!("${n}")).collect();
        format!(" AND owner_id IN ({})", placeholders.join(", "))
    });
    // An absent filter is written as `$n IS NULL` (always true) rather than folded into an
    // `OR`: a planner cannot use an index on a column tested as `($n IS NULL OR col = $n)`, and
    // would sort the whole workspace for every page.
    let stage = if filter.lifecycle_stage.is_some() { "lifecycle_stage = $3" } else { "$3 IS NULL" };
    let owner = if filter.owner.is_some() { "owner_id = $4" } else { "$4 IS NULL" };
    let tag = if filter.tag.is_some() { tag } else { "$5 IS NULL" };
    let trash = if filter.trash { "deleted_at IS NOT NULL AND $2" } else { "deleted_at IS NULL AND NOT $2" };
    format!("workspace_id = $1 AND {trash} AND {stage} AND {owner} AND {tag}{reach}")
}

/// Binds a [`Filter`]'s `$1`–`$5`, then `$6`, `$7` as given (`extra`), then the reach's owners.
macro_rules! bind_filter {
    ($query:expr, $workspace:expr, $filter:expr, $($extra:expr),*) => {{
        let mut query = $query
            .bind($workspace)
            .bind($filter.trash)
            .bind($filter.lifecycle_stage)
            .bind($filter.owner)
            .bind($filter.tag)
            $(.bind($extra))*;
        for owner in $filter.owners.unwrap_or_default() {
            query = query.bind(*owner);
        }
        query
    }};
}

/// One page of matching people, newest first, after the cursor id.
pub(super) async fn page(
    db: &Db,
    workspace: WorkspaceId,
    filter: &Filter<'_>,
    after: Option<PersonId>,
    limit: i64,
) -> Result<Vec<Person>, DbError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM people WHERE {} AND {} ORDER BY id DESC LIMIT $7",
        filter_sql(db.backend(), filter, 8),
        if after.is_some() { "id < $6" } else { "$6 IS NULL" }
    );
    let rows: Vec<Row> = sql!(db.exec(), c => bind_filter!(sqlx::query_as(sqlx::AssertSqlSafe(sql.clone())), workspace, filter, after, limit)
        .fetch_all(c).await)?;
    Ok(rows.into_iter().map(Person::from).collect())
}

/// How many people match, counted no further than `cap` so no request counts millions.
pub(super) async fn count(db: &Db, workspace: WorkspaceId, filter: &Filter<'_>, cap: i64) -> Result<i64, DbError> {
    let sql = format!(
        "SELECT count(*) FROM (SELECT 1 FROM people WHERE {} LIMIT $6) AS capped",
        filter_sql(db.backend(), filter, 7)
    );
    let n = sql!(db.exec(), c => bind_filter!(sqlx::query_scalar(sqlx::AssertSqlSafe(sql.clone())), workspace, filter, cap)
        .fetch_one(c).await)?;
    Ok(n)
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
