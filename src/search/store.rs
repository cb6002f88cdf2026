//! Search's SQL: documents, the word index (an FTS5 table on SQLite, a tsvector GIN index on
//! PostgreSQL), the typo dictionary, and the candidate query. Every statement is scoped by
//! `workspace_id`; every operand is bound.

use rapport_core::{UserId, WorkspaceId};
use rapport_db::{Backend, Db, DbError, Tx, sql};
use sqlx::types::Json;

use super::model::{Document, Object, SUBSTRING_MIN, Value, Word};

/// A document as the index stores it.
#[derive(sqlx::FromRow)]
pub(super) struct Stored {
    pub id: i64,
    pub fields: Json<Vec<Value>>,
}

/// A record the word index found for a query.
#[derive(sqlx::FromRow)]
pub(super) struct Candidate {
    pub object: String,
    pub record_id: i64,
    pub fields: Json<Vec<Value>>,
}

pub(super) async fn find(
    tx: &mut Tx,
    workspace: WorkspaceId,
    (object, record): (Object, i64),
) -> Result<Option<Stored>, DbError> {
    let found = sql!(tx.exec(), c => sqlx::query_as(
        "SELECT id, fields FROM search_documents WHERE workspace_id = $1 AND object = $2 AND record_id = $3",
    )
    .bind(workspace)
    .bind(object.as_str())
    .bind(record)
    .fetch_optional(c)
    .await)?;
    Ok(found)
}

/// Writes a record's document and its indexed words.
pub(super) async fn upsert(tx: &mut Tx, workspace: WorkspaceId, document: &Document) -> Result<(), DbError> {
    let (object, record, owner, fields) =
        (document.object, document.record_id, document.owner, document.fields.as_slice());
    match tx.backend() {
        Backend::Sqlite => {
            let id: i64 = sql!(tx.exec(), c => sqlx::query_scalar(
                "INSERT INTO search_documents (workspace_id, object, record_id, owner_id, fields) \
                 VALUES ($1, $2, $3, $4, $5) ON CONFLICT (workspace_id, object, record_id) \
                 DO UPDATE SET owner_id = excluded.owner_id, fields = excluded.fields RETURNING id",
            )
            .bind(workspace)
            .bind(object.as_str())
            .bind(record)
            .bind(owner)
            .bind(Json(fields))
            .fetch_one(c)
            .await)?;
            sql!(tx.exec(), c => sqlx::query("DELETE FROM search_words WHERE rowid = $1").bind(id).execute(c).await.map(|_| ()))?;
            sql!(tx.exec(), c => sqlx::query("INSERT INTO search_words (rowid, text) VALUES ($1, $2)")
                .bind(id)
                .bind(document.words())
                .execute(c)
                .await
                .map(|_| ()))?;
        }
        Backend::Postgres => {
            sql!(tx.exec(), c => sqlx::query(
                "INSERT INTO search_documents (workspace_id, object, record_id, owner_id, fields, text) \
                 VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (workspace_id, object, record_id) \
                 DO UPDATE SET owner_id = excluded.owner_id, fields = excluded.fields, text = excluded.text",
            )
            .bind(workspace)
            .bind(object.as_str())
            .bind(record)
            .bind(owner)
            .bind(Json(fields))
            .bind(document.words())
            .execute(c)
            .await
            .map(|_| ()))?;
        }
    }
    Ok(())
}

/// Removes a record's document; returns what it held, for the dictionary to forget.
pub(super) async fn delete(
    tx: &mut Tx,
    workspace: WorkspaceId,
    (object, record): (Object, i64),
) -> Result<Option<Vec<Value>>, DbError> {
    let removed: Option<Stored> = sql!(tx.exec(), c => sqlx::query_as(
        "DELETE FROM search_documents WHERE workspace_id = $1 AND object = $2 AND record_id = $3 RETURNING id, fields",
    )
    .bind(workspace)
    .bind(object.as_str())
    .bind(record)
    .fetch_optional(c)
    .await)?;
    let Some(removed) = removed else { return Ok(None) };
    if tx.backend() == Backend::Sqlite {
        sql!(tx.exec(), c => sqlx::query("DELETE FROM search_words WHERE rowid = $1").bind(removed.id).execute(c).await.map(|_| ()))?;
    }
    Ok(Some(removed.fields.0))
}

