//! The dedup module's SQL: its own tables (keys, model, pairs) and the read-only view of the
//! people table a scan streams through. Every statement is scoped by `workspace_id`.

use chrono::NaiveDate;
use rapport_core::{Timestamp, WorkspaceId};
use rapport_db::{Db, DbError, Tx, sql};
use sqlx::types::Json;

use super::fellegi::Model;
use super::model::{Pair, PairEnd, Source};

const COLUMNS: &str = "id, external_id, first_name, last_name, email_canonical, phone, birthday, street, street2, \
     city, region, postal_code, custom";

#[derive(sqlx::FromRow)]
struct Row {
    id: i64,
    external_id: Option<String>,
    first_name: Option<String>,
    last_name: Option<String>,
    email_canonical: Option<String>,
    phone: Option<String>,
    birthday: Option<NaiveDate>,
    street: Option<String>,
    street2: Option<String>,
    city: Option<String>,
    region: Option<String>,
    postal_code: Option<String>,
    custom: Json<crate::field::Stored>,
}

impl From<Row> for Source {
    fn from(row: Row) -> Self {
        Self {
            id: row.id,
            external_id: row.external_id,
            first_name: row.first_name,
            last_name: row.last_name,
            email: row.email_canonical,
            phone: row.phone,
            birthday: row.birthday,
            street: row.street,
            street2: row.street2,
            city: row.city,
            region: row.region,
            postal_code: row.postal_code,
            custom: row.custom.0,
        }
    }
}

/// Up to `limit` live people after `after` in id order: a scan reads the workspace a page at
/// a time, so no read holds a snapshot open for the whole scan.
pub(super) async fn people_after(
    db: &Db,
    workspace: WorkspaceId,
    after: i64,
    limit: i64,
) -> Result<Vec<Source>, DbError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM people WHERE workspace_id = $1 AND id > $2 AND deleted_at IS NULL ORDER BY id LIMIT $3"
    );
    let rows: Vec<Row> = sql!(db.exec(), c => sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
        .bind(workspace).bind(after).bind(limit).fetch_all(c).await)?;
    Ok(rows.into_iter().map(Source::from).collect())
}

/// Live people sharing a stored key, an email or a phone with a probe: at most `each` per
/// key, so that one common key cannot crowd out the others.
pub(super) async fn sharing(
    db: &Db,
    workspace: WorkspaceId,
    keys: &[i64],
    (email, phone): (Option<&str>, Option<&str>),
    each: i64,
) -> Result<Vec<Source>, DbError> {
    if keys.is_empty() && email.is_none() && phone.is_none() {
        return Ok(Vec::new());
    }
    let rows: Vec<Row> = sql!(db.exec(), c => {
        let mut select = sqlx::QueryBuilder::new(format!("SELECT {COLUMNS} FROM people WHERE workspace_id = "));
        select.push_bind(workspace).push(" AND deleted_at IS NULL AND id IN (");
        let mut first = true;
        let mut union = |select: &mut sqlx::QueryBuilder<_>| {
            if !std::mem::take(&mut first) {
                select.push(" UNION ");
            }
        };
        for key in keys {
            union(&mut select);
            select.push("SELECT person_id FROM (SELECT person_id FROM dedup_keys WHERE workspace_id = ").push_bind(workspace);
            select.push(" AND key = ").push_bind(*key).push(" LIMIT ").push_bind(each).push(") k");
        }
        for (column, value) in [("email_canonical", email), ("phone", phone)] {
            if let Some(value) = value {
                union(&mut select);
                select.push("SELECT id FROM (SELECT id FROM people WHERE workspace_id = ");
                select.push_bind(workspace).push(format!(" AND {column} = ")).push_bind(value.to_owned());
                select.push(" LIMIT ").push_bind(each).push(") v");
            }
        }
        select.push(")");
        select.build_query_as().fetch_all(c).await
    })?;
    Ok(rows.into_iter().map(Source::from).collect())
}

