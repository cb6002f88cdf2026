//! Export use cases. A request is one transaction holding the export's row, its job and its
//! security log row. The job runs as the requester: it rebuilds their principal from the access
//! they had when they asked (role, custom role, token scopes; the custom role's grants and the
//! field rules as they are now) and reads the list through the list module's own function, a
//! page at a time, so reach and field rules decide exactly as they do on the list page. A
//! download needs the requester and an unexpired signed link.

use std::path::{Path, PathBuf};
use std::time::Instant;

use chrono::{Duration, Utc};
use rapport_core::{FieldChange, Timestamp, UserId, WorkspaceId};
use rapport_db::{Db, DbError};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use super::format::{Record, WriteError, Writer};
use super::model::{Export, Format, ListFilter, NewExport, Object, Status};
use super::store;
use super::vcard::Org;
use crate::access::{FieldAccess, OwnerFilter};
use crate::audit::{AuditAction, AuditEntry};
use crate::identity::{Action, Principal, Snapshot};
use crate::profile::{COUNT_CAP, governing_field, projected};

/// How long a finished export's link works.
pub const LINK_TTL: Duration = Duration::hours(24);
/// A failed export's partial file is kept this long for inspection, then swept.
const FAILED_KEEP: Duration = Duration::hours(24);
/// Rows per page read from the list: the list's own maximum.
const PAGE: i64 = 200;
/// Progress is written at most this often, so that a million rows cost a handful of writes.
const PROGRESS_EVERY: std::time::Duration = std::time::Duration::from_secs(1);
/// Runs of one export before it is given up as failed.
pub const MAX_ATTEMPTS: i32 = 3;
/// Exports a caller's page and list show.
const SHOWN: i64 = 50;

#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// The filter or sort is wrong; each bad place is named.
    #[error("some fields are invalid")]
    Invalid(crate::http::FieldErrors),
    #[error("no such export")]
    NotFound,
    #[error("{0}")]
    Forbidden(String),
    #[error("this export's download link has expired")]
    Gone,
    #[error("this export has no file to download yet")]
    NotReady,
    /// The worker is shutting down or lost its lease; the job runs again.
    #[error("the export was interrupted")]
    Interrupted,
    #[error("writing the export file failed: {0}")]
    File(String),
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<WriteError> for ExportError {
    fn from(err: WriteError) -> Self {
        Self::File(err.to_string())
    }
}

impl From<std::io::Error> for ExportError {
    fn from(err: std::io::Error) -> Self {
        Self::File(err.to_string())
    }
}

impl From<crate::person::PersonError> for ExportError {
    fn from(err: crate::person::PersonError) -> Self {
        use crate::person::PersonError;
        match err {
            PersonError::Forbidden(why) => Self::Forbidden(why.into()),
            PersonError::Invalid(fields) => Self::Invalid(fields),
            PersonError::Db(db) => Self::Db(db),
            other => Self::File(other.to_string()),
        }
    }
}

impl From<crate::company::CompanyError> for ExportError {
    fn from(err: crate::company::CompanyError) -> Self {
        match err {
            crate::company::CompanyError::Forbidden(why) => Self::Forbidden(why.into()),
            crate::company::CompanyError::Db(db) => Self::Db(db),
            crate::company::CompanyError::Invalid(fields) => Self::Invalid(fields),
            other => Self::File(other.to_string()),
        }
    }
}

/// Refuses a caller who may not read `object`, or may not export it.
fn allowed(principal: &Principal, object: Object) -> Result<(), ExportError> {
    let module = object.as_str();
    if principal.can(module, Action::Read).is_none() {
        return Err(ExportError::Forbidden(format!("your role may not read {module}")));
    }
    if principal.can(module, Action::Export).is_none() {
        return Err(ExportError::Forbidden(format!("your role may not export {module}")));
    }
    Ok(())
}

/// Asks for an export of `new`'s list as the caller: the row, the job that writes the file
/// and the security log row commit together.
/// Refuses a filter or sort the list would refuse, before any job is queued, by reading one row
/// of the list as the requester.
async fn check_filter(db: &Db, principal: &Principal, filter: &ListFilter) -> Result<(), ExportError> {
    let spec = filter.spec(None, 1).map_err(|problem| {
        ExportError::Invalid(crate::http::FieldErrors::from([(
            format!("filter.{}", problem.path),
            vec![problem.message],
        )]))
    })?;
    let access = crate::access::field_access(db, principal, filter.object().field_object()).await?;
    match filter {
        ListFilter::People(_) => drop(crate::person::list(db, principal, &access, &spec).await?),
        ListFilter::Companies(_) => drop(crate::company::list(db, principal, &access, &spec).await?),
    }
    Ok(())
}