/// Rows per multi-row statement: a handful of values a row stays far below either database's
/// limit of bound values.
const ROWS_PER_INSERT: usize = 1000;

/// Writes the documents of records that have none yet, and their indexed words.
pub(super) async fn insert_many(tx: &mut Tx, workspace: WorkspaceId, documents: &[Document]) -> Result<(), DbError> {
    for chunk in documents.chunks(ROWS_PER_INSERT) {
        let words: Vec<String> = chunk.iter().map(Document::words).collect();
        match tx.backend() {
            Backend::Sqlite => {
                let ids: Vec<(i64, String, i64)> = sql!(tx.exec(), c => {
                    let mut insert = sqlx::QueryBuilder::new(
                        "INSERT INTO search_documents (workspace_id, object, record_id, owner_id, fields) ",
                    );
                    insert.push_values(chunk, |mut row, document| {
                        row.push_bind(workspace)
                            .push_bind(document.object.as_str())
                            .push_bind(document.record_id)
                            .push_bind(document.owner)
                            .push_bind(Json(document.fields.clone()));
                    });
                    insert.push(" RETURNING id, object, record_id");
                    insert.build_query_as().fetch_all(c).await
                })?;
                let place: std::collections::HashMap<(&str, i64), usize> =
                    chunk.iter().enumerate().map(|(i, d)| ((d.object.as_str(), d.record_id), i)).collect();
                sql!(tx.exec(), c => {
                    let mut insert = sqlx::QueryBuilder::new("INSERT INTO search_words (rowid, text) ");
                    insert.push_values(&ids, |mut row, (id, object, record)| {
                        let text = place.get(&(object.as_str(), *record)).map(|i| words[*i].clone()).unwrap_or_default();
                        row.push_bind(*id).push_bind(text);
                    });
                    insert.build().execute(c).await.map(|_| ())
                })?;
            }
            Backend::Postgres => {
                sql!(tx.exec(), c => {
                    let mut insert = sqlx::QueryBuilder::new(
                        "INSERT INTO search_documents (workspace_id, object, record_id, owner_id, fields, text) ",
                    );
                    insert.push_values(chunk.iter().zip(&words), |mut row, (document, text)| {
                        row.push_bind(workspace)
                            .push_bind(document.object.as_str())
                            .push_bind(document.record_id)
                            .push_bind(document.owner)
                            .push_bind(Json(document.fields.clone()))
                            .push_bind(text.clone());
                    });
                    insert.build().execute(c).await.map(|_| ())
                })?;
            }
        }
    }
    Ok(())
}

/// Adds each term's delta (positive or negative) to the documents holding it; answers how many
/// hold each now.
pub(super) async fn count_terms(
    tx: &mut Tx,
    workspace: WorkspaceId,
    deltas: &std::collections::BTreeMap<String, i64>,
) -> Result<std::collections::HashMap<String, i64>, DbError> {
    let deltas: Vec<(&String, &i64)> = deltas.iter().collect();
    let mut held = std::collections::HashMap::with_capacity(deltas.len());
    for chunk in deltas.chunks(ROWS_PER_INSERT) {
        let rows: Vec<(String, i64)> = sql!(tx.exec(), c => {
            let mut upsert = sqlx::QueryBuilder::new("INSERT INTO search_terms (workspace_id, term, documents) ");
            upsert.push_values(chunk, |mut row, (term, delta)| {
                row.push_bind(workspace).push_bind((*term).clone()).push_bind(**delta);
            });
            upsert.push(
                " ON CONFLICT (workspace_id, term) DO UPDATE SET documents = search_terms.documents + excluded.documents \
                 RETURNING term, documents",
            );
            upsert.build_query_as().fetch_all(c).await
        })?;
        held.extend(rows);
    }
    Ok(held)
}