/// Live people sharing one of `keys`, `emails` or `phones` (a batch of probes' keys), read
/// in the caller's transaction so that the people it wrote before count: at most `each` per
/// key, lowest ids first, so that one common key cannot crowd out the others. Each value
/// kind is one windowed lookup through its index, whatever the number of probes.
pub(super) async fn sharing_many(
    tx: &mut Tx,
    workspace: WorkspaceId,
    (keys, emails, phones): (&[i64], &[String], &[String]),
    each: i64,
) -> Result<Vec<Source>, DbError> {
    if keys.is_empty() && emails.is_empty() && phones.is_empty() {
        return Ok(Vec::new());
    }
    let rows: Vec<Row> = sql!(tx.exec(), c => {
        let mut select = sqlx::QueryBuilder::new(format!("SELECT {COLUMNS} FROM people WHERE workspace_id = "));
        select.push_bind(workspace).push(" AND deleted_at IS NULL AND id IN (");
        let mut first = true;
        if !keys.is_empty() {
            first = false;
            select.push("SELECT person_id FROM (SELECT person_id, ROW_NUMBER() OVER (PARTITION BY key ORDER BY person_id) AS n \
                 FROM dedup_keys WHERE workspace_id = ").push_bind(workspace).push(" AND key IN (");
            let mut list = select.separated(", ");
            for key in keys {
                list.push_bind(*key);
            }
            select.push(")) k WHERE n <= ").push_bind(each);
        }
        for (column, values) in [("email_canonical", emails), ("phone", phones)] {
            if values.is_empty() {
                continue;
            }
            if !std::mem::take(&mut first) {
                select.push(" UNION ");
            }
            select.push(format!("SELECT id FROM (SELECT id, ROW_NUMBER() OVER (PARTITION BY {column} ORDER BY id) AS n \
                 FROM people WHERE workspace_id = ")).push_bind(workspace).push(format!(" AND {column} IN ("));
            let mut list = select.separated(", ");
            for value in values {
                list.push_bind(value.clone());
            }
            select.push(")) v WHERE n <= ").push_bind(each);
        }
        select.push(")");
        select.build_query_as().fetch_all(c).await
    })?;
    Ok(rows.into_iter().map(Source::from).collect())
}

/// Rows per multi-row insert: three values a row.
const KEYS_PER_INSERT: usize = 3_000;

pub(super) async fn insert_keys(tx: &mut Tx, workspace: WorkspaceId, keys: &[(i64, i64)]) -> Result<(), DbError> {
    for chunk in keys.chunks(KEYS_PER_INSERT) {
        sql!(tx.exec(), c => {
            let mut insert = sqlx::QueryBuilder::new("INSERT INTO dedup_keys (workspace_id, key, person_id) ");
            insert.push_values(chunk, |mut row, (key, person)| {
                row.push_bind(workspace).push_bind(*key).push_bind(*person);
            });
            insert.push(" ON CONFLICT DO NOTHING");
            insert.build().execute(c).await.map(|r| r.rows_affected())
        })?;
    }
    Ok(())
}

pub(super) async fn delete_keys(tx: &mut Tx, workspace: WorkspaceId, person: i64, keys: &[i64]) -> Result<(), DbError> {
    for key in keys {
        sql!(tx.exec(), c => sqlx::query("DELETE FROM dedup_keys WHERE workspace_id = $1 AND key = $2 AND person_id = $3")
            .bind(workspace).bind(*key).bind(person).execute(c).await.map(|r| r.rows_affected()))?;
    }
    Ok(())
}

pub(super) async fn model(db: &Db, workspace: WorkspaceId) -> Result<Option<Model>, DbError> {
    let model: Option<Json<Model>> = sql!(db.exec(), c => sqlx::query_scalar(
        "SELECT model FROM dedup_models WHERE workspace_id = $1"
    ).bind(workspace).fetch_optional(c).await)?;
    Ok(model.map(|m| m.0))
}

