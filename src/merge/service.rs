//! Use cases of merging duplicate people: the review queue (the last scan's pairs, clustered),
//! a pair side by side, the merge itself, its undo within [`UNDO_KEEP`], and the bulk merge of
//! every queued pair above a score as a job.
//!
//! A merge is one transaction: the survivor gets the chosen fields, the other person is marked
//! merged into them and trashed, their notes, tasks, attachments and company links move to the
//! survivor, the duplicate pair leaves the queue, and the merge is stored with what its undo
//! needs. Both people get an audit row and a `person.merged` domain event; later capabilities
//! holding records of people (events, orders, tickets, segment memberships) move theirs by
//! subscribing to it, and back on `person.updated` with a `merged_from` change to `null`.

use std::collections::{BTreeMap, HashMap};

use chrono::Utc;
use rapport_core::{PersonId, UserId, WorkspaceId};
use rapport_db::{Db, DbError, Tx};
use rapport_jobs::{JobContext, NewJob, Registry};
use serde_json::{Value, json};

use super::model::{
    CHOSEN, Merge, MergeRequest, Moved, Run, RunStatus, Side, combine, default_side, restored, value_of,
};
use super::store;
use crate::activity::Target;
use crate::dedup::Pair;
use crate::field::{self, Object};
use crate::http::FieldErrors;
use crate::identity::{Principal, Snapshot};
use crate::person::{self, Person, PersonError};

/// The job that runs a bulk merge.
pub const BULK_JOB: &str = "merge.bulk";
/// The job that scans a workspace for the review queue.
pub const SCAN_JOB: &str = "merge.scan";
/// Queued pairs a bulk merge reads at a time.
const BULK_PAGE: i64 = 200;
/// Records of each kind counted for a side-by-side comparison, at most.
const RELATED_SHOWN: i64 = 200;