pub async fn request(
    db: &Db,
    principal: &Principal,
    new: NewExport,
    request_id: Option<&str>,
) -> Result<Export, ExportError> {
    let object = new.filter.object();
    allowed(principal, object)?;
    check_filter(db, principal, &new.filter).await?;
    let caller = Snapshot::of(principal).to_json();
    let (workspace, user, actor) = (principal.workspace_id, principal.user_id, principal.actor());
    let request_id = request_id.map(str::to_owned);
    let id = db
        .write(move |tx| {
            Box::pin(async move {
                let now = Utc::now();
                let row =
                    store::NewRow { workspace, user, filter: &new.filter, format: new.format, caller: &caller, now };
                let id = store::insert(tx, &row).await?;
                let job =
                    rapport_jobs::NewJob::new(super::RUN_JOB, json!({"workspace_id": workspace, "export_id": id}))
                        .workspace(workspace)
                        .max_attempts(MAX_ATTEMPTS);
                rapport_jobs::enqueue(tx, &job).await?;
                let changes: Vec<FieldChange> = [
                    ("object", Value::from(object.as_str())),
                    ("format", Value::from(new.format.as_str())),
                    ("filter", new.filter.to_json()),
                ]
                .into_iter()
                .filter_map(|(field, value)| FieldChange::between(field, Value::Null, value))
                .collect();
                let entry = AuditEntry {
                    workspace,
                    actor: &actor,
                    request_id: request_id.as_deref(),
                    entity: "export",
                    entity_id: id,
                    action: AuditAction::Export,
                    changes: &changes,
                };
                crate::audit::record_security(tx, &entry).await?;
                Ok::<_, DbError>(id)
            })
        })
        .await?;
    get(db, principal, id).await
}

/// One of the caller's own exports; anyone else's is missing.
pub async fn get(db: &Db, principal: &Principal, id: i64) -> Result<Export, ExportError> {
    store::find(db, principal.workspace_id, id)
        .await?
        .filter(|export| export.user_id == principal.user_id)
        .ok_or(ExportError::NotFound)
}

/// The caller's latest exports, newest first.
pub async fn mine(db: &Db, principal: &Principal) -> Result<Vec<Export>, ExportError> {
    Ok(store::of_user(db, principal.workspace_id, principal.user_id, SHOWN).await?)
}

/// Where an export's file lives: `DATA_DIR/exports/WORKSPACE/ID.EXT`.
pub fn file_path(data_dir: &Path, workspace: WorkspaceId, id: i64, format: Format) -> PathBuf {
    data_dir.join("exports").join(workspace.to_string()).join(format!("{id}.{}", format.extension()))
}

fn partial(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".part");
    PathBuf::from(name)
}

/// The signed token of an export's link: HMAC-SHA256 over the workspace, the export and its
/// requester, so a link cannot be altered to name another export. How long it works is the
/// export's own `expires_at`, checked on every download.
fn link_token(key: &[u8; 32], export: &Export, workspace: WorkspaceId) -> String {
    use hmac::Mac;
    hex::encode(link_mac(key, export, workspace).finalize().into_bytes())
}

fn link_mac(key: &[u8; 32], export: &Export, workspace: WorkspaceId) -> hmac::Hmac<sha2::Sha256> {
    use hmac::{KeyInit, Mac};
    let mut mac = <hmac::Hmac<sha2::Sha256> as KeyInit>::new_from_slice(key).expect("HMAC takes keys of any length");
    mac.update(format!("export-link:{workspace}:{}:{}", export.id, export.user_id).as_bytes());
    mac
}

/// The download link of a finished export whose link has not expired, relative to the site.
pub fn download_url(key: &[u8; 32], workspace: WorkspaceId, export: &Export, now: Timestamp) -> Option<String> {
    if export.status != Status::Done || export.expired_at(now) {
        return None;
    }
    let token = link_token(key, export, workspace);
    Some(format!("/api/v1/exports/{}/download?token={token}", export.id))
}

/// The file behind a download link, for its requester: a wrong token is a missing export, an
/// expired link is [`ExportError::Gone`].
pub async fn download(
    db: &Db,
    principal: &Principal,
    (key, data_dir): (&[u8; 32], &Path),
    id: i64,
    token: &str,
) -> Result<(Export, PathBuf), ExportError> {
    use hmac::Mac;
    let export = get(db, principal, id).await?;
    let presented = hex::decode(token).map_err(|_| ExportError::NotFound)?;
    link_mac(key, &export, principal.workspace_id).verify_slice(&presented).map_err(|_| ExportError::NotFound)?;
    if !matches!(export.status, Status::Done | Status::Expired) {
        return Err(ExportError::NotReady);
    }
    if export.expired_at(Utc::now()) {
        return Err(ExportError::Gone);
    }
    let path = file_path(data_dir, principal.workspace_id, id, export.format);
    if !tokio::fs::try_exists(&path).await? {
        return Err(ExportError::Gone);
    }
    Ok((export, path))
}

