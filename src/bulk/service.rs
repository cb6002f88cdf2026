//! Bulk use cases. A request checks once what can be checked once (the role may do the action
//! at all, the field exists and is writable for the caller, the filter reads), counts the
//! selection, and stores the job, its durable job and its security log row in one transaction.
//! The job runs as the requester, a batch at a time in id order: every record goes through its
//! object's own use case (update or delete), so reach, field checks, audit rows and domain
//! events are exactly those of a single edit, and a record that fails is counted with its
//! reason while the job goes on. After each batch the highest processed id is saved; a
//! restarted job resumes after it, and "everything matching" is read again batch by batch as
//! the filter AND `id > last`.

use chrono::Utc;
use rapport_core::{CompanyId, FieldChange, PersonId, WorkspaceId};
use rapport_db::{Db, DbError};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use super::model::{Action, BulkJob, NewBulk, Object, Progress, RecordError, Selection, Status};
use super::store;
use crate::access::{FieldAccess, ForbiddenField};
use crate::audit::{AuditAction, AuditEntry};
use crate::http::FieldErrors;
use crate::identity::{Action as Permission, Principal, Snapshot};
use crate::view::ListSpec;

/// Runs of one job before it is given up; each resumes where the last one stopped.
pub const MAX_ATTEMPTS: i32 = 10;
/// Times a record changed by someone else meanwhile is read again before it counts as failed.
const STALE_RETRIES: usize = 3;