pub(super) async fn save_model(
    tx: &mut Tx,
    workspace: WorkspaceId,
    model: &Model,
    now: Timestamp,
) -> Result<(), DbError> {
    sql!(tx.exec(), c => sqlx::query(
        "INSERT INTO dedup_models (workspace_id, model, scanned_at) VALUES ($1, $2, $3) \
         ON CONFLICT (workspace_id) DO UPDATE SET model = excluded.model, scanned_at = excluded.scanned_at"
    ).bind(workspace).bind(Json(model)).bind(now).execute(c).await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// Rows per multi-row insert of pairs: five values a row.
const PAIRS_PER_INSERT: usize = 2_000;

/// Replaces the workspace's pairs with those of the scan that just ran.
pub(super) async fn replace_pairs(tx: &mut Tx, workspace: WorkspaceId, pairs: &[Pair]) -> Result<(), DbError> {
    sql!(tx.exec(), c => sqlx::query("DELETE FROM dedup_pairs WHERE workspace_id = $1")
        .bind(workspace).execute(c).await.map(|r| r.rows_affected()))?;
    for chunk in pairs.chunks(PAIRS_PER_INSERT) {
        sql!(tx.exec(), c => {
            let mut insert =
                sqlx::QueryBuilder::new("INSERT INTO dedup_pairs (workspace_id, person_a, person_b, score, reasons) ");
            insert.push_values(chunk, |mut row, pair| {
                row.push_bind(workspace)
                    .push_bind(pair.a.id)
                    .push_bind(pair.b.id)
                    .push_bind(pair.score)
                    .push_bind(Json(pair.reasons.clone()));
            });
            insert.build().execute(c).await.map(|r| r.rows_affected())
        })?;
    }
    Ok(())
}

#[derive(sqlx::FromRow)]
struct PairRow {
    person_a: i64,
    a_external: Option<String>,
    person_b: i64,
    b_external: Option<String>,
    score: f64,
    reasons: Json<Vec<String>>,
}

/// The last scan's pairs whose people are both still live, highest score first, `limit` at a
/// time after the cursor `(score, a, b)` of the previous page.
pub(super) async fn pairs(
    db: &Db,
    workspace: WorkspaceId,
    after: Option<(f64, i64, i64)>,
    limit: i64,
) -> Result<Vec<Pair>, DbError> {
    let (score, a, b) = after.unwrap_or((f64::INFINITY, 0, 0));
    let rows: Vec<PairRow> = sql!(db.exec(), c => sqlx::query_as(
        "SELECT d.person_a, pa.external_id AS a_external, d.person_b, pb.external_id AS b_external, d.score, d.reasons \
         FROM dedup_pairs d \
         JOIN people pa ON pa.workspace_id = d.workspace_id AND pa.id = d.person_a AND pa.deleted_at IS NULL \
         JOIN people pb ON pb.workspace_id = d.workspace_id AND pb.id = d.person_b AND pb.deleted_at IS NULL \
         WHERE d.workspace_id = $1 AND (d.score < $2 OR (d.score = $2 AND (d.person_a > $3 OR (d.person_a = $3 AND d.person_b > $4)))) \
         ORDER BY d.score DESC, d.person_a, d.person_b LIMIT $5"
    ).bind(workspace).bind(score).bind(a).bind(b).bind(limit).fetch_all(c).await)?;
    Ok(rows
        .into_iter()
        .map(|row| Pair {
            a: PairEnd { id: row.person_a, external_id: row.a_external },
            b: PairEnd { id: row.person_b, external_id: row.b_external },
            score: row.score,
            reasons: row.reasons.0,
        })
        .collect())
}

pub(super) async fn scanned_at(db: &Db, workspace: WorkspaceId) -> Result<Option<Timestamp>, DbError> {
    let at = sql!(db.exec(), c => sqlx::query_scalar("SELECT scanned_at FROM dedup_models WHERE workspace_id = $1")
        .bind(workspace).fetch_optional(c).await)?;
    Ok(at)
}

/// The pair `(a, b)` (with `a < b`) as stored.
pub(super) async fn pair(tx: &mut Tx, workspace: WorkspaceId, (a, b): (i64, i64)) -> Result<Option<Pair>, DbError> {
    let row: Option<(f64, Json<Vec<String>>)> = sql!(tx.exec(), c => sqlx::query_as(
        "SELECT score, reasons FROM dedup_pairs WHERE workspace_id = $1 AND person_a = $2 AND person_b = $3"
    ).bind(workspace).bind(a).bind(b).fetch_optional(c).await)?;
    Ok(row.map(|(score, reasons)| Pair {
        a: PairEnd { id: a, external_id: None },
        b: PairEnd { id: b, external_id: None },
        score,
        reasons: reasons.0,
    }))
}

/// Stores one pair, replacing the score and reasons it had.
pub(super) async fn insert_pair(tx: &mut Tx, workspace: WorkspaceId, pair: &Pair) -> Result<(), DbError> {
    sql!(tx.exec(), c => sqlx::query(
        "INSERT INTO dedup_pairs (workspace_id, person_a, person_b, score, reasons) VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (workspace_id, person_a, person_b) DO UPDATE SET score = excluded.score, reasons = excluded.reasons"
    ).bind(workspace).bind(pair.a.id).bind(pair.b.id).bind(pair.score).bind(Json(pair.reasons.clone()))
        .execute(c).await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// Drops the stored pairs a person is part of (after a merge, say).
pub(super) async fn forget(tx: &mut Tx, workspace: WorkspaceId, person: i64) -> Result<(), DbError> {
    sql!(tx.exec(), c => sqlx::query("DELETE FROM dedup_pairs WHERE workspace_id = $1 AND (person_a = $2 OR person_b = $2)")
        .bind(workspace).bind(person).execute(c).await.map(|r| r.rows_affected()))?;
    Ok(())
}