/// The job's body: writes the export's file, or marks it failed when it cannot be written by
/// its requester any more (or on its last attempt). Idempotent: a finished export is left as
/// it is, and a run that was interrupted starts the file again.
pub async fn run(
    db: &Db,
    data_dir: &Path,
    (workspace, id): (WorkspaceId, i64),
    (attempt, cancelled): (i32, &CancellationToken),
) -> Result<(), ExportError> {
    let Some(export) = store::find(db, workspace, id).await? else { return Ok(()) };
    if export.status.is_finished() {
        return Ok(());
    }
    match write_file(db, data_dir, workspace, &export, cancelled).await {
        Ok(()) => Ok(()),
        Err(ExportError::Forbidden(why)) => fail(db, workspace, id, &why).await,
        Err(err @ ExportError::Interrupted) => Err(err),
        Err(err) if attempt >= MAX_ATTEMPTS => {
            tracing::error!(export = id, error = %err, "an export failed for good");
            let _ = tokio::fs::remove_file(partial(&file_path(data_dir, workspace, id, export.format))).await;
            fail(db, workspace, id, "the export could not be written; ask again, or quote its id to support").await?;
            Err(err)
        }
        Err(err) => Err(err),
    }
}

async fn fail(db: &Db, workspace: WorkspaceId, id: i64, why: &str) -> Result<(), ExportError> {
    let why = why.to_owned();
    db.write(move |tx| Box::pin(async move { store::fail(tx, workspace, id, &why, Utc::now()).await })).await?;
    Ok(())
}

/// Marks the export running and rebuilds its requester, or refuses when they are no longer an
/// active member.
async fn start(db: &Db, workspace: WorkspaceId, export: &Export) -> Result<Principal, ExportError> {
    let (id, user) = (export.id, export.user_id);
    let started = db
        .write(move |tx| {
            Box::pin(async move {
                let Some(email) = crate::identity::member_email(tx, workspace, user).await? else {
                    return Ok(None);
                };
                let caller = store::caller(tx, workspace, id).await?;
                store::set_running(tx, workspace, id, Utc::now()).await?;
                Ok::<_, DbError>(caller.map(|caller| (email, caller)))
            })
        })
        .await?;
    let (email, caller) =
        started.ok_or_else(|| ExportError::Forbidden("the member who asked for it is no longer active".into()))?;
    Ok(Snapshot::from_json(caller)?.principal(db, (workspace, user, email)).await?)
}

/// What one run reads with: the requester, their field rules and export reach.
struct Reader<'a> {
    db: &'a Db,
    principal: Principal,
    access: FieldAccess,
    reach: OwnerFilter,
    /// vCards carry the companies a person works for, when the caller may see them.
    orgs: bool,
}

/// A page of records, the cursor of the next page and the list's capped count.
type Page = (Vec<Record>, Option<String>, i64);

impl Reader<'_> {
    async fn page(&self, filter: &ListFilter, after: Option<String>) -> Result<Page, ExportError> {
        let covers = |owner: Option<i64>| self.reach.covers(owner.map(UserId::new));
        let spec = filter.spec(after, PAGE).map_err(|problem| ExportError::File(problem.to_string()))?;
        match filter {
            ListFilter::People(_) => {
                let page = crate::person::list(self.db, &self.principal, &self.access, &spec).await?;
                let mut records = Vec::with_capacity(page.people.len());
                for person in page.people.iter().filter(|p| covers(p.fields.owner)) {
                    let view = projected(&self.access, crate::person::api::view_json(person));
                    records.push(Record { view, orgs: self.orgs_of(person.id).await? });
                }
                Ok((records, page.next, page.count))
            }
            ListFilter::Companies(_) => {
                let page = crate::company::list(self.db, &self.principal, &self.access, &spec).await?;
                let records = page
                    .companies
                    .iter()
                    .filter(|c| covers(c.fields.owner))
                    .map(|company| Record {
                        view: projected(&self.access, crate::company::api::view_json(company)),
                        orgs: Vec::new(),
                    })
                    .collect();
                Ok((records, page.next, page.count))
            }
        }
    }

    async fn orgs_of(&self, person: rapport_core::PersonId) -> Result<Vec<Org>, ExportError> {
        if !self.orgs {
            return Ok(Vec::new());
        }
        let links = crate::company::companies_of(self.db, &self.principal, person).await?;
        Ok(links.into_iter().map(|link| Org { name: link.company_name, title: link.title }).collect())
    }
}