pub(super) async fn add_variants(
    tx: &mut Tx,
    workspace: WorkspaceId,
    variants: &[(String, String)],
) -> Result<(), DbError> {
    for chunk in variants.chunks(ROWS_PER_INSERT) {
        sql!(tx.exec(), c => {
            let mut insert = sqlx::QueryBuilder::new("INSERT INTO search_term_variants (workspace_id, variant, term) ");
            insert.push_values(chunk, |mut row, (variant, term)| {
                row.push_bind(workspace).push_bind(variant.clone()).push_bind(term.clone());
            });
            insert.push(" ON CONFLICT DO NOTHING");
            insert.build().execute(c).await.map(|_| ())
        })?;
    }
    Ok(())
}

/// Forgets a term no document holds any more, with its `variants`.
pub(super) async fn forget_term(
    tx: &mut Tx,
    workspace: WorkspaceId,
    term: &str,
    variants: &[String],
) -> Result<(), DbError> {
    sql!(tx.exec(), c => sqlx::query("DELETE FROM search_terms WHERE workspace_id = $1 AND term = $2 AND documents <= 0")
        .bind(workspace)
        .bind(term)
        .execute(c)
        .await
        .map(|_| ()))?;
    sql!(tx.exec(), c => {
        let mut delete = sqlx::QueryBuilder::new("DELETE FROM search_term_variants WHERE workspace_id = ");
        delete.push_bind(workspace).push(" AND term = ").push_bind(term).push(" AND variant IN (");
        let mut list = delete.separated(", ");
        for variant in variants {
            list.push_bind(variant.clone());
        }
        delete.push(")");
        delete.build().execute(c).await.map(|_| ())
    })?;
    Ok(())
}

/// The dictionary's terms sharing a variant with the query's, with how many documents hold
/// each.
pub(super) async fn near_terms(
    db: &Db,
    workspace: WorkspaceId,
    variants: &[String],
) -> Result<Vec<(String, i64)>, DbError> {
    if variants.is_empty() {
        return Ok(Vec::new());
    }
    let rows = sql!(db.exec(), c => {
        let mut select = sqlx::QueryBuilder::new(
            "SELECT DISTINCT t.term, t.documents FROM search_term_variants v \
             JOIN search_terms t ON t.workspace_id = v.workspace_id AND t.term = v.term WHERE v.workspace_id = ",
        );
        select.push_bind(workspace).push(" AND v.variant IN (");
        let mut list = select.separated(", ");
        for variant in variants {
            list.push_bind(variant.clone());
        }
        select.push(")");
        select.build_query_as::<(String, i64)>().fetch_all(c).await
    })?;
    Ok(rows)
}

/// Which records a search may return: per object, the owners the caller's read reach is
/// limited to (`None` for everyone's).
pub(super) type Scope<'a> = [(Object, Option<&'a [UserId]>)];

/// Up to `limit` records matching every word of a query where one of their words begins with
/// what was typed, one of its corrections, or a dictionary word it appears inside of (a
/// substring), best first by the database's own ranking: bm25 on SQLite's FTS5 word index,
/// `ts_rank` on PostgreSQL's tsvector index.
pub(super) async fn candidates(
    db: &Db,
    workspace: WorkspaceId,
    words: &[Word],
    scope: &Scope<'_>,
    limit: i64,
) -> Result<Vec<Candidate>, DbError> {
    if scope.is_empty() || words.is_empty() {
        return Ok(Vec::new());
    }
    let mut groups = Vec::with_capacity(words.len());
    for word in words {
        let mut group: Vec<String> =
            std::iter::once(word.text.clone()).chain(word.alternatives.iter().cloned()).collect();
        if word.text.chars().count() >= SUBSTRING_MIN {
            group.extend(terms_containing(db, workspace, &word.text).await?);
        }
        groups.push(group);
    }
    let rows = match db.exec() {
        rapport_db::Exec::Sqlite(c) => {
            // CROSS JOIN keeps the word index as the outer loop: left to itself the planner walks
            // the workspace's documents and runs the MATCH once per document.
            let mut select = sqlx::QueryBuilder::new(
                "SELECT d.object, d.record_id, d.fields FROM search_words s CROSS JOIN search_documents d \
                 ON d.id = s.rowid WHERE search_words MATCH ",
            );
            select.push_bind(fts_expression(&groups)).push(" AND d.workspace_id = ").push_bind(workspace);
            scoped(&mut select, scope);
            select.push(" ORDER BY s.rank LIMIT ").push_bind(limit);
            select.build_query_as::<Candidate>().fetch_all(c).await
        }
        rapport_db::Exec::Postgres(c) => {
            let mut select = sqlx::QueryBuilder::new(
                "SELECT d.object, d.record_id, d.fields FROM search_documents d, to_tsquery('simple', ",
            );
            select
                .push_bind(tsquery(&groups))
                .push(") AS q WHERE d.workspace_id = ")
                .push_bind(workspace)
                .push(" AND d.words @@ q");
            scoped(&mut select, scope);
            select.push(" ORDER BY ts_rank(d.words, q) DESC, d.id LIMIT ").push_bind(limit);
            select.build_query_as::<Candidate>().fetch_all(c).await
        }
    }?;
    Ok(rows)
}

