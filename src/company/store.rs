//! The company module's SQL: companies and the links between people and companies. Every
//! statement is scoped by `workspace_id`.

use rapport_core::{CompanyId, PersonId, Timestamp, WorkspaceId};
use rapport_db::{Backend, Db, DbError, Tx, sql};
use sqlx::types::Json;

use super::model::{Company, CompanyInput, Link, NewCompany};
use crate::profile::{AddressInput, LabelledInput};

const COLUMNS: &str = "id, name, domain, emails, phones, street, street2, city, region, postal_code, country, \
     industry, employees, lifecycle_stage, owner_id, source, tags, social, external_id, version, created_at, \
     updated_at, deleted_at";

#[derive(sqlx::FromRow)]
struct Row {
    id: CompanyId,
    name: String,
    domain: Option<String>,
    emails: Json<Vec<LabelledInput>>,
    phones: Json<Vec<LabelledInput>>,
    street: Option<String>,
    street2: Option<String>,
    city: Option<String>,
    region: Option<String>,
    postal_code: Option<String>,
    country: Option<String>,
    industry: Option<String>,
    employees: Option<i64>,
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

impl From<Row> for Company {
    fn from(row: Row) -> Self {
        Self {
            id: row.id,
            fields: CompanyInput {
                name: Some(row.name),
                domain: row.domain,
                email: None,
                phone: None,
                emails: row.emails.0,
                phones: row.phones.0,
                address: AddressInput {
                    street: row.street,
                    street2: row.street2,
                    city: row.city,
                    region: row.region,
                    postal_code: row.postal_code,
                    country: row.country,
                },
                industry: row.industry,
                employees: row.employees,
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

/// A company by id, in the trash or not.
pub(super) async fn find(db: &Db, workspace: WorkspaceId, id: CompanyId) -> Result<Option<Company>, DbError> {
    let sql = format!("SELECT {COLUMNS} FROM companies WHERE workspace_id = $1 AND id = $2");
    let row: Option<Row> = sql!(db.exec(), c => sqlx::query_as(sqlx::AssertSqlSafe(sql.clone())).bind(workspace).bind(id).fetch_optional(c).await)?;
    Ok(row.map(Company::from))
}

/// The same inside a write, so a check and the update that follows see one version.
pub(super) async fn find_in(tx: &mut Tx, workspace: WorkspaceId, id: CompanyId) -> Result<Option<Company>, DbError> {
    let sql = format!("SELECT {COLUMNS} FROM companies WHERE workspace_id = $1 AND id = $2");
    let row: Option<Row> = sql!(tx.exec(), c => sqlx::query_as(sqlx::AssertSqlSafe(sql.clone())).bind(workspace).bind(id).fetch_optional(c).await)?;
    Ok(row.map(Company::from))
}

/// Binds `$1` the workspace, `$2`–`$20` the company's fields in [`FIELD_COLUMNS`] order and
/// `$21` the time, for both the insert and the update.
macro_rules! bind_company {
    ($query:expr, $workspace:expr, $company:expr, $input:expr, $now:expr) => {{
        let a = &$input.address;
        $query
            .bind($workspace)
            .bind(&$company.name)
            .bind(&$input.domain)
            .bind(Json(&$input.emails))
            .bind(Json(&$input.phones))
            .bind(&a.street)
            .bind(&a.street2)
            .bind(&a.city)
            .bind(&a.region)
            .bind(&a.postal_code)
            .bind(&a.country)
            .bind(&$input.industry)
            .bind($input.employees)
            .bind(&$input.lifecycle_stage)
            .bind($input.owner)
            .bind(&$input.source)
            .bind(Json(&$input.tags))
            .bind(Json(&$input.social))
            .bind(&$input.external_id)
            .bind($now)
    }};
}

const FIELD_COLUMNS: [&str; 18] = [
    "name",
    "domain",
    "emails",
    "phones",
    "street",
    "street2",
    "city",
    "region",
    "postal_code",
    "country",
    "industry",
    "employees",
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
    company: &NewCompany,
    now: Timestamp,
) -> Result<CompanyId, DbError> {
    let params: Vec<String> = (2..=19).map(|n| format!("${n}")).collect();
    let sql = format!(
        "INSERT INTO companies (workspace_id, {}, created_at, updated_at) VALUES ($1, {}, $20, $20) RETURNING id",
        FIELD_COLUMNS.join(", "),
        params.join(", ")
    );
    let input = company.to_input();
    let id = sql!(tx.exec(), c => bind_company!(sqlx::query_scalar(sqlx::AssertSqlSafe(sql.clone())), workspace, company, input, now)
        .fetch_one(c).await)?;
    Ok(id)
}

/// Replaces every field and moves the version on.
pub(super) async fn update(
    tx: &mut Tx,
    workspace: WorkspaceId,
    id: CompanyId,
    company: &NewCompany,
    now: Timestamp,
) -> Result<(), DbError> {
    let sets: Vec<String> = FIELD_COLUMNS.iter().zip(2..).map(|(column, n)| format!("{column} = ${n}")).collect();
    let sql = format!(
        "UPDATE companies SET {}, updated_at = $20, version = version + 1 WHERE workspace_id = $1 AND id = $21",
        sets.join(", ")
    );
    let input = company.to_input();
    sql!(tx.exec(), c => bind_company!(sqlx::query(sqlx::AssertSqlSafe(sql.clone())), workspace, company, input, now)
        .bind(id).execute(c).await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// Moves a company into (`Some`) or out of (`None`) the trash.
pub(super) async fn set_deleted(
    tx: &mut Tx,
    workspace: WorkspaceId,
    id: CompanyId,
    deleted_at: Option<Timestamp>,
    now: Timestamp,
) -> Result<(), DbError> {
    sql!(tx.exec(), c => sqlx::query(
        "UPDATE companies SET deleted_at = $3, updated_at = $4, version = version + 1 WHERE workspace_id = $1 AND id = $2"
    ).bind(workspace).bind(id).bind(deleted_at).bind(now).execute(c).await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// Deletes for good every company trashed before `cutoff`, in every workspace; returns them.
pub(super) async fn purge(tx: &mut Tx, cutoff: Timestamp) -> Result<Vec<(WorkspaceId, CompanyId)>, DbError> {
    let rows = sql!(tx.exec(), c => sqlx::query_as(
        "DELETE FROM companies WHERE deleted_at IS NOT NULL AND deleted_at < $1 RETURNING workspace_id, id"
    ).bind(cutoff).fetch_all(c).await)?;
    Ok(rows)
}

/// Which companies a list shows; `None` fields do not filter.
pub(super) struct Filter<'a> {
    pub trash: bool,
    pub domain: Option<&'a str>,
    pub owner: Option<i64>,
    pub tag: Option<&'a str>,
}

/// The conditions of [`Filter`] on `$1`–`$5`. Only the tag test differs: SQLite looks inside
/// the JSON list with `json_each`, PostgreSQL asks `jsonb` containment.
fn filter_sql(backend: Backend) -> String {
    let tag = match backend {
        Backend::Sqlite => "EXISTS (SELECT 1 FROM json_each(companies.tags) WHERE json_each.value = $5)",
        Backend::Postgres => "tags @> jsonb_build_array($5::text)",
    };
    format!(
        "workspace_id = $1 AND (deleted_at IS NOT NULL) = $2 AND ($3 IS NULL OR domain = $3) \
         AND ($4 IS NULL OR owner_id = $4) AND ($5 IS NULL OR {tag})"
    )
}

/// One page of matching companies, newest first, after the cursor id.
pub(super) async fn page(
    db: &Db,
    workspace: WorkspaceId,
    filter: &Filter<'_>,
    after: Option<CompanyId>,
    limit: i64,
) -> Result<Vec<Company>, DbError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM companies WHERE {} AND ($6 IS NULL OR id < $6) ORDER BY id DESC LIMIT $7",
        filter_sql(db.backend())
    );
    let rows: Vec<Row> = sql!(db.exec(), c => sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
        .bind(workspace).bind(filter.trash).bind(filter.domain).bind(filter.owner).bind(filter.tag)
        .bind(after).bind(limit).fetch_all(c).await)?;
    Ok(rows.into_iter().map(Company::from).collect())
}

/// How many companies match, counted no further than `cap`.
pub(super) async fn count(db: &Db, workspace: WorkspaceId, filter: &Filter<'_>, cap: i64) -> Result<i64, DbError> {
    let sql =
        format!("SELECT count(*) FROM (SELECT 1 FROM companies WHERE {} LIMIT $6) AS capped", filter_sql(db.backend()));
    let n = sql!(db.exec(), c => sqlx::query_scalar(sqlx::AssertSqlSafe(sql.clone()))
        .bind(workspace).bind(filter.trash).bind(filter.domain).bind(filter.owner).bind(filter.tag)
        .bind(cap).fetch_one(c).await)?;
    Ok(n)
}

/// Links a person to a company, or changes the title of an existing link.
pub(super) async fn upsert_link(
    tx: &mut Tx,
    workspace: WorkspaceId,
    company: CompanyId,
    person: PersonId,
    title: Option<&str>,
    now: Timestamp,
) -> Result<(), DbError> {
    sql!(tx.exec(), c => sqlx::query(
        "INSERT INTO company_people (workspace_id, company_id, person_id, title, created_at) VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (workspace_id, company_id, person_id) DO UPDATE SET title = excluded.title"
    ).bind(workspace).bind(company).bind(person).bind(title).bind(now).execute(c).await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// Removes a link; answers whether there was one.
pub(super) async fn delete_link(
    tx: &mut Tx,
    workspace: WorkspaceId,
    company: CompanyId,
    person: PersonId,
) -> Result<bool, DbError> {
    let n = sql!(tx.exec(), c => sqlx::query(
        "DELETE FROM company_people WHERE workspace_id = $1 AND company_id = $2 AND person_id = $3"
    ).bind(workspace).bind(company).bind(person).execute(c).await.map(|r| r.rows_affected()))?;
    Ok(n > 0)
}

/// The title a link carries now, if the link exists.
pub(super) async fn link_title(
    tx: &mut Tx,
    workspace: WorkspaceId,
    company: CompanyId,
    person: PersonId,
) -> Result<Option<Option<String>>, DbError> {
    let title = sql!(tx.exec(), c => sqlx::query_scalar(
        "SELECT title FROM company_people WHERE workspace_id = $1 AND company_id = $2 AND person_id = $3"
    ).bind(workspace).bind(company).bind(person).fetch_optional(c).await)?;
    Ok(title)
}

#[derive(sqlx::FromRow)]
struct LinkRow {
    company_id: CompanyId,
    company_name: String,
    person_id: PersonId,
    first_name: Option<String>,
    last_name: Option<String>,
    email: Option<String>,
    title: Option<String>,
    created_at: Timestamp,
}

impl From<LinkRow> for Link {
    fn from(row: LinkRow) -> Self {
        let name = [row.first_name, row.last_name].into_iter().flatten().collect::<Vec<_>>().join(" ");
        Self {
            company_id: row.company_id,
            company_name: row.company_name,
            person_id: row.person_id,
            person_name: if name.is_empty() { row.email.unwrap_or_default() } else { name },
            title: row.title,
            created_at: row.created_at,
        }
    }
}

const LINK_SELECT: &str = "SELECT l.company_id, c.name AS company_name, l.person_id, p.first_name, p.last_name, \
     p.email, l.title, l.created_at FROM company_people l \
     JOIN companies c ON c.workspace_id = l.workspace_id AND c.id = l.company_id \
     JOIN people p ON p.workspace_id = l.workspace_id AND p.id = l.person_id";

/// A company's people who are not in the trash, first linked first, at most `limit`.
pub(super) async fn people_of(
    db: &Db,
    workspace: WorkspaceId,
    company: CompanyId,
    limit: i64,
) -> Result<Vec<Link>, DbError> {
    let sql = format!(
        "{LINK_SELECT} WHERE l.workspace_id = $1 AND l.company_id = $2 AND p.deleted_at IS NULL \
         ORDER BY l.created_at, l.person_id LIMIT $3"
    );
    let rows: Vec<LinkRow> = sql!(db.exec(), c => sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
        .bind(workspace).bind(company).bind(limit).fetch_all(c).await)?;
    Ok(rows.into_iter().map(Link::from).collect())
}

/// The companies a person works for that are not in the trash.
pub(super) async fn companies_of(db: &Db, workspace: WorkspaceId, person: PersonId) -> Result<Vec<Link>, DbError> {
    let sql = format!(
        "{LINK_SELECT} WHERE l.workspace_id = $1 AND l.person_id = $2 AND c.deleted_at IS NULL \
         ORDER BY l.created_at, l.company_id"
    );
    let rows: Vec<LinkRow> = sql!(db.exec(), c => sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
        .bind(workspace).bind(person).fetch_all(c).await)?;
    Ok(rows.into_iter().map(Link::from).collect())
}
