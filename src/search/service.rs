//! Search use cases: keeping a record's document current inside the record's own write
//! transaction, and answering a query as the caller, within their read reach and without the
//! fields their role hides.

use std::collections::{BTreeMap, BTreeSet};

use rapport_core::WorkspaceId;
use rapport_db::{Db, DbError, Tx};

use super::model::{self, Document, Marked, Object, Query, Value};
use super::store;
use crate::access::FieldAccess;
use crate::identity::{Action, Principal};

#[derive(Debug, thiserror::Error)]
pub enum SearchError {
    /// The query cannot be searched; the message says why.
    #[error("q: {0}")]
    Invalid(&'static str),
    #[error("{0}")]
    Forbidden(&'static str),
    #[error(transparent)]
    Db(#[from] DbError),
}

/// Records the database ranks first, re-ranked here: enough that the best few of a broad
/// query are among them.
const CANDIDATES: i64 = 200;
pub const MAX_RESULTS: usize = 50;

/// Writes `document` as its record's current document, in the record's transaction; the
/// dictionary gains the words it brings and loses those it no longer holds.
pub async fn index(tx: &mut Tx, workspace: WorkspaceId, document: &Document) -> Result<(), DbError> {
    let key = (document.object, document.record_id);
    let before = store::find(tx, workspace, key).await?;
    let old_terms = before.as_ref().map(|stored| terms_of(&stored.fields.0)).unwrap_or_default();
    store::upsert(tx, workspace, document).await?;
    let new_terms = document.terms();
    let mut deltas = BTreeMap::new();
    for term in new_terms.difference(&old_terms) {
        deltas.insert(term.clone(), 1);
    }
    for term in old_terms.difference(&new_terms) {
        deltas.insert(term.clone(), -1);
    }
    count_terms(tx, workspace, deltas).await
}

/// Indexes many records created in the caller's transaction, which have no document yet: the
/// documents and their words go in with multi-row inserts, and the dictionary is counted once
/// per batch.
pub async fn index_many(tx: &mut Tx, workspace: WorkspaceId, documents: &[Document]) -> Result<(), DbError> {
    let mut deltas: BTreeMap<String, i64> = BTreeMap::new();
    for document in documents {
        for term in document.terms() {
            *deltas.entry(term).or_default() += 1;
        }
    }
    store::insert_many(tx, workspace, documents).await?;
    count_terms(tx, workspace, deltas).await
}

/// Removes a record's document, when it goes to the trash or is purged.
pub async fn remove(tx: &mut Tx, workspace: WorkspaceId, (object, record): (Object, i64)) -> Result<(), DbError> {
    let Some(fields) = store::delete(tx, workspace, (object, record)).await? else { return Ok(()) };
    let deltas = terms_of(&fields).into_iter().map(|term| (term, -1)).collect();
    count_terms(tx, workspace, deltas).await
}

fn terms_of(fields: &[Value]) -> BTreeSet<String> {
    Document { object: Object::Person, record_id: 0, owner: None, fields: fields.to_vec() }.terms()
}

async fn count_terms(tx: &mut Tx, workspace: WorkspaceId, deltas: BTreeMap<String, i64>) -> Result<(), DbError> {
    let mut variants = Vec::new();
    let held = store::count_terms(tx, workspace, &deltas).await?;
    for (term, delta) in deltas {
        let held = held.get(&term).copied().unwrap_or(delta);
        if held == delta && delta > 0 {
            variants.extend(model::variants(&term).into_iter().map(|variant| (variant, term.clone())));
        } else if held <= 0 {
            let forgotten: Vec<String> = model::variants(&term).into_iter().collect();
            store::forget_term(tx, workspace, &term, &forgotten).await?;
        }
    }
    store::add_variants(tx, workspace, &variants).await
}

/// How many documents the index holds, over every workspace: an index that holds none while
/// records exist was never filled.
pub async fn indexed(db: &Db) -> Result<i64, DbError> {
    store::count(db).await
}

/// One search result.
#[derive(Clone, Debug)]
pub struct Hit {
    pub object: Object,
    pub id: i64,
    pub score: f64,
    /// The record's name with the matches marked; absent when every name field is hidden.
    pub title: Option<Marked>,
    pub subtitle: Option<Marked>,
    /// Every value the query matched, with the ranges it matched.
    pub matches: Vec<Marked>,
}

/// The caller's view of one object for a search: whose records they may read, and which
/// fields.
struct Reach {
    object: Object,
    owners: Option<Vec<rapport_core::UserId>>,
    access: FieldAccess,
}

/// Searches the people and companies among `objects` that the caller may read, best first.
/// A record is found only through fields the caller may see, and only they are returned.
pub async fn search(
    db: &Db,
    principal: &Principal,
    raw: &str,
    objects: &[Object],
    limit: usize,
) -> Result<Vec<Hit>, SearchError> {
    let mut query = Query::parse(raw).map_err(SearchError::Invalid)?;
    let workspace = principal.workspace_id;
    let mut reaches = Vec::new();
    for object in objects {
        let Some(read) = crate::access::record_filter(db, principal, object.module(), Action::Read).await? else {
            continue;
        };
        let access = crate::access::field_access(db, principal, object.as_str()).await?;
        reaches.push(Reach { object: *object, owners: read.owners().map(<[_]>::to_vec), access });
    }
    if reaches.is_empty() {
        return Err(SearchError::Forbidden("your role may not read what this search covers"));
    }
    correct(db, workspace, &mut query).await?;
    let scope: Vec<(Object, Option<&[rapport_core::UserId]>)> =
        reaches.iter().map(|reach| (reach.object, reach.owners.as_deref())).collect();
    let candidates = store::candidates(db, workspace, &query.words, &scope, CANDIDATES).await?;
    let mut hits: Vec<Hit> = candidates
        .into_iter()
        .filter_map(|candidate| {
            let reach = reaches.iter().find(|reach| reach.object.as_str() == candidate.object)?;
            let visible: Vec<Value> =
                candidate.fields.0.into_iter().filter(|value| reach.access.visible(&value.field)).collect();
            let ranked = model::rank(&query, &visible)?;
            Some(Hit {
                object: reach.object,
                id: candidate.record_id,
                score: ranked.score,
                title: model::title(&visible, &ranked.marks),
                subtitle: model::subtitle(&visible, &ranked.marks),
                matches: ranked.marks,
            })
        })
        .collect();
    hits.sort_by(|a, b| {
        b.score.total_cmp(&a.score).then_with(|| title_length(a).cmp(&title_length(b))).then_with(|| a.id.cmp(&b.id))
    });
    hits.truncate(limit.clamp(1, MAX_RESULTS));
    Ok(hits)
}

/// Between equal scores, the shorter name is the closer match.
fn title_length(hit: &Hit) -> usize {
    hit.title.as_ref().map_or(usize::MAX, |title| title.text.chars().count())
}

/// Gives each word that may be misspelt its corrections from the dictionary.
async fn correct(db: &Db, workspace: WorkspaceId, query: &mut Query) -> Result<(), DbError> {
    let variants: BTreeSet<String> =
        query.words.iter().filter(|word| word.may_be_misspelt()).flat_map(|word| model::variants(&word.text)).collect();
    let near = store::near_terms(db, workspace, &variants.into_iter().collect::<Vec<_>>()).await?;
    query.correct(&near);
    Ok(())
}