/// The columns of a tabular export: the id, then every vocabulary field the caller may see.
fn columns(object: Object, access: &FieldAccess) -> Vec<&'static str> {
    std::iter::once("id")
        .chain(object.vocabulary().iter().map(|field| field.key).filter(|key| access.visible(governing_field(key))))
        .collect()
}

async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, WriteError> + Send + 'static,
) -> Result<T, ExportError> {
    tokio::task::spawn_blocking(work).await.map_err(|e| ExportError::File(e.to_string()))?.map_err(ExportError::from)
}

async fn write_file(
    db: &Db,
    data_dir: &Path,
    workspace: WorkspaceId,
    export: &Export,
    cancelled: &CancellationToken,
) -> Result<(), ExportError> {
    let object = export.filter.object();
    let principal = start(db, workspace, export).await?;
    allowed(&principal, object)?;
    let access = crate::access::field_access(db, &principal, object.field_object()).await?;
    let reach = crate::access::record_filter(db, &principal, object.as_str(), Action::Export)
        .await?
        .ok_or_else(|| ExportError::Forbidden(format!("your role may not export {}", object.as_str())))?;
    let orgs = export.format == Format::Vcard
        && principal.can(Object::Companies.as_str(), Action::Read).is_some()
        && crate::access::field_access(db, &principal, Object::Companies.field_object()).await?.visible("name");
    let reader = Reader { db, principal, access, reach, orgs };

    let path = file_path(data_dir, workspace, export.id, export.format);
    let part = partial(&path);
    let scratch = path.parent().map(Path::to_path_buf).unwrap_or_else(|| data_dir.to_path_buf());
    tokio::fs::create_dir_all(&scratch).await?;
    let (format, title, header) = (export.format, object.title(), columns(object, &reader.access));
    let target = part.clone();
    let mut writer = blocking(move || Writer::create(format, &target, &scratch, title, header)).await?;

    let (mut after, mut done, mut total) = (None, 0i64, None);
    let mut reported = Instant::now();
    loop {
        if cancelled.is_cancelled() {
            return Err(ExportError::Interrupted);
        }
        let first = after.is_none();
        let (records, next, count) = reader.page(&export.filter, after.take()).await?;
        if first {
            total = (count <= COUNT_CAP).then_some(count);
        }
        done += i64::try_from(records.len()).unwrap_or(i64::MAX);
        writer = blocking(move || {
            for record in &records {
                writer.write(record)?;
            }
            Ok(writer)
        })
        .await?;
        if first || reported.elapsed() >= PROGRESS_EVERY {
            reported = Instant::now();
            let id = export.id;
            db.write(move |tx| {
                Box::pin(async move { store::progress(tx, workspace, id, (done, total), Utc::now()).await })
            })
            .await?;
        }
        match next {
            Some(cursor) => after = Some(cursor),
            None => break,
        }
    }
    blocking(move || writer.finish()).await?;
    tokio::fs::rename(&part, &path).await?;
    let bytes = i64::try_from(tokio::fs::metadata(&path).await?.len()).unwrap_or(i64::MAX);
    let id = export.id;
    db.write(move |tx| {
        Box::pin(async move {
            let now = Utc::now();
            store::finish(tx, workspace, id, (done, bytes), (now, now + LINK_TTL)).await
        })
    })
    .await?;
    tracing::info!(export = id, rows = done, bytes, "export written");
    Ok(())
}

/// Removes the files of expired and long-failed exports, in every workspace; returns how many.
pub async fn sweep(db: &Db, data_dir: &Path) -> Result<usize, ExportError> {
    let mut swept = 0;
    loop {
        let now = Utc::now();
        let due = store::to_sweep(db, now, now - FAILED_KEEP, 500).await?;
        if due.is_empty() {
            return Ok(swept);
        }
        for (workspace, id, format) in due {
            let path = file_path(data_dir, workspace, id, format);
            for file in [partial(&path), path] {
                match tokio::fs::remove_file(&file).await {
                    Err(err) if err.kind() != std::io::ErrorKind::NotFound => return Err(err.into()),
                    _ => {}
                }
            }
            db.write(move |tx| Box::pin(async move { store::swept(tx, workspace, id, Utc::now()).await })).await?;
            swept += 1;
        }
    }
}