#[derive(Debug, thiserror::Error)]
pub enum BulkError {
    #[error("some fields are invalid")]
    Invalid(FieldErrors),
    #[error("no such bulk job")]
    NotFound,
    #[error("{0}")]
    Forbidden(String),
    #[error(transparent)]
    ReadOnly(#[from] ForbiddenField),
    /// The worker is shutting down or lost its lease; the job resumes later.
    #[error("the bulk job was interrupted")]
    Interrupted,
    #[error("handing the selection to the export failed: {0}")]
    Export(String),
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<crate::person::PersonError> for BulkError {
    fn from(err: crate::person::PersonError) -> Self {
        use crate::person::PersonError;
        match err {
            PersonError::Invalid(fields) => Self::Invalid(fields),
            PersonError::NotFound => Self::NotFound,
            PersonError::Db(db) => Self::Db(db),
            other => Self::Forbidden(other.to_string()),
        }
    }
}

impl From<crate::company::CompanyError> for BulkError {
    fn from(err: crate::company::CompanyError) -> Self {
        use crate::company::CompanyError;
        match err {
            CompanyError::Invalid(fields) => Self::Invalid(fields),
            CompanyError::NotFound => Self::NotFound,
            CompanyError::Db(db) => Self::Db(db),
            other => Self::Forbidden(other.to_string()),
        }
    }
}

impl From<crate::export::ExportError> for BulkError {
    fn from(err: crate::export::ExportError) -> Self {
        use crate::export::ExportError;
        match err {
            ExportError::Invalid(fields) => Self::Invalid(fields),
            ExportError::Forbidden(why) => Self::Forbidden(why),
            ExportError::Db(db) => Self::Db(db),
            other => Self::Export(other.to_string()),
        }
    }
}

/// Refuses a caller whose role may not do `action` to `object`'s records at all.
fn allowed(principal: &Principal, object: Object, action: &Action) -> Result<(), BulkError> {
    let module = object.as_str();
    let (permission, verb) = match action {
        Action::Delete => (Permission::Delete, "delete"),
        Action::Export(_) => (Permission::Export, "export"),
        _ => (Permission::Update, "change"),
    };
    if principal.can(module, Permission::Read).is_none() || principal.can(module, permission).is_none() {
        return Err(BulkError::Forbidden(format!("your role may not {verb} {module}")));
    }
    Ok(())
}

/// Refuses a field the object does not have, and one the caller's field rules keep them from
/// writing, as a single edit would.
async fn check_fields(db: &Db, principal: &Principal, new: &NewBulk, access: &FieldAccess) -> Result<(), BulkError> {
    if let Action::SetField { field, .. } = &new.action {
        let builtin = new.object.vocabulary().iter().any(|def| def.key == field);
        let custom = match crate::field::Object::parse(new.object.as_str()) {
            Some(object) => crate::field::definitions(db, principal.workspace_id, object)
                .await?
                .iter()
                .any(|def| def.active() && def.key == *field),
            None => false,
        };
        if !builtin && !custom {
            return Err(BulkError::Invalid(FieldErrors::from([(
                "field".into(),
                vec![format!("{field} is not a field of {}", new.object.as_str())],
            )])));
        }
    }
    writable(&new.action, access)
}

fn writable(action: &Action, access: &FieldAccess) -> Result<(), BulkError> {
    let written = action.patch(&[]).map(|patch| crate::profile::written_fields(&patch)).unwrap_or_default();
    Ok(access.check_write(written.iter().map(String::as_str))?)
}

/// The list spec of a filter selection's batch after record `last`, in id order.
fn batch_spec(tree: Option<Value>, last: i64, limit: i64) -> ListSpec {
    ListSpec { trash: false, filter: tree, sort: Some("created_at".into()), cursor: Some(last.to_string()), limit }
}

/// How many records the selection names: the ids given, or the records the caller may read
/// that match the filter (which this reads, so a filter the list refuses is refused here).
async fn count(db: &Db, principal: &Principal, access: &FieldAccess, new: &NewBulk) -> Result<i64, BulkError> {
    match &new.selection {
        Selection::Ids(ids) => Ok(i64::try_from(ids.len()).unwrap_or(i64::MAX)),
        Selection::Filter(tree) => {
            let spec = batch_spec(tree.clone(), 0, 1);
            Ok(match new.object {
                Object::People => crate::person::count(db, principal, access, &spec).await?,
                Object::Companies => crate::company::count(db, principal, access, &spec).await?,
            })
        }
    }
}

/// Asks for `new` as the caller: the job row, its durable job and its security log row commit
/// together. An export is handed to the export module at once, as one export of the same
/// selection (which logs it as an export).
pub async fn request(
    db: &Db,
    principal: &Principal,
    new: NewBulk,
    request_id: Option<&str>,
) -> Result<BulkJob, BulkError> {
    allowed(principal, new.object, &new.action)?;
    let access = crate::access::field_access(db, principal, new.object.field_object()).await?;
    check_fields(db, principal, &new, &access).await?;
    let total = count(db, principal, &access, &new).await?;
    let export_id = match &new.action {
        Action::Export(format) => Some(handoff(db, principal, &new, *format, request_id).await?),
        _ => None,
    };
    let caller = Snapshot::of(principal).to_json();
    let (workspace, user, actor) = (principal.workspace_id, principal.user_id, principal.actor());
    let request_id = request_id.map(str::to_owned);
    let id = db
        .write(move |tx| {
            Box::pin(async move {
                let row =
                    store::NewRow { workspace, user, new: &new, caller: &caller, total, export_id, now: Utc::now() };
                let id = store::insert(tx, &row).await?;
                let changes: Vec<FieldChange> = [
                    ("object", Value::from(new.object.as_str())),
                    ("action", Value::from(new.action.name())),
                    ("argument", new.action.argument()),
                    ("selection", new.selection.to_json()),
                    ("total", Value::from(total)),
                ]
                .into_iter()
                .filter_map(|(field, value)| FieldChange::between(field, Value::Null, value))
                .collect();
                let entry = AuditEntry {
                    workspace,
                    actor: &actor,
                    request_id: request_id.as_deref(),
                    entity: "bulk_job",
                    entity_id: id,
                    action: if new.action == Action::Delete { AuditAction::Delete } else { AuditAction::Update },
                    changes: &changes,
                };
                crate::audit::record_security(tx, &entry).await?;
                if export_id.is_none() {
                    let job =
                        rapport_jobs::NewJob::new(super::RUN_JOB, json!({"workspace_id": workspace, "bulk_id": id}))
                            .workspace(workspace)
                            .max_attempts(MAX_ATTEMPTS);
                    rapport_jobs::enqueue(tx, &job).await?;
                }
                Ok::<_, DbError>(id)
            })
        })
        .await?;
    get(db, principal, id).await
}

async fn handoff(
    db: &Db,
    principal: &Principal,
    new: &NewBulk,
    format: crate::export::Format,
    request_id: Option<&str>,
) -> Result<i64, BulkError> {
    let asked = crate::export::ExportRequest {
        object: new.object.as_str().to_owned(),
        format: format.as_str().to_owned(),
        filter: super::model::export_filter(&new.selection),
    };
    let export = crate::export::NewExport::parse(&asked).map_err(BulkError::Invalid)?;
    Ok(crate::export::request(db, principal, export, request_id).await?.id)
}

/// A bulk job of the caller's, or any of the workspace's for an admin; anyone else's is
/// missing.
pub async fn get(db: &Db, principal: &Principal, id: i64) -> Result<BulkJob, BulkError> {
    let admin = principal.can("workspace", Permission::Admin).is_some();
    store::find(db, principal.workspace_id, id)
        .await?
        .filter(|job| admin || job.user_id == principal.user_id)
        .ok_or(BulkError::NotFound)
}

/// Cancels a queued or running job: it stops after the batch it is in. A finished job stays
/// as it is.
pub async fn cancel(db: &Db, principal: &Principal, id: i64) -> Result<BulkJob, BulkError> {
    get(db, principal, id).await?;
    let workspace = principal.workspace_id;
    db.write(move |tx| {
        Box::pin(async move { store::finish(tx, workspace, id, (Status::Cancelled, None), Utc::now()).await })
    })
    .await?;
    get(db, principal, id).await
}

/// The job's body: runs batches until the selection is done, the job is cancelled, or the
/// worker asks it to stop (then it resumes later, after the last saved batch). A run that
/// fails on its last attempt marks the job failed, so it never shows as running for ever.
pub async fn run(
    db: &Db,
    job: (WorkspaceId, i64),
    (batch, attempt): (i64, i32),
    cancelled: &CancellationToken,
) -> Result<(), BulkError> {
    let ran = async {
        while step(db, job, batch, cancelled).await? {
            if cancelled.is_cancelled() {
                return Err(BulkError::Interrupted);
            }
        }
        Ok(())
    }
    .await;
    match ran {
        Err(err) if attempt >= MAX_ATTEMPTS && !matches!(err, BulkError::Interrupted) => {
            tracing::error!(bulk = job.1, error = %err, "a bulk job failed for good");
            fail(db, job.0, job.1, "the job could not finish; ask again, or quote its id to support").await?;
            Err(err)
        }
        other => other,
    }
}

/// Runs one batch of the job (at most `batch` records) and saves its progress; answers whether
/// more may follow. The requester's access is rebuilt for every batch, so a role taken away
/// stops the job at the next batch.
pub async fn step(
    db: &Db,
    (workspace, id): (WorkspaceId, i64),
    batch: i64,
    cancelled: &CancellationToken,
) -> Result<bool, BulkError> {
    let Some(job) = store::find(db, workspace, id).await? else { return Ok(false) };
    if job.status.is_finished() {
        return Ok(false);
    }
    let principal = match start(db, workspace, &job).await? {
        Start::Running(principal) => principal,
        Start::Stopped => return Ok(false),
        Start::Refused(why) => return fail(db, workspace, id, &why).await.map(|()| false),
    };
    let access = crate::access::field_access(db, &principal, job.object.field_object()).await?;
    let checked = allowed(&principal, job.object, &job.action).and_then(|()| writable(&job.action, &access));
    if let Err(refused) = checked {
        return fail(db, workspace, id, &refused.to_string()).await.map(|()| false);
    }
    let ids = match next_ids(db, &principal, &access, &job, batch).await {
        Ok(ids) => ids,
        Err(BulkError::Db(err)) => return Err(err.into()),
        // The filter no longer reads for the requester (a field it names was retired or hidden).
        Err(BulkError::Invalid(fields)) => {
            let why = format!("the filter no longer applies: {}", fields_text(&fields));
            return fail(db, workspace, id, &why).await.map(|()| false);
        }
        Err(refused) => return fail(db, workspace, id, &refused.to_string()).await.map(|()| false),
    };
    if ids.is_empty() {
        finish(db, workspace, id, Status::Done).await?;
        return Ok(false);
    }
    let mut progress = Progress { last_id: job.last_id, ..Progress::default() };
    for record in ids {
        if cancelled.is_cancelled() {
            break;
        }
        let outcome = match apply(db, &principal, job.object, &job.action, record).await {
            Ok(outcome) => outcome,
            Err(err) => {
                save(db, workspace, &job, &progress).await?;
                return Err(err);
            }
        };
        match outcome {
            Ok(()) => progress.done += 1,
            Err(error) => {
                progress.failed += 1;
                progress.errors.push(error);
            }
        }
        progress.last_id = record;
    }
    save(db, workspace, &job, &progress).await?;
    Ok(true)
}

enum Start {
    Running(Principal),
    /// Cancelled or finished meanwhile.
    Stopped,
    /// The requester can no longer act: the job fails with this reason.
    Refused(String),
}

/// Marks the job running and rebuilds its requester.
async fn start(db: &Db, workspace: WorkspaceId, job: &BulkJob) -> Result<Start, BulkError> {
    let (id, user) = (job.id, job.user_id);
    let started = db
        .write(move |tx| {
            Box::pin(async move {
                let Some(email) = crate::identity::member_email(tx, workspace, user).await? else {
                    return Ok(None);
                };
                let caller = store::caller(tx, workspace, id).await?;
                let running = store::set_running(tx, workspace, id, Utc::now()).await?;
                Ok::<_, DbError>(Some((email, caller, running)))
            })
        })
        .await?;
    let Some((email, caller, running)) = started else {
        return Ok(Start::Refused("the member who asked for it is no longer active".into()));
    };
    let Some(caller) = caller.filter(|_| running) else { return Ok(Start::Stopped) };
    let principal = Snapshot::from_json(caller)?.principal(db, (workspace, user, email)).await?;
    Ok(Start::Running(principal))
}

async fn fail(db: &Db, workspace: WorkspaceId, id: i64, why: &str) -> Result<(), BulkError> {
    let why = why.to_owned();
    db.write(move |tx| {
        Box::pin(
            async move { store::finish(tx, workspace, id, (Status::Failed, Some(why.as_str())), Utc::now()).await },
        )
    })
    .await?;
    Ok(())
}

async fn finish(db: &Db, workspace: WorkspaceId, id: i64, status: Status) -> Result<(), BulkError> {
    db.write(move |tx| Box::pin(async move { store::finish(tx, workspace, id, (status, None), Utc::now()).await }))
        .await?;
    Ok(())
}

async fn save(db: &Db, workspace: WorkspaceId, job: &BulkJob, progress: &Progress) -> Result<(), BulkError> {
    if progress.last_id == job.last_id {
        return Ok(());
    }
    let errors = Progress::merged_errors(&job.errors, &progress.errors);
    let (id, progress) = (job.id, progress.clone());
    db.write(move |tx| {
        Box::pin(async move { store::progress(tx, workspace, id, &progress, &errors, Utc::now()).await })
    })
    .await?;
    Ok(())
}

/// The ids of the next batch, after the last one processed: the next given ids, or the next
/// records matching the filter as the caller reads the list.
async fn next_ids(
    db: &Db,
    principal: &Principal,
    access: &FieldAccess,
    job: &BulkJob,
    batch: i64,
) -> Result<Vec<i64>, BulkError> {
    let limit = usize::try_from(batch).unwrap_or(1);
    match &job.selection {
        Selection::Ids(ids) => Ok(ids.iter().copied().filter(|id| *id > job.last_id).take(limit).collect()),
        Selection::Filter(tree) => {
            let spec = batch_spec(tree.clone(), job.last_id, batch);
            Ok(match job.object {
                Object::People => {
                    let page = crate::person::list(db, principal, access, &spec).await?;
                    page.people.iter().map(|person| person.id.get()).collect()
                }
                Object::Companies => {
                    let page = crate::company::list(db, principal, access, &spec).await?;
                    page.companies.iter().map(|company| company.id.get()).collect()
                }
            })
        }
    }
}

/// What one record's change came to: `Err` with the record's error when it failed; a
/// database failure stops the batch instead, since it is no record's fault.
type Outcome = Result<(), RecordError>;

fn record_error(id: i64, code: &str, reason: impl Into<String>) -> RecordError {
    RecordError { id, code: code.to_owned(), reason: reason.into() }
}

fn fields_text(fields: &FieldErrors) -> String {
    fields.iter().map(|(field, messages)| format!("{field}: {}", messages.join("; "))).collect::<Vec<_>>().join(". ")
}

async fn apply(db: &Db, principal: &Principal, object: Object, action: &Action, id: i64) -> Result<Outcome, BulkError> {
    match object {
        Object::People => person(db, principal, action, id).await,
        Object::Companies => company(db, principal, action, id).await,
    }
}

/// One person through the person module's own use cases. A delete of someone already in the
/// trash counts as done, so a batch run again after a crash counts each record once.
async fn person(db: &Db, principal: &Principal, action: &Action, id: i64) -> Result<Outcome, BulkError> {
    use crate::person::{self, PersonError};
    let person_id = PersonId::new(id);
    let mut result = Err(PersonError::Stale);
    for _ in 0..STALE_RETRIES {
        result = match person::get(db, principal, person_id).await {
            Ok(found) if found.deleted_at.is_some() && *action == Action::Delete => Ok(()),
            Ok(found) if found.deleted_at.is_some() => Err(PersonError::NotFound),
            Ok(_) if *action == Action::Delete => person::delete(db, principal, person_id).await,
            Ok(found) => match action.patch(&found.fields.tags) {
                None => Ok(()),
                Some(patch) => person::update(db, principal, person_id, patch, Some(found.version)).await.map(drop),
            },
            Err(err) => Err(err),
        };
        if !matches!(result, Err(PersonError::Stale)) {
            break;
        }
    }
    Ok(match result {
        Ok(()) => Ok(()),
        Err(PersonError::Db(err)) => return Err(err.into()),
        Err(PersonError::NotFound) => Err(record_error(id, "not_found", "no such person")),
        Err(PersonError::Invalid(fields)) => Err(record_error(id, "invalid", fields_text(&fields))),
        Err(PersonError::Stale) => Err(record_error(id, "changed", "kept changing while the action ran")),
        Err(err @ (PersonError::Forbidden(_) | PersonError::OwnerOutOfReach)) => {
            Err(record_error(id, "forbidden", err.to_string()))
        }
        Err(other) => Err(record_error(id, "invalid", other.to_string())),
    })
}

/// One company through the company module's own use cases, as [`person`] does.
async fn company(db: &Db, principal: &Principal, action: &Action, id: i64) -> Result<Outcome, BulkError> {
    use crate::company::{self, CompanyError};
    let company_id = CompanyId::new(id);
    let mut result = Err(CompanyError::Stale);
    for _ in 0..STALE_RETRIES {
        result = match company::get(db, principal, company_id).await {
            Ok(found) if found.deleted_at.is_some() && *action == Action::Delete => Ok(()),
            Ok(found) if found.deleted_at.is_some() => Err(CompanyError::NotFound),
            Ok(_) if *action == Action::Delete => company::delete(db, principal, company_id).await,
            Ok(found) => match action.patch(&found.fields.tags) {
                None => Ok(()),
                Some(patch) => company::update(db, principal, company_id, patch, Some(found.version)).await.map(drop),
            },
            Err(err) => Err(err),
        };
        if !matches!(result, Err(CompanyError::Stale)) {
            break;
        }
    }
    Ok(match result {
        Ok(()) => Ok(()),
        Err(CompanyError::Db(err)) => return Err(err.into()),
        Err(CompanyError::NotFound) => Err(record_error(id, "not_found", "no such company")),
        Err(CompanyError::Invalid(fields)) => Err(record_error(id, "invalid", fields_text(&fields))),
        Err(CompanyError::Stale) => Err(record_error(id, "changed", "kept changing while the action ran")),
        Err(err @ (CompanyError::Forbidden(_) | CompanyError::OwnerOutOfReach)) => {
            Err(record_error(id, "forbidden", err.to_string()))
        }
        Err(other) => Err(record_error(id, "invalid", other.to_string())),
    })
}