/// Dictionary words a query word appears inside of, not at their start (that a prefix query
/// finds), most common first: how a word index answers a substring. On PostgreSQL a trigram
/// index on the dictionary serves the `LIKE`; SQLite's dictionary is read through.
async fn terms_containing(db: &Db, workspace: WorkspaceId, word: &str) -> Result<Vec<String>, DbError> {
    let terms = sql!(db.exec(), c => sqlx::query_scalar(
        "SELECT term FROM search_terms WHERE workspace_id = $1 AND term LIKE $2 AND term NOT LIKE $3 \
         ORDER BY documents DESC, term LIMIT $4",
    )
    .bind(workspace)
    .bind(format!("%{word}%"))
    .bind(format!("{word}%"))
    .bind(SUBSTRING_TERMS)
    .fetch_all(c)
    .await)?;
    Ok(terms)
}

/// Dictionary words a substring expands to, per query word.
const SUBSTRING_TERMS: i64 = 12;

fn scoped<DB: sqlx::Database>(select: &mut sqlx::QueryBuilder<DB>, scope: &Scope<'_>)
where
    for<'q> i64: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    for<'q> &'q str: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
{
    select.push(" AND (");
    for (i, (object, owners)) in scope.iter().enumerate() {
        if i > 0 {
            select.push(" OR ");
        }
        select.push("(d.object = ").push_bind(object.as_str());
        match owners {
            None => {}
            Some([]) => {
                select.push(" AND 1 = 0");
            }
            Some(owners) => {
                select.push(" AND d.owner_id IN (");
                let mut list = select.separated(", ");
                for owner in owners.iter() {
                    list.push_bind(owner.get());
                }
                select.push(")");
            }
        }
        select.push(")");
    }
    select.push(")");
}

/// An FTS5 query: every group must match, by any of its words, each as a prefix. Words are
/// folded runs of letters and digits, so they need no quoting beyond the phrase marks.
fn fts_expression(groups: &[Vec<String>]) -> String {
    groups
        .iter()
        .map(|group| {
            let phrases: Vec<String> = group.iter().map(|word| format!("\"{word}\"*")).collect();
            format!("({})", phrases.join(" OR "))
        })
        .collect::<Vec<_>>()
        .join(" AND ")
}

/// The same groups as a text search query: every group, by any of its words as a prefix.
fn tsquery(groups: &[Vec<String>]) -> String {
    groups
        .iter()
        .map(|group| {
            let words: Vec<String> = group.iter().map(|word| format!("{word}:*")).collect();
            format!("({})", words.join(" | "))
        })
        .collect::<Vec<_>>()
        .join(" & ")
}

/// How many documents the index holds, over every workspace.
pub(super) async fn count(db: &Db) -> Result<i64, DbError> {
    let n = sql!(db.exec(), c => sqlx::query_scalar("SELECT count(*) FROM search_documents").fetch_one(c).await)?;
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_require_every_group_and_any_pattern_of_one() {
        let groups = vec![vec!["jon".to_owned(), "john".to_owned()], vec!["smith".to_owned()]];
        assert_eq!(fts_expression(&groups), "(\"jon\"* OR \"john\"*) AND (\"smith\"*)");
        assert_eq!(tsquery(&groups), "(jon:* | john:*) & (smith:*)");
    }
}
