//! The company module's SQL: companies and the links between people and companies. Every
//! statement is scoped by `workspace_id`.

use rapport_core::{CompanyId, PersonId, Timestamp, UserId, WorkspaceId};
use rapport_db::{Db, DbError, Tx, sql};
use sqlx::types::Json;

use super::model::{Company, CompanyInput, Link, NewCompany};
use crate::field::Object;
use crate::profile::{AddressInput, LabelledInput};
use crate::view::{Column, FieldType, Table};

const COLUMNS: &str = "id, name, domain, emails, phones, street, street2, city, region, postal_code, country, \
     industry, employees, lifecycle_stage, owner_id, source, tags, social, external_id, custom, version, created_at, \
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
    custom: Json<crate::field::Stored>,
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
                custom: std::collections::BTreeMap::new(),
            },
            custom: row.custom.0,
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
            .bind(Json(&$company.custom))
            .bind($now)
    }};
}

const FIELD_COLUMNS: [&str; 19] = [
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
    "custom",
];

pub(super) async fn insert(
    tx: &mut Tx,
    workspace: WorkspaceId,
    company: &NewCompany,
    now: Timestamp,
) -> Result<CompanyId, DbError> {
    let params: Vec<String> = (2..=20).map(|n| format!("${n}")).collect();
    let sql = format!(
        "INSERT INTO companies (workspace_id, {}, created_at, updated_at) VALUES ($1, {}, $21, $21) RETURNING id",
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
        "UPDATE companies SET {}, updated_at = $21, version = version + 1 WHERE workspace_id = $1 AND id = $22",
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

/// What company lists filter and sort on, by vocabulary key.
pub static LIST_TABLE: Table = Table {
    name: "companies",
    object: Object::Company,
    columns: &[
        Column { key: "id", column: "id", kind: FieldType::Number, sortable: false },
        Column { key: "name", column: "name", kind: FieldType::Text, sortable: true },
        Column { key: "domain", column: "domain", kind: FieldType::Text, sortable: false },
        Column { key: "address.city", column: "city", kind: FieldType::Text, sortable: false },
        Column { key: "address.region", column: "region", kind: FieldType::Text, sortable: false },
        Column { key: "address.country", column: "country", kind: FieldType::Choice, sortable: false },
        Column { key: "industry", column: "industry", kind: FieldType::Text, sortable: false },
        Column { key: "employees", column: "employees", kind: FieldType::Number, sortable: false },
        Column { key: "lifecycle_stage", column: "lifecycle_stage", kind: FieldType::Choice, sortable: false },
        Column { key: "owner", column: "owner_id", kind: FieldType::User, sortable: false },
        Column { key: "source", column: "source", kind: FieldType::Text, sortable: false },
        Column { key: "tags", column: "tags", kind: FieldType::Tags, sortable: false },
        Column { key: "external_id", column: "external_id", kind: FieldType::Text, sortable: false },
        Column { key: "created_at", column: "created_at", kind: FieldType::DateTime, sortable: false },
        Column { key: "updated_at", column: "updated_at", kind: FieldType::DateTime, sortable: true },
    ],
};

/// The companies with these ids, in the order given (a list page's order).
pub(super) async fn by_ids(db: &Db, workspace: WorkspaceId, ids: &[i64]) -> Result<Vec<Company>, DbError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let rows: Vec<Row> = sql!(db.exec(), c => {
        let mut select = sqlx::QueryBuilder::new(format!("SELECT {COLUMNS} FROM companies WHERE workspace_id = "));
        select.push_bind(workspace).push(" AND id IN (");
        let mut list = select.separated(", ");
        for id in ids {
            list.push_bind(*id);
        }
        select.push(")");
        select.build_query_as().fetch_all(c).await
    })?;
    let mut companies: Vec<Company> = rows.into_iter().map(Company::from).collect();
    companies.sort_by_key(|c| ids.iter().position(|id| *id == c.id.get()));
    Ok(companies)
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

/// Moves a person's company links to another person, except links to companies the other
/// already has (`only` limits the move to those companies); answers the companies moved.
pub(super) async fn reassign_links(
    tx: &mut Tx,
    workspace: WorkspaceId,
    (from, to): (PersonId, PersonId),
    only: Option<&[i64]>,
) -> Result<Vec<CompanyId>, DbError> {
    if only.is_some_and(<[i64]>::is_empty) {
        return Ok(Vec::new());
    }
    let moved = sql!(tx.exec(), c => {
        let mut update = sqlx::QueryBuilder::new("UPDATE company_people SET person_id = ");
        update.push_bind(to).push(" WHERE workspace_id = ").push_bind(workspace);
        update.push(" AND person_id = ").push_bind(from);
        update.push(" AND company_id NOT IN (SELECT company_id FROM company_people WHERE workspace_id = ");
        update.push_bind(workspace).push(" AND person_id = ").push_bind(to).push(")");
        if let Some(ids) = only {
            update.push(" AND company_id IN (");
            let mut list = update.separated(", ");
            for id in ids {
                list.push_bind(*id);
            }
            update.push(")");
        }
        update.push(" RETURNING company_id");
        update.build_query_scalar().fetch_all(c).await
    })?;
    Ok(moved)
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
    company_owner: Option<i64>,
    person_owner: Option<i64>,
}

/// A link with the owners of both its records, for the service to keep only what the caller
/// may read.
pub(super) struct OwnedLink {
    pub link: Link,
    pub company_owner: Option<UserId>,
    pub person_owner: Option<UserId>,
}

impl From<LinkRow> for OwnedLink {
    fn from(row: LinkRow) -> Self {
        let (company_owner, person_owner) = (row.company_owner.map(UserId::new), row.person_owner.map(UserId::new));
        Self { link: Link::from(row), company_owner, person_owner }
    }
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
     p.email, l.title, l.created_at, c.owner_id AS company_owner, p.owner_id AS person_owner FROM company_people l \
     JOIN companies c ON c.workspace_id = l.workspace_id AND c.id = l.company_id \
     JOIN people p ON p.workspace_id = l.workspace_id AND p.id = l.person_id";

/// A company's people who are not in the trash, first linked first, at most `limit`.
pub(super) async fn people_of(
    db: &Db,
    workspace: WorkspaceId,
    company: CompanyId,
    limit: i64,
) -> Result<Vec<OwnedLink>, DbError> {
    let sql = format!(
        "{LINK_SELECT} WHERE l.workspace_id = $1 AND l.company_id = $2 AND p.deleted_at IS NULL \
         ORDER BY l.created_at, l.person_id LIMIT $3"
    );
    let rows: Vec<LinkRow> = sql!(db.exec(), c => sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
        .bind(workspace).bind(company).bind(limit).fetch_all(c).await)?;
    Ok(rows.into_iter().map(OwnedLink::from).collect())
}

/// The companies a person works for that are not in the trash.
pub(super) async fn companies_of(db: &Db, workspace: WorkspaceId, person: PersonId) -> Result<Vec<OwnedLink>, DbError> {
    let sql = format!(
        "{LINK_SELECT} WHERE l.workspace_id = $1 AND l.person_id = $2 AND c.deleted_at IS NULL \
         ORDER BY l.created_at, l.company_id"
    );
    let rows: Vec<LinkRow> = sql!(db.exec(), c => sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
        .bind(workspace).bind(person).fetch_all(c).await)?;
    Ok(rows.into_iter().map(OwnedLink::from).collect())
}

#[derive(sqlx::FromRow)]
struct InWorkspace {
    workspace_id: WorkspaceId,
    #[sqlx(flatten)]
    row: Row,
}

/// Up to `limit` companies not in the trash after `after` in id order, in any workspace.
pub(super) async fn live_after(
    db: &Db,
    after: Option<CompanyId>,
    limit: i64,
) -> Result<Vec<(WorkspaceId, Company)>, DbError> {
    let sql = format!(
        "SELECT workspace_id, {COLUMNS} FROM companies WHERE id > $1 AND deleted_at IS NULL ORDER BY id LIMIT $2"
    );
    let rows: Vec<InWorkspace> = sql!(db.exec(), c => sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
        .bind(after.map_or(0, CompanyId::get))
        .bind(limit)
        .fetch_all(c)
        .await)?;
    Ok(rows.into_iter().map(|found| (found.workspace_id, Company::from(found.row))).collect())
}

/// The company whose external id is `external_id`, in the trash or not.
pub(super) async fn by_external_id(
    tx: &mut Tx,
    workspace: WorkspaceId,
    external_id: &str,
) -> Result<Option<Company>, DbError> {
    let sql = format!("SELECT {COLUMNS} FROM companies WHERE workspace_id = $1 AND external_id = $2");
    let row: Option<Row> = sql!(tx.exec(), c => sqlx::query_as(sqlx::AssertSqlSafe(sql.clone())).bind(workspace).bind(external_id).fetch_optional(c).await)?;
    Ok(row.map(Company::from))
}