#[derive(Debug, thiserror::Error)]
pub enum MergeError {
    #[error("some fields are invalid")]
    Invalid(FieldErrors),
    #[error("no such merge")]
    NotFound,
    #[error("a person cannot be merged with themselves")]
    Same,
    #[error("this merge was undone already")]
    Undone,
    #[error("a merge can be undone for 30 days; this one is older")]
    Expired,
    #[error("{0}")]
    Forbidden(&'static str),
    #[error(transparent)]
    Person(#[from] PersonError),
    #[error(transparent)]
    Activity(#[from] crate::activity::ActivityError),
    #[error(transparent)]
    Attachment(#[from] crate::attachment::AttachmentError),
    #[error(transparent)]
    Dedup(#[from] crate::dedup::DedupError),
    #[error(transparent)]
    Db(#[from] DbError),
}

/// A queued pair with both people as the caller may read them, and the cluster it belongs to:
/// pairs sharing a person are one cluster, numbered by first appearance.
pub struct Queued {
    pub pair: Pair,
    pub a: Person,
    pub b: Person,
    pub cluster: usize,
}

/// A page of the review queue: the last scan's pairs whose people are both live and readable
/// by the caller, highest score first, from `min_score`, after the cursor `(score, a, b)`.
pub async fn queue(
    db: &Db,
    principal: &Principal,
    (min_score, after): (f64, Option<(f64, i64, i64)>),
    limit: i64,
) -> Result<(Vec<Queued>, Option<(f64, i64, i64)>), MergeError> {
    let limit = limit.clamp(1, 500);
    let mut pairs = crate::dedup::pairs(db, principal.workspace_id, after, limit + 1).await?;
    pairs.retain(|p| p.score >= min_score);
    let next = crate::profile::cut_page(&mut pairs, limit, |p| (p.score, p.a.id, p.b.id));
    let ids: Vec<i64> = pairs.iter().flat_map(|p| [p.a.id, p.b.id]).collect();
    let people: HashMap<i64, Person> =
        person::readable(db, principal, &ids).await?.into_iter().map(|p| (p.id.get(), p)).collect();
    let mut clusters: HashMap<i64, usize> = HashMap::new();
    let mut queued = Vec::new();
    for pair in pairs {
        let (Some(a), Some(b)) = (people.get(&pair.a.id), people.get(&pair.b.id)) else { continue };
        let known = clusters.get(&pair.a.id).or(clusters.get(&pair.b.id)).copied();
        let cluster = known.unwrap_or(clusters.values().max().map_or(1, |n| n + 1));
        clusters.insert(pair.a.id, cluster);
        clusters.insert(pair.b.id, cluster);
        queued.push(Queued { pair, a: a.clone(), b: b.clone(), cluster });
    }
    Ok((queued, next))
}

/// One field of a side-by-side comparison.
pub struct FieldChoice {
    pub key: String,
    pub label: String,
    pub a: Value,
    pub b: Value,
    /// Whose value the merge keeps unless told otherwise, with `a` surviving.
    pub default: Side,
}

/// How many records of each kind hang on a person (up to [`RELATED_SHOWN`]).
#[derive(Clone, Copy, Debug, Default, serde::Serialize, utoipa::ToSchema)]
pub struct Related {
    pub notes: usize,
    pub tasks: usize,
    pub attachments: usize,
    pub companies: usize,
}

/// Two people side by side, as the caller may see them, with the workspace model's score.
pub struct Comparison {
    pub a: Person,
    pub b: Person,
    pub pair: Pair,
    pub fields: Vec<FieldChoice>,
    pub related: (Related, Related),
}

/// The field keys a merge chooses between: the vocabulary's, then the active custom fields'.
async fn chosen_keys(db: &Db, workspace: WorkspaceId) -> Result<Vec<(String, String)>, DbError> {
    let defs = field::definitions(db, workspace, Object::Person).await?;
    Ok(CHOSEN
        .iter()
        .map(|(key, label)| ((*key).to_owned(), (*label).to_owned()))
        .chain(defs.iter().filter(|d| d.active()).map(|d| (d.key.clone(), d.label.clone())))
        .collect())
}

pub async fn compare(db: &Db, principal: &Principal, (a, b): (PersonId, PersonId)) -> Result<Comparison, MergeError> {
    if a == b {
        return Err(MergeError::Same);
    }
    let (a, b) = (person::get(db, principal, a).await?, person::get(db, principal, b).await?);
    let pair = crate::dedup::score(db, principal.workspace_id, &a, &b).await?;
    let access = crate::access::field_access(db, principal, "person").await?;
    let fields = chosen_keys(db, principal.workspace_id)
        .await?
        .into_iter()
        .filter(|(key, _)| access.visible(key))
        .map(|(key, label)| FieldChoice {
            a: value_of(&a.fields, &key),
            b: value_of(&b.fields, &key),
            default: default_side(&a.fields, &b.fields, &key),
            key,
            label,
        })
        .collect();
    let related = (related(db, principal, &a).await?, related(db, principal, &b).await?);
    Ok(Comparison { a, b, pair, fields, related })
}

async fn related(db: &Db, principal: &Principal, person: &Person) -> Result<Related, MergeError> {
    let target = Target::Person(person.id.get());
    let attachments = crate::attachment::attachments(db, principal, target, None, RELATED_SHOWN).await?.0.len();
    Ok(Related {
        notes: crate::activity::notes(db, principal, target, None, RELATED_SHOWN).await?.0.len(),
        tasks: crate::activity::tasks(db, principal, Some(target), false).await?.len(),
        attachments,
        companies: crate::company::companies_of(db, principal, person.id).await?.len(),
    })
}

/// Merges `request.merged` into `request.survivor` (see the module's description); answers the
/// stored merge. `pair` is the queue's pair, kept so an undo puts it back.
pub async fn merge(db: &Db, principal: &Principal, request: &MergeRequest) -> Result<Merge, MergeError> {
    merge_as(db, principal, request, None).await
}

async fn merge_as(
    db: &Db,
    principal: &Principal,
    request: &MergeRequest,
    run: Option<i64>,
) -> Result<Merge, MergeError> {
    let (survivor, merged) = (PersonId::new(request.survivor), PersonId::new(request.merged));
    if survivor == merged {
        return Err(MergeError::Same);
    }
    let workspace = principal.workspace_id;
    let keys: Vec<String> = chosen_keys(db, workspace).await?.into_iter().map(|(key, _)| key).collect();
    let unknown: Vec<&String> = request.fields.keys().filter(|k| !keys.contains(k)).collect();
    if !unknown.is_empty() {
        let errors =
            unknown.into_iter().map(|k| (format!("fields.{k}"), vec!["is not a field a merge chooses".into()]));
        return Err(MergeError::Invalid(errors.collect()));
    }
    let reach = person::merge::Reach::of(db, principal).await?;
    let ctx = field::context(db, workspace).await?;
    let defs = field::definitions(db, workspace, Object::Person).await?;
    let (actor, choices) = (principal.actor(), request.fields.clone());
    let merge = db
        .write(move |tx| {
            Box::pin(async move {
                let (kept, absorbed) = person::merge::pair(tx, workspace, &reach, (survivor, merged), &defs).await?;
                let combined = combine(&kept.fields, &absorbed.fields, &keys, &choices);
                let queued = crate::dedup::queued_pair(tx, workspace, (survivor, merged)).await?;
                let after =
                    person::merge::absorb(tx, (workspace, &actor), &reach, (&kept, &absorbed), &combined, (&defs, ctx))
                        .await?;
                let moved = move_related(tx, workspace, (merged, survivor)).await?;
                let taken_over = absorbed
                    .fields
                    .external_id
                    .clone()
                    .filter(|_| after.fields.external_id == absorbed.fields.external_id);
                let mut merge = Merge {
                    id: 0,
                    survivor_id: survivor,
                    merged_id: merged,
                    survivor_before: kept.fields.clone(),
                    survivor_after: after.fields.clone(),
                    merged_external_id: taken_over,
                    moved,
                    pair: queued,
                    run_id: run,
                    actor: actor.to_string(),
                    merged_at: Utc::now(),
                    undone_at: None,
                };
                merge.id = store::insert(tx, workspace, &merge).await?;
                Ok::<_, MergeError>(merge)
            })
        })
        .await?;
    Ok(merge)
}

async fn move_related(tx: &mut Tx, workspace: WorkspaceId, (from, to): (PersonId, PersonId)) -> Result<Moved, DbError> {
    let targets = (Target::Person(from.get()), Target::Person(to.get()));
    let activities = crate::activity::move_all(tx, workspace, targets).await?;
    Ok(Moved {
        notes: activities.notes,
        tasks: activities.tasks,
        attachments: crate::attachment::move_all(tx, workspace, targets).await?,
        companies: crate::company::move_links(tx, workspace, (from, to)).await?,
        identities: crate::tracking::move_all(tx, workspace, (from, to)).await?,
        orders: crate::order::move_all(tx, workspace, (from, to)).await?,
        carts: crate::cart::move_all(tx, workspace, (from, to)).await?,
    })
}

/// A merge of the workspace's; the caller must be able to read the survivor.
pub async fn get(db: &Db, principal: &Principal, id: i64) -> Result<Merge, MergeError> {
    let merge = store::find(db, principal.workspace_id, id).await?.ok_or(MergeError::NotFound)?;
    person::get(db, principal, merge.survivor_id).await.map_err(|_| MergeError::NotFound)?;
    Ok(merge)
}

/// The workspace's merges newest first whose survivor the caller may read.
pub async fn recent(db: &Db, principal: &Principal, before: Option<i64>, limit: i64) -> Result<Vec<Merge>, MergeError> {
    let merges = store::recent(db, principal.workspace_id, before, limit.clamp(1, 200)).await?;
    let ids: Vec<i64> = merges.iter().map(|m| m.survivor_id.get()).collect();
    let readable: Vec<i64> = person::readable(db, principal, &ids).await?.iter().map(|p| p.id.get()).collect();
    Ok(merges.into_iter().filter(|m| readable.contains(&m.survivor_id.get())).collect())
}

/// The standing merge that took `person` away, for their page to say where they went.
pub async fn merged_away(db: &Db, principal: &Principal, person: PersonId) -> Result<Option<Merge>, MergeError> {
    person::get(db, principal, person).await?;
    Ok(store::standing_of(db, principal.workspace_id, person).await?)
}

/// Undoes a merge within [`UNDO_KEEP`]: the merged person comes back with their external id,
/// what moved goes back, the survivor's fields the merge changed return to what they were
/// (fields edited since keep the edit), and the pair returns to the queue.
pub async fn undo(db: &Db, principal: &Principal, id: i64) -> Result<Merge, MergeError> {
    let found = get(db, principal, id).await?;
    if found.undone_at.is_some() {
        return Err(MergeError::Undone);
    }
    if Utc::now() >= found.undo_until() {
        return Err(MergeError::Expired);
    }
    let workspace = principal.workspace_id;
    let reach = person::merge::Reach::of(db, principal).await?;
    let ctx = field::context(db, workspace).await?;
    let defs = field::definitions(db, workspace, Object::Person).await?;
    let actor = principal.actor();
    db.write(move |tx| {
        Box::pin(async move {
            let merge = store::find_in(tx, workspace, id).await?.ok_or(MergeError::NotFound)?;
            if !store::set_undone(tx, workspace, id, Utc::now()).await? {
                return Err(MergeError::Undone);
            }
            let (survivor, merged) = (merge.survivor_id, merge.merged_id);
            let (before, after) = (merge.survivor_before.clone(), merge.survivor_after.clone());
            person::merge::separate(
                tx,
                (workspace, &actor),
                &reach,
                (survivor, merged),
                (
                    move |current: &person::PersonInput| restored(&before, &after, current),
                    merge.merged_external_id.as_deref(),
                ),
                (&defs, ctx),
            )
            .await?;
            let targets = (Target::Person(merged.get()), Target::Person(survivor.get()));
            let activities =
                crate::activity::Moved { notes: merge.moved.notes.clone(), tasks: merge.moved.tasks.clone() };
            crate::activity::move_back(tx, workspace, &activities, targets).await?;
            crate::attachment::move_back(tx, workspace, &merge.moved.attachments, targets).await?;
            crate::company::move_links_back(tx, workspace, &merge.moved.companies, (merged, survivor)).await?;
            crate::tracking::move_back(tx, workspace, &merge.moved.identities, (survivor, merged)).await?;
            crate::order::move_back(tx, workspace, &merge.moved.orders, (survivor, merged)).await?;
            crate::cart::move_back(tx, workspace, &merge.moved.carts, merged).await?;
            if let Some(pair) = &merge.pair {
                crate::dedup::remember(tx, workspace, pair).await?;
            }
            Ok::<_, MergeError>(())
        })
    })
    .await?;
    get(db, principal, id).await
}

/// Queues a bulk merge of every queued pair scoring `min_score` or more, run as the caller.
pub async fn bulk(db: &Db, principal: &Principal, min_score: f64) -> Result<Run, MergeError> {
    if !(0.5..=1.0).contains(&min_score) {
        return Err(MergeError::Invalid(FieldErrors::from([(
            "min_score".into(),
            vec!["must be a probability between 0.5 and 1".into()],
        )])));
    }
    person::merge::Reach::of(db, principal).await?;
    let (workspace, user) = (principal.workspace_id, principal.user_id);
    let caller = Snapshot::of(principal).to_json();
    let id = db
        .write(move |tx| {
            Box::pin(async move {
                let id = store::insert_run(tx, workspace, (user, min_score), &caller, Utc::now()).await?;
                let job = NewJob::new(BULK_JOB, json!({ "workspace_id": workspace, "run_id": id }));
                rapport_jobs::enqueue(tx, &job).await?;
                Ok::<_, DbError>(id)
            })
        })
        .await?;
    run(db, principal, id).await
}

/// A bulk merge of the workspace's.
pub async fn run(db: &Db, principal: &Principal, id: i64) -> Result<Run, MergeError> {
    may_read(principal)?;
    store::run(db, principal.workspace_id, id).await?.ok_or(MergeError::NotFound)
}

fn may_read(principal: &Principal) -> Result<(), MergeError> {
    if principal.may("people", false) { Ok(()) } else { Err(MergeError::Forbidden("your role may not read people")) }
}

/// The workspace's latest bulk merge, for the queue page.
pub async fn latest_run(db: &Db, principal: &Principal) -> Result<Option<Run>, MergeError> {
    may_read(principal)?;
    Ok(store::latest_run(db, principal.workspace_id).await?)
}

#[derive(serde::Deserialize)]
struct BulkPayload {
    workspace_id: WorkspaceId,
    run_id: i64,
}

#[derive(serde::Deserialize)]
struct ScanPayload {
    workspace_id: WorkspaceId,
}

/// Registers the bulk merge and the scan jobs.
pub fn register(registry: Registry) -> Registry {
    registry
        .handle(BULK_JOB, |ctx: JobContext| async move {
            let payload: BulkPayload = serde_json::from_value(ctx.payload)?;
            run_bulk(&ctx.db, payload.workspace_id, payload.run_id).await?;
            Ok(())
        })
        .handle(SCAN_JOB, |ctx: JobContext| async move {
            let payload: ScanPayload = serde_json::from_value(ctx.payload)?;
            let scan = crate::dedup::scan(&ctx.db, payload.workspace_id, crate::dedup::DEFAULT_THRESHOLD).await?;
            tracing::info!(people = scan.people, pairs = scan.pairs.len(), "duplicate scan for the review queue");
            Ok(())
        })
}

/// Queues a scan of the workspace for the review queue (one at a time per workspace); the
/// caller must be able to merge.
pub async fn scan(db: &Db, principal: &Principal) -> Result<(), MergeError> {
    person::merge::Reach::of(db, principal).await?;
    let workspace = principal.workspace_id;
    let job = NewJob::new(SCAN_JOB, json!({ "workspace_id": workspace })).dedupe(format!("{SCAN_JOB}:{workspace}"));
    db.write(move |tx| Box::pin(async move { rapport_jobs::enqueue(tx, &job).await.map(drop) })).await?;
    Ok(())
}

/// When the last scan ran.
pub async fn scanned_at(db: &Db, principal: &Principal) -> Result<Option<rapport_core::Timestamp>, MergeError> {
    Ok(crate::dedup::scanned_at(db, principal.workspace_id).await?)
}

/// Works through the queue from the highest score down to the run's `min_score`, merging the
/// later-created person of each pair into the earlier one with the default choices. A pair
/// whose person went in an earlier merge of the run, or that the member may not merge, is
/// skipped. Progress is stored after every page, so the page shows it as it goes; a run
/// restarted after a crash carries on with what is still queued.
pub async fn run_bulk(db: &Db, workspace: WorkspaceId, id: i64) -> Result<(), MergeError> {
    let Some(found) = store::run(db, workspace, id).await? else { return Ok(()) };
    if matches!(found.status, RunStatus::Done | RunStatus::Failed) {
        return Ok(());
    }
    let Some(principal) = acting(db, workspace, &found).await? else {
        let error = "the member who asked is no longer active";
        return progress(db, workspace, &found, (RunStatus::Failed, found.merged, found.skipped), Some(error)).await;
    };
    let (mut merged, mut skipped) = (found.merged, found.skipped);
    let mut after = None;
    let mut gone: Vec<i64> = Vec::new();
    loop {
        let (page, next) = queue(db, &principal, (found.min_score, after), BULK_PAGE).await?;
        if page.is_empty() {
            break;
        }
        for queued in &page {
            let (a, b) = (queued.a.id.get(), queued.b.id.get());
            if gone.contains(&a) || gone.contains(&b) {
                skipped += 1;
                continue;
            }
            let (survivor, absorbed) = if queued.a.created_at <= queued.b.created_at { (a, b) } else { (b, a) };
            let request = MergeRequest { survivor, merged: absorbed, fields: BTreeMap::new() };
            match merge_as(db, &principal, &request, Some(id)).await {
                Ok(_) => {
                    merged += 1;
                    gone.push(absorbed);
                }
                Err(MergeError::Db(err)) => return Err(MergeError::Db(err)),
                Err(err) => {
                    tracing::info!(survivor, absorbed, error = %err, "bulk merge skipped a pair");
                    skipped += 1;
                }
            }
        }
        progress(db, workspace, &found, (RunStatus::Running, merged, skipped), None).await?;
        // A merged pair leaves the queue, so the next page starts after the last pair kept.
        after = next.and(page.last().map(|q| (q.pair.score, q.pair.a.id, q.pair.b.id)));
        if after.is_none() {
            break;
        }
    }
    progress(db, workspace, &found, (RunStatus::Done, merged, skipped), None).await
}

async fn progress(
    db: &Db,
    workspace: WorkspaceId,
    run: &Run,
    (status, merged, skipped): (RunStatus, i64, i64),
    error: Option<&'static str>,
) -> Result<(), MergeError> {
    let id = run.id;
    let finished = matches!(status, RunStatus::Done | RunStatus::Failed).then(Utc::now);
    db.write(move |tx| {
        Box::pin(async move { store::progress(tx, workspace, id, (status, merged, skipped), (error, finished)).await })
    })
    .await?;
    Ok(())
}

/// Rebuilds the member a bulk merge acts as; `None` when they are no longer an active member.
async fn acting(db: &Db, workspace: WorkspaceId, run: &Run) -> Result<Option<Principal>, MergeError> {
    let user: UserId = run.user_id;
    let email =
        db.write(move |tx| Box::pin(async move { crate::identity::member_email(tx, workspace, user).await })).await?;
    let (Some(email), Some(caller)) = (email, store::run_caller(db, workspace, run.id).await?) else { return Ok(None) };
    Ok(Some(Snapshot::from_json(caller)?.principal(db, (workspace, user, email)).await?))
}
