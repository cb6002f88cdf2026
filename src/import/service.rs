//! Import use cases. An upload stores the file under the data directory and a draft holding its
//! headers and a suggested mapping. A start checks the mapping against the file, the fields and
//! the caller's permissions and field rules, creates the custom fields asked for, and queues
//! the run as a durable job, in one transaction with its security log row.
//!
//! A run acts as the member who started it. A reading thread streams the file from the first
//! uncommitted row and turns rows into checked records on its own core; the writer commits one
//! batch per transaction: the records (each with its audit row, domain event, custom values and
//! search document), the rows' outcomes, the refused rows' reasons, and the move of `next_row`
//! past the batch, guarded by where the batch began. A crash loses at most the batch in flight,
//! which the next run writes again from the same row; a batch is never written twice. An undo
//! takes the committed rows back from the last: what was created is erased, what was changed is
//! put back as it was.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use chrono::Utc;
use rapport_core::{Email, PersonId, WorkspaceId};
use rapport_db::{Db, DbError};
use serde_json::{Value, json};
use tokio::io::AsyncWriteExt;
use tokio_util::sync::CancellationToken;

use super::model::{
    Column, Counts, DuplicateOf, DuplicatePolicy, DuplicateWarning, Duplicates, Import, MatchOn, Mode, Object, Plan,
    Rejection, Settings, Status, rejections,
};
use super::read::{self, Row, RowError, Table, dates::DateFormat};
use super::store::{self, NewImport, Written};
use crate::access::{ForbiddenField, OwnerFilter};
use crate::audit::{AuditAction, AuditEntry};
use crate::field::{self, CustomField, ValueContext};
use crate::http::FieldErrors;
use crate::identity::{Action, Principal, Snapshot};
use crate::person::import::{self as people, Key, Reach};
use crate::person::{NewPerson, Person, PersonError, PersonInput};

/// Runs of one import before it is given up; each resumes where the last one stopped.
pub const MAX_ATTEMPTS: i32 = 10;
/// Rows sampled for the preview, and for detecting the date format.
const SAMPLE_ROWS: usize = 1000;
/// Committed rows an undo takes back per transaction.
const UNDO_BATCH: i64 = 500;

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("some fields are invalid")]
    Invalid(FieldErrors),
    #[error("no such import")]
    NotFound,
    #[error("{0}")]
    Forbidden(String),
    #[error(transparent)]
    ReadOnly(#[from] ForbiddenField),
    /// The import is not in a state that allows this.
    #[error("{0}")]
    Conflict(&'static str),
    #[error("the file is larger than the limit of {} MiB", .0 >> 20)]
    TooLarge(u64),
    #[error("the file cannot be read: {0}")]
    File(String),
    /// The worker is shutting down, lost its lease, or another runner moved the import on.
    #[error("the import was interrupted")]
    Interrupted,
    /// Storing or reading the import's own file failed: the server's fault, not the file's.
    #[error("storing the import's file: {0}")]
    Io(String),
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<read::ReadError> for ImportError {
    fn from(err: read::ReadError) -> Self {
        Self::File(err.to_string())
    }
}

impl From<std::io::Error> for ImportError {
    fn from(err: std::io::Error) -> Self {
        Self::Io(err.to_string())
    }
}

impl From<crate::field::FieldError> for ImportError {
    fn from(err: crate::field::FieldError) -> Self {
        use crate::field::FieldError;
        match err {
            FieldError::Invalid(fields) => Self::Invalid(fields),
            FieldError::Db(db) => Self::Db(db),
            other => Self::Forbidden(other.to_string()),
        }
    }
}

impl From<PersonError> for ImportError {
    fn from(err: PersonError) -> Self {
        match err {
            PersonError::Invalid(fields) => Self::Invalid(fields),
            PersonError::NotFound => Self::NotFound,
            PersonError::Db(db) => Self::Db(db),
            other => Self::Forbidden(other.to_string()),
        }
    }
}

fn invalid(field: &str, message: impl Into<String>) -> ImportError {
    ImportError::Invalid(FieldErrors::from([(field.to_owned(), vec![message.into()])]))
}

/// Where an import's file is kept.
pub fn file_path(data_dir: &Path, workspace: WorkspaceId, id: i64) -> PathBuf {
    data_dir.join("imports").join(workspace.get().to_string()).join(id.to_string())
}

fn check_object(object: Object) -> Result<(), ImportError> {
    match object {
        Object::People => Ok(()),
        Object::Companies => Err(invalid("object", "imports into companies are not available yet; import people")),
    }
}

/// The permissions a mode needs on the object's records.
fn allowed(principal: &Principal, object: Object, mode: Mode) -> Result<(), ImportError> {
    let module = object.as_str();
    let needs: &[(Action, &str)] = match mode {
        Mode::Create => &[(Action::Create, "create")],
        Mode::Update => &[(Action::Update, "change")],
        Mode::Upsert => &[(Action::Create, "create"), (Action::Update, "change")],
    };
    for (action, verb) in needs {
        if principal.can(module, *action).is_none() {
            return Err(ImportError::Forbidden(format!("your role may not {verb} {module}")));
        }
    }
    Ok(())
}

/// A file as uploaded: its name as the client gave it, and its bytes as they arrive.
pub struct Upload<S> {
    pub file_name: String,
    pub body: S,
}

/// Stores an uploaded file and a draft import of it, with the mapping suggested for its
/// headers. The file is read once to check it opens and to count its rows.
pub async fn upload<S, B, E>(
    db: &Db,
    (data_dir, max_bytes): (&Path, u64),
    principal: &Principal,
    object: Object,
    upload: Upload<S>,
) -> Result<Import, ImportError>
where
    S: futures::Stream<Item = Result<B, E>> + Unpin,
    B: AsRef<[u8]>,
    E: std::fmt::Display,
{
    use futures::StreamExt;
    check_object(object)?;
    if principal.can(object.as_str(), Action::Create).is_none()
        && principal.can(object.as_str(), Action::Update).is_none()
    {
        return Err(ImportError::Forbidden(format!("your role may not import {}", object.as_str())));
    }
    let dir = data_dir.join("imports").join(principal.workspace_id.get().to_string());
    tokio::fs::create_dir_all(&dir).await?;
    let partial = dir.join(format!("upload-{}", uuid::Uuid::new_v4()));
    let mut file = tokio::fs::File::create(&partial).await?;
    let mut size: u64 = 0;
    let mut body = upload.body;
    let copied: Result<(), ImportError> = async {
        while let Some(chunk) = body.next().await {
            let chunk = chunk.map_err(|e| ImportError::File(e.to_string()))?;
            size += chunk.as_ref().len() as u64;
            if size > max_bytes {
                return Err(ImportError::TooLarge(max_bytes));
            }
            file.write_all(chunk.as_ref()).await?;
        }
        file.sync_all().await?;
        Ok(())
    }
    .await;
    if let Err(err) = copied {
        let _ = tokio::fs::remove_file(&partial).await;
        return Err(err);
    }
    match register(db, data_dir, principal, object, (&upload.file_name, &partial, size)).await {
        Ok(import) => Ok(import),
        Err(err) => {
            let _ = tokio::fs::remove_file(&partial).await;
            Err(err)
        }
    }
}

/// Takes a file already on this machine (the command line's `--file`): copied into the data
/// directory, so the import can resume or be undone whatever happens to the original.
pub async fn upload_file(
    db: &Db,
    storage: (&Path, u64),
    principal: &Principal,
    object: Object,
    path: &Path,
) -> Result<Import, ImportError> {
    let file = tokio::fs::File::open(path).await?;
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "import".into());
    let body = tokio_util::io::ReaderStream::with_capacity(file, 1 << 20);
    upload(db, storage, principal, object, Upload { file_name: name, body }).await
}

async fn register(
    db: &Db,
    data_dir: &Path,
    principal: &Principal,
    object: Object,
    (file_name, partial, size): (&str, &Path, u64),
) -> Result<Import, ImportError> {
    let path = partial.to_path_buf();
    let (headers, detected, rows) = tokio::task::spawn_blocking(move || {
        let mut table = Table::open(&path, &read::Options::default())?;
        let headers = table.headers().to_vec();
        let detected = *table.detected();
        let rows = table.by_ref().count() as i64;
        Ok::<_, read::ReadError>((headers, detected, rows))
    })
    .await
    .map_err(|e| ImportError::File(e.to_string()))??;
    if headers.iter().all(|h| h.trim().is_empty()) {
        return Err(invalid("file", "the file has no header row naming its columns"));
    }
    let defs = field::definitions(db, principal.workspace_id, object_fields(object)).await?;
    let custom: Vec<String> = defs.iter().filter(|d| d.active()).map(|d| d.key.clone()).collect();
    let settings = Settings {
        mapping: super::model::suggested(&headers, object.vocabulary(), &custom),
        delimiter: Some(detected.delimiter),
        encoding: Some(encoding_name(detected.encoding).to_owned()),
        ..Settings::default()
    };
    let caller = Snapshot::of(principal).to_json();
    let (workspace, user) = (principal.workspace_id, principal.user_id);
    let file_name = file_name.chars().take(255).collect::<String>();
    let format = detected.format;
    let id = db
        .write(move |tx| {
            Box::pin(async move {
                let new = NewImport {
                    workspace,
                    user,
                    object,
                    file_name: &file_name,
                    file_size: i64::try_from(size).unwrap_or(i64::MAX),
                    format,
                    headers: &headers,
                    estimated_rows: rows,
                    settings: &settings,
                    caller: &caller,
                    now: Utc::now(),
                };
                store::insert(tx, &new).await
            })
        })
        .await?;
    let target = file_path(data_dir, workspace, id);
    tokio::fs::rename(partial, &target).await?;
    get(db, principal, id).await
}

fn object_fields(object: Object) -> field::Object {
    match object {
        Object::People => field::Object::Person,
        Object::Companies => field::Object::Company,
    }
}

fn encoding_name(encoding: read::Encoding) -> &'static str {
    match encoding {
        read::Encoding::Utf8 => "utf-8",
        read::Encoding::Windows1252 => "windows-1252",
    }
}

fn read_options(import: &Import) -> read::Options {
    read::Options {
        format: Some(import.format),
        delimiter: import.settings.delimiter,
        encoding: match import.settings.encoding.as_deref() {
            Some("windows-1252") => Some(read::Encoding::Windows1252),
            Some(_) => Some(read::Encoding::Utf8),
            None => None,
        },
    }
}

/// An import of the caller's, or any of the workspace's for an administrator; anyone else's
/// is missing.
pub async fn get(db: &Db, principal: &Principal, id: i64) -> Result<Import, ImportError> {
    let admin = principal.can("workspace", Action::Admin).is_some();
    store::find(db, principal.workspace_id, id)
        .await?
        .filter(|import| admin || import.user_id == principal.user_id)
        .ok_or(ImportError::NotFound)
}

/// The caller's imports (every member's for an administrator), newest first.
pub async fn recent(db: &Db, principal: &Principal, limit: i64) -> Result<Vec<Import>, ImportError> {
    let admin = principal.can("workspace", Action::Admin).is_some();
    let user = if admin { None } else { Some(principal.user_id) };
    Ok(store::recent(db, principal.workspace_id, user, limit.clamp(1, 200)).await?)
}

/// The first rows of an import's file, as the reader sees them.
pub async fn preview(
    db: &Db,
    data_dir: &Path,
    principal: &Principal,
    id: i64,
    rows: usize,
) -> Result<(Import, Vec<Row>), ImportError> {
    let import = get(db, principal, id).await?;
    let path = file_path(data_dir, principal.workspace_id, id);
    let options = read_options(&import);
    let rows = rows.min(SAMPLE_ROWS);
    let (_, sample, _) = tokio::task::spawn_blocking(move || read::preview(&path, &options, rows))
        .await
        .map_err(|e| ImportError::File(e.to_string()))??;
    Ok((import, sample))
}

/// The mapping templates saved for an object.
pub async fn templates(
    db: &Db,
    principal: &Principal,
    object: Object,
) -> Result<Vec<(String, Vec<Column>)>, ImportError> {
    Ok(store::templates(db, principal.workspace_id, object).await?)
}

/// How a run should go, as the caller asks for it.
#[derive(Clone, Debug, Default)]
pub struct StartRequest {
    /// `None` keeps the mapping the import holds (the suggestion, or the last one asked for).
    pub mapping: Option<Vec<Column>>,
    pub mode: Mode,
    pub match_on: MatchOn,
    pub date_format: Option<String>,
    pub dry_run: bool,
    /// Saves the mapping as a template under this name.
    pub template: Option<String>,
    /// What to do with rows that would create a possible duplicate.
    pub duplicates: Duplicates,
}

/// Starts a run (a dry run, or the import itself) of a draft, or of an import whose dry run
/// finished. Custom fields the mapping asks to create are created first, as text fields.
pub async fn start(
    db: &Db,
    data_dir: &Path,
    principal: &Principal,
    id: i64,
    request: StartRequest,
    request_id: Option<&str>,
) -> Result<Import, ImportError> {
    let import = get(db, principal, id).await?;
    let restartable = import.status == Status::Draft || (import.dry_run && !import.status.is_active());
    if !restartable {
        return Err(ImportError::Conflict("this import has run; upload the file again to import it again"));
    }
    allowed(principal, import.object, request.mode)?;
    let duplicates =
        Duplicates::new(request.duplicates.policy, Some(request.duplicates.threshold)).map_err(ImportError::Invalid)?;
    let mut mapping = request.mapping.clone().unwrap_or_else(|| import.settings.mapping.clone());
    let object = object_fields(import.object);
    let mut defs = field::definitions(db, principal.workspace_id, object).await?;
    let date_format = match request.date_format.as_deref().map(str::trim).filter(|f| !f.is_empty()) {
        Some(raw) => Some(
            raw.parse::<DateFormat>()
                .map_err(|_| invalid("date_format", "must be iso, yyyymmdd, dd/mm/yyyy or mm/dd/yyyy"))?,
        ),
        None => None,
    };
    let custom: Vec<String> = defs.iter().filter(|d| d.active()).map(|d| d.key.clone()).collect();
    let plan = Plan::new(&import.headers, &mapping, import.object.vocabulary(), &custom, date_format)
        .map_err(ImportError::Invalid)?;
    let access = crate::access::field_access(db, principal, import.object.field_object()).await?;
    access.check_write(plan.fields())?;
    let date_format = match date_format {
        Some(format) => Some(format),
        None => detect_dates(data_dir, &import, &plan).await?,
    };
    for column in mapping.iter_mut().filter(|c| c.create) {
        let key = column.field.clone().unwrap_or_default();
        if !defs.iter().any(|d| d.key == key) {
            let spec = field::FieldSpec {
                object: Some(object.as_str().to_owned()),
                key: Some(key.clone()),
                label: Some(column.column.clone()),
                kind: Some("text".into()),
                ..field::FieldSpec::default()
            };
            defs.push(field::create(db, principal, object, spec).await?);
        }
        column.create = false;
    }
    let settings = Settings {
        mapping,
        mode: request.mode,
        match_on: request.match_on,
        date_format: date_format.map(|f| date_format_name(f).to_owned()),
        duplicates,
        ..import.settings.clone()
    };
    let caller = Snapshot::of(principal).to_json();
    let (workspace, actor) = (principal.workspace_id, principal.actor());
    let (dry_run, template, request_id) = (request.dry_run, request.template.clone(), request_id.map(str::to_owned));
    let object = import.object;
    db.write(move |tx| {
        Box::pin(async move {
            let now = Utc::now();
            store::queue(tx, workspace, id, (&settings, dry_run), &caller, now).await?;
            if let Some(name) = template.as_deref().map(str::trim).filter(|n| !n.is_empty()) {
                store::save_template(tx, workspace, (object, name), &settings.mapping, now).await?;
            }
            let changes: Vec<_> = [
                ("mode", Value::from(settings.mode.as_str())),
                ("match", Value::from(settings.match_on.field())),
                ("dry_run", Value::from(dry_run)),
                ("duplicates", Value::from(settings.duplicates.policy.as_str())),
            ]
            .into_iter()
            .filter_map(|(field, value)| rapport_core::FieldChange::between(field, Value::Null, value))
            .collect();
            let entry = AuditEntry {
                workspace,
                actor: &actor,
                request_id: request_id.as_deref(),
                entity: "import",
                entity_id: id,
                action: AuditAction::Update,
                changes: &changes,
            };
            crate::audit::record_security(tx, &entry).await?;
            queue_job(tx, workspace, super::RUN_JOB, json!({"workspace_id": workspace, "import_id": id})).await
        })
    })
    .await?;
    get(db, principal, id).await
}

/// A date format as `--date-format` and the API name it.
fn date_format_name(format: DateFormat) -> &'static str {
    match format {
        DateFormat::Iso => "iso",
        DateFormat::Compact => "yyyymmdd",
        DateFormat::DayMonthYear => "dd/mm/yyyy",
        DateFormat::MonthDayYear => "mm/dd/yyyy",
    }
}

/// The date format of the mapped date columns, read from the first rows; an error when they
/// hold dates whose format they do not settle.
async fn detect_dates(data_dir: &Path, import: &Import, plan: &Plan) -> Result<Option<DateFormat>, ImportError> {
    let columns = plan.date_columns();
    if columns.is_empty() {
        return Ok(None);
    }
    let path = import_file(data_dir, import);
    let options = read_options(import);
    let (_, sample, _) = tokio::task::spawn_blocking(move || read::preview(&path, &options, SAMPLE_ROWS))
        .await
        .map_err(|e| ImportError::File(e.to_string()))??;
    let cells: Vec<&str> = sample
        .iter()
        .flat_map(|row| columns.iter().filter_map(|c| row.cells.get(*c)))
        .map(|c| c.trim())
        .filter(|c| !c.is_empty())
        .collect();
    if cells.is_empty() {
        return Ok(None);
    }
    match read::dates::detect(cells.iter().copied()) {
        Some(format) => Ok(Some(format)),
        None => Err(invalid(
            "date_format",
            "the file's dates could be read more than one way (or are not dates); name the format",
        )),
    }
}

fn import_file(data_dir: &Path, import: &Import) -> PathBuf {
    file_path(data_dir, import.workspace_id, import.id)
}

/// Stops a queued or running import after the batch it is in; what was committed stays (an
/// undo takes it back).
pub async fn cancel(db: &Db, principal: &Principal, id: i64) -> Result<Import, ImportError> {
    get(db, principal, id).await?;
    let workspace = principal.workspace_id;
    db.write(move |tx| {
        Box::pin(async move {
            store::finish(tx, workspace, id, (&[Status::Queued, Status::Running], Status::Cancelled, None), Utc::now())
                .await
        })
    })
    .await?;
    get(db, principal, id).await
}

/// Queues the undo of a finished import: the records it created are erased, the ones it
/// changed put back. Needs the permission to delete the object's records.
pub async fn undo(db: &Db, principal: &Principal, id: i64, request_id: Option<&str>) -> Result<Import, ImportError> {
    let import = get(db, principal, id).await?;
    if principal.can(import.object.as_str(), Action::Delete).is_none() {
        return Err(ImportError::Forbidden(format!("your role may not delete {}", import.object.as_str())));
    }
    if !import.undoable() {
        return Err(ImportError::Conflict("only a finished import can be undone, once"));
    }
    let (workspace, actor, request_id) = (principal.workspace_id, principal.actor(), request_id.map(str::to_owned));
    let user = principal.user_id;
    db.write(move |tx| {
        Box::pin(async move {
            if !store::set_undoing(tx, workspace, id, Utc::now()).await? {
                return Ok(());
            }
            let entry = AuditEntry {
                workspace,
                actor: &actor,
                request_id: request_id.as_deref(),
                entity: "import",
                entity_id: id,
                action: AuditAction::Delete,
                changes: &[],
            };
            crate::audit::record_security(tx, &entry).await?;
            queue_job(
                tx,
                workspace,
                super::UNDO_JOB,
                json!({"workspace_id": workspace, "import_id": id, "user_id": user}),
            )
            .await
        })
    })
    .await?;
    get(db, principal, id).await
}

/// Queues one of the import's jobs in the caller's transaction.
async fn queue_job(
    tx: &mut rapport_db::Tx,
    workspace: WorkspaceId,
    kind: &'static str,
    payload: Value,
) -> Result<(), DbError> {
    let job = rapport_jobs::NewJob::new(kind, payload).workspace(workspace).max_attempts(MAX_ATTEMPTS);
    rapport_jobs::enqueue(tx, &job).await.map(|_| ())
}

/// Up to `limit` lines of an import's error report after line `after` (0 for the first).
pub async fn rejected_rows(
    db: &Db,
    principal: &Principal,
    id: i64,
    (after, limit): (i64, i64),
) -> Result<Vec<(i64, Rejection)>, ImportError> {
    get(db, principal, id).await?;
    Ok(store::rejections(db, principal.workspace_id, id, after, limit.clamp(1, 10_000)).await?)
}

/// Up to `limit` of the rows an import created with a possible-duplicate warning, in row order.
pub async fn duplicate_warnings(
    db: &Db,
    principal: &Principal,
    id: i64,
    limit: i64,
) -> Result<Vec<DuplicateWarning>, ImportError> {
    get(db, principal, id).await?;
    Ok(store::duplicates(db, principal.workspace_id, id, 0, limit.clamp(1, 10_000)).await?)
}

/// Rebuilds the member a job acts as from the access stored with the import; `None` when they
/// are no longer an active member.
async fn acting(db: &Db, workspace: WorkspaceId, import: &Import) -> Result<Option<Principal>, ImportError> {
    let (id, user) = (import.id, import.user_id);
    let found = db
        .write(move |tx| {
            Box::pin(async move {
                let Some(email) = crate::identity::member_email(tx, workspace, user).await? else {
                    return Ok(None);
                };
                Ok::<_, DbError>(store::caller(tx, workspace, id).await?.map(|caller| (email, caller)))
            })
        })
        .await?;
    let Some((email, caller)) = found else { return Ok(None) };
    Ok(Some(Snapshot::from_json(caller)?.principal(db, (workspace, user, email)).await?))
}

async fn fail(db: &Db, workspace: WorkspaceId, id: i64, from: &'static [Status], why: &str) -> Result<(), ImportError> {
    let why = why.to_owned();
    db.write(move |tx| {
        Box::pin(async move {
            store::finish(tx, workspace, id, (from, Status::Failed, Some(why.as_str())), Utc::now()).await
        })
    })
    .await?;
    Ok(())
}

/// What the reading side hands the writer: rows `first` up to (not including) `end`.
struct Batch {
    first: i64,
    end: i64,
    rows: Vec<Prepared>,
}

/// One row made ready off the writer: its input, and for a row that may create a record the
/// record checked as new.
struct Prepared {
    number: i64,
    read: Result<PersonInput, Vec<Rejection>>,
    new: Option<Result<NewPerson, FieldErrors>>,
}

/// What the writer needs to know of the run, shared with the reading side.
#[derive(Clone)]
struct Setup {
    workspace: WorkspaceId,
    id: i64,
    headers: Vec<String>,
    plan: Plan,
    settings: Settings,
    dry_run: bool,
    defs: Vec<CustomField>,
    ctx: ValueContext,
    /// What possible duplicates are scored with, read once per run; none when they are not
    /// looked for.
    model: Option<std::sync::Arc<crate::dedup::Model>>,
}

/// The job's body: reads and writes batches until the file is done, the import is cancelled,
/// or the worker asks it to stop (then it resumes later from the first uncommitted row).
/// `progress` is told of each committed batch. A run that fails on its last attempt marks the
/// import failed, so it never shows as running for ever.
pub async fn run(
    db: &Db,
    data_dir: &Path,
    (workspace, id): (WorkspaceId, i64),
    (batch, attempt): (usize, i32),
    cancelled: &CancellationToken,
    progress: &(dyn Fn(&Import) + Send + Sync),
) -> Result<(), ImportError> {
    let ran = run_once(db, data_dir, (workspace, id), batch, cancelled, progress).await;
    match ran {
        Err(err) if attempt >= MAX_ATTEMPTS && !matches!(err, ImportError::Interrupted) => {
            tracing::error!(import = id, error = %err, "an import failed for good");
            let why = format!("the import stopped: {err}");
            fail(db, workspace, id, &[Status::Queued, Status::Running], &why).await?;
            Err(err)
        }
        other => other,
    }
}

async fn run_once(
    db: &Db,
    data_dir: &Path,
    (workspace, id): (WorkspaceId, i64),
    batch: usize,
    cancelled: &CancellationToken,
    progress: &(dyn Fn(&Import) + Send + Sync),
) -> Result<(), ImportError> {
    let Some(import) = store::find(db, workspace, id).await? else { return Ok(()) };
    if !matches!(import.status, Status::Queued | Status::Running) {
        return Ok(());
    }
    let active = &[Status::Queued, Status::Running];
    let Some(principal) = acting(db, workspace, &import).await? else {
        return fail(db, workspace, id, active, "the member who started it is no longer active").await;
    };
    if let Err(refused) = allowed(&principal, import.object, import.settings.mode) {
        return fail(db, workspace, id, active, &refused.to_string()).await;
    }
    let defs = field::definitions(db, workspace, object_fields(import.object)).await?;
    let custom: Vec<String> = defs.iter().filter(|d| d.active()).map(|d| d.key.clone()).collect();
    let dates = import.settings.date_format.as_deref().and_then(|f| f.parse::<DateFormat>().ok());
    let plan = match Plan::new(&import.headers, &import.settings.mapping, import.object.vocabulary(), &custom, dates) {
        Ok(plan) => plan,
        Err(errors) => {
            let why = format!("the mapping no longer applies: {}", fields_text(&errors));
            return fail(db, workspace, id, active, &why).await;
        }
    };
    let access = crate::access::field_access(db, &principal, import.object.field_object()).await?;
    if let Err(refused) = access.check_write(plan.fields()) {
        return fail(db, workspace, id, active, &refused.to_string()).await;
    }
    let change = crate::access::record_filter(db, &principal, import.object.as_str(), Action::Update).await?;
    let started = db.write(move |tx| Box::pin(async move { store::set_running(tx, workspace, id, Utc::now()).await }));
    if !started.await? {
        return Ok(());
    }
    let setup = Setup {
        workspace,
        id,
        headers: import.headers.clone(),
        plan,
        settings: import.settings.clone(),
        dry_run: import.dry_run,
        defs,
        ctx: field::context(db, workspace).await?,
        model: match import.settings.duplicates.policy {
            DuplicatePolicy::Off => None,
            DuplicatePolicy::Flag | DuplicatePolicy::Skip | DuplicatePolicy::Merge => {
                Some(std::sync::Arc::new(crate::dedup::workspace_model(db, workspace).await?))
            }
        },
    };
    let (sender, mut batches) = tokio::sync::mpsc::channel::<Result<Batch, ImportError>>(2);
    let reading = {
        let (setup, path, options) = (setup.clone(), import_file(data_dir, &import), read_options(&import));
        let from = import.next_row;
        let stop = cancelled.clone();
        tokio::task::spawn_blocking(move || read_batches(&setup, (&path, &options), from, batch, (&sender, &stop)))
    };
    let writer =
        Writer { db, setup: &setup, principal: &principal, change: change.as_ref(), batches: Default::default() };
    let mut outcome = Ok(());
    while let Some(next) = batches.recv().await {
        let written = match next {
            Ok(batch) => writer.write(batch).await,
            Err(err) => Err(err),
        };
        match written {
            Ok(true) => {
                if let Some(now) = store::find(db, workspace, id).await? {
                    progress(&now);
                }
                if cancelled.is_cancelled() {
                    outcome = Err(ImportError::Interrupted);
                    break;
                }
            }
            Ok(false) => break,
            Err(err) => {
                outcome = Err(err);
                break;
            }
        }
    }
    drop(batches);
    let _ = reading.await;
    outcome?;
    if cancelled.is_cancelled() {
        return Err(ImportError::Interrupted);
    }
    let finished = db.write(move |tx| {
        Box::pin(
            async move { store::finish(tx, workspace, id, (&[Status::Running], Status::Done, None), Utc::now()).await },
        )
    });
    finished.await?;
    if let Some(now) = store::find(db, workspace, id).await? {
        progress(&now);
    }
    Ok(())
}

fn fields_text(fields: &FieldErrors) -> String {
    fields.iter().map(|(field, messages)| format!("{field}: {}", messages.join("; "))).collect::<Vec<_>>().join(". ")
}

/// The reading side: streams the file from row `from` and sends batches of prepared rows until
/// the file ends, the writer hangs up, or the run is asked to stop.
fn read_batches(
    setup: &Setup,
    (path, options): (&Path, &read::Options),
    from: i64,
    size: usize,
    (sender, stop): (&tokio::sync::mpsc::Sender<Result<Batch, ImportError>>, &CancellationToken),
) {
    let mut table = match Table::open(path, options) {
        Ok(table) => table,
        Err(err) => {
            let _ = sender.blocking_send(Err(err.into()));
            return;
        }
    };
    if let Err(err) = table.skip_to(u64::try_from(from).unwrap_or(1)) {
        let _ = sender.blocking_send(Err(err.into()));
        return;
    }
    let mut first = from;
    let mut rows = Vec::with_capacity(size);
    for read in table.by_ref() {
        rows.push(prepare(setup, read));
        if rows.len() == size {
            let end = rows.last().map_or(first, |r| r.number + 1);
            let batch = Batch { first, end, rows: std::mem::replace(&mut rows, Vec::with_capacity(size)) };
            if stop.is_cancelled() || sender.blocking_send(Ok(batch)).is_err() {
                return;
            }
            first = end;
        }
    }
    if !rows.is_empty() {
        let end = rows.last().map_or(first, |r| r.number + 1);
        let _ = sender.blocking_send(Ok(Batch { first, end, rows }));
    }
}

fn prepare(setup: &Setup, read: Result<Row, RowError>) -> Prepared {
    let row = match read {
        Ok(row) => row,
        Err(err) => {
            let number = i64::try_from(err.number).unwrap_or(i64::MAX);
            let refused = Rejection { row: number, column: String::new(), reason: err.reason };
            return Prepared { number, read: Err(vec![refused]), new: None };
        }
    };
    let number = i64::try_from(row.number).unwrap_or(i64::MAX);
    let input = match setup.plan.person(&row.cells) {
        Ok(input) => input,
        Err(errors) => {
            return Prepared { number, read: Err(rejections(number, &setup.headers, &setup.plan, &errors)), new: None };
        }
    };
    let new = (setup.settings.mode != Mode::Update).then(|| {
        people::check_new(&input, &setup.defs, setup.ctx).map_err(|err| match err {
            PersonError::Invalid(errors) => errors,
            other => FieldErrors::from([(String::new(), vec![other.to_string()])]),
        })
    });
    Prepared { number, read: Ok(input), new }
}

/// The writing side of a run: one transaction per batch.
struct Writer<'a> {
    db: &'a Db,
    setup: &'a Setup,
    principal: &'a Principal,
    change: Option<&'a OwnerFilter>,
    /// Batches this run has committed.
    batches: std::sync::atomic::AtomicU32,
}

impl Writer<'_> {
    /// Writes one batch; false when the import no longer runs (cancelled, or moved on by
    /// another runner), and nothing was written.
    async fn write(&self, batch: Batch) -> Result<bool, ImportError> {
        let mut refused_late: BTreeMap<i64, Rejection> = BTreeMap::new();
        loop {
            match self.attempt(&batch, &refused_late).await? {
                Attempt::Written(written) => return Ok(written),
                Attempt::Refuse(row, reason) => {
                    refused_late.insert(row, reason);
                }
            }
        }
    }

    async fn attempt(&self, batch: &Batch, refused_late: &BTreeMap<i64, Rejection>) -> Result<Attempt, ImportError> {
        let setup = self.setup.clone();
        let key = match setup.settings.match_on {
            MatchOn::Email => Key::Email,
            MatchOn::ExternalId => Key::ExternalId,
        };
        let rows: Vec<Keyed> = batch
            .rows
            .iter()
            .map(|row| Keyed {
                number: row.number,
                key: row_key(row, key),
                external_id: row
                    .read
                    .as_ref()
                    .ok()
                    .and_then(|i| i.external_id.as_ref())
                    .map(|e| e.trim().to_owned())
                    .filter(|e| !e.is_empty()),
                read: match refused_late.get(&row.number) {
                    Some(late) => Err(vec![late.clone()]),
                    None => row.read.clone(),
                },
                new: row.new.clone(),
            })
            .collect();
        let acting =
            Acting { user: self.principal.user_id, change: self.change.cloned(), actor: self.principal.actor() };
        let batches_written = self.batches.load(std::sync::atomic::Ordering::Relaxed) + 1;
        let (first, end) = (batch.first, batch.end);
        self.db
            .write(move |tx| {
                Box::pin(async move {
                    let (workspace, id) = (setup.workspace, setup.id);
                    let mut outcome = Outcome::default();
                    for segment in segments(rows) {
                        write_segment(tx, (&setup, key, &acting), segment, &mut outcome).await?;
                    }
                    let counted = (outcome.counts, outcome.possible_duplicates);
                    if !store::advance(tx, workspace, id, (first, end), counted, Utc::now()).await? {
                        return Err(BatchError::Stopped);
                    }
                    outcome.written.sort_by_key(|w| w.row);
                    if !setup.dry_run {
                        store::record_rows(tx, workspace, id, &outcome.written).await?;
                        if batches_written.is_power_of_two() {
                            people::refresh_statistics(tx).await?;
                        }
                    }
                    store::reject_rows(tx, workspace, id, &outcome.refused).await?;
                    store::record_duplicates(tx, workspace, id, &outcome.duplicates).await?;
                    Ok(Attempt::Written(true))
                })
            })
            .await
            .inspect(|attempt| {
                if matches!(attempt, Attempt::Written(true)) {
                    self.batches.store(batches_written, std::sync::atomic::Ordering::Relaxed);
                }
            })
            .or_else(|err| match err {
                BatchError::Refuse(row, reason) => Ok(Attempt::Refuse(row, reason)),
                BatchError::Stopped => Ok(Attempt::Written(false)),
                BatchError::Failed(err) => Err(err),
            })
    }
}

/// A row of a batch with the keys it is matched by.
struct Keyed {
    number: i64,
    key: Option<String>,
    external_id: Option<String>,
    read: Result<PersonInput, Vec<Rejection>>,
    new: Option<Result<NewPerson, FieldErrors>>,
}

/// Who a run writes as: the member, their update reach, and the actor the audit names.
struct Acting {
    user: rapport_core::UserId,
    change: Option<OwnerFilter>,
    actor: rapport_core::Actor,
}

/// What a batch's rows came to.
#[derive(Default)]
struct Outcome {
    counts: Counts,
    refused: Vec<Rejection>,
    written: Vec<Written>,
    /// Rows created with a possible-duplicate warning.
    duplicates: Vec<DuplicateWarning>,
    /// Rows found to be possible duplicates, created or refused.
    possible_duplicates: i64,
}

/// Splits a batch where a row repeats an earlier row's key (or external id): each part is
/// written after the one before it, in the same transaction, so a repeated key meets the
/// record its earlier row wrote, as if the rows were imported one at a time, and the outcome
/// never depends on where a batch happens to end.
fn segments(rows: Vec<Keyed>) -> Vec<Vec<Keyed>> {
    let mut parts: Vec<Vec<Keyed>> = Vec::new();
    let mut keys = std::collections::HashSet::new();
    for row in rows {
        let repeats = row.key.as_ref().is_some_and(|k| keys.contains(&(0, k.clone())))
            || row.external_id.as_ref().is_some_and(|e| keys.contains(&(1, e.clone())));
        if repeats || parts.is_empty() {
            keys.clear();
            parts.push(Vec::new());
        }
        keys.extend(row.key.clone().map(|k| (0, k)));
        keys.extend(row.external_id.clone().map(|e| (1, e)));
        if let Some(part) = parts.last_mut() {
            part.push(row);
        }
    }
    parts
}

/// Decides and writes one part of a batch: rows whose keys match a record update it (or are
/// refused in create mode), the others are created, all in the batch's transaction.
async fn write_segment(
    tx: &mut rapport_db::Tx,
    (setup, key, acting): (&Setup, Key, &Acting),
    rows: Vec<Keyed>,
    outcome: &mut Outcome,
) -> Result<(), BatchError> {
    let Setup { workspace, headers, plan, settings, dry_run, defs, .. } = setup;
    let workspace = *workspace;
    let wanted: Vec<String> = rows.iter().filter_map(|r| r.key.clone()).collect();
    let existing: HashMap<String, Person> =
        people::by_keys(tx, workspace, key, &wanted, defs).await?.into_iter().collect();
    let taken_ids: std::collections::HashSet<String> = if key == Key::ExternalId {
        existing.keys().cloned().collect()
    } else {
        let wanted: Vec<String> = rows.iter().filter_map(|r| r.external_id.clone()).collect();
        people::by_keys(tx, workspace, Key::ExternalId, &wanted, defs).await?.into_iter().map(|(k, _)| k).collect()
    };
    let field = settings.match_on.field();
    let key_column = plan.column_of(headers, field).unwrap_or_default();
    let id_column = plan.column_of(headers, "external_id").unwrap_or_default();
    let owner_column = plan.column_of(headers, "owner").unwrap_or_default();
    let mut creates = Vec::new();
    let mut created_rows = Vec::new();
    let mut create_inputs = Vec::new();
    for row in rows {
        let number = row.number;
        let refuse = |outcome: &mut Outcome, column: &str, reason: String| {
            outcome.counts.rejected += 1;
            outcome.refused.push(Rejection { row: number, column: column.to_owned(), reason });
        };
        let input = match row.read {
            Ok(input) => input,
            Err(lines) => {
                outcome.counts.rejected += 1;
                outcome.refused.extend(lines);
                continue;
            }
        };
        let matched = row.key.as_ref().and_then(|k| existing.get(k));
        match (matched, settings.mode) {
            (Some(person), Mode::Create) => {
                refuse(outcome, key_column, format!("person {} already has this {field}", person.id.get()));
            }
            (Some(person), _) if person.deleted_at.is_some() => {
                let reason = match person.merged_into {
                    Some(survivor) => format!("matches person {}, merged into person {survivor}", person.id.get()),
                    None => format!("matches person {}, who is in the trash", person.id.get()),
                };
                refuse(outcome, key_column, reason);
            }
            (Some(_), _) if *dry_run => outcome.counts.updated += 1,
            (Some(person), _) => update_row(tx, (setup, acting), (number, &input), person, outcome).await?,
            (None, Mode::Update) => refuse(outcome, key_column, format!("no person has this {field}")),
            (None, _) if row.external_id.as_ref().is_some_and(|e| taken_ids.contains(e)) => {
                refuse(outcome, id_column, "is taken by another record".into());
            }
            (None, _) => match row.new {
                Some(Ok(mut person)) => {
                    if person.owner.is_none() && acting.change != Some(OwnerFilter::Any) {
                        person.owner = Some(acting.user);
                    }
                    if crate::access::owner_allowed(acting.user, acting.change.as_ref(), person.owner) {
                        outcome.counts.created += 1;
                        creates.push(person);
                        created_rows.push(number);
                        create_inputs.push(input);
                    } else {
                        refuse(outcome, owner_column, "is not someone whose records you may change".into());
                    }
                }
                Some(Err(errors)) => {
                    outcome.counts.rejected += 1;
                    outcome.refused.extend(rejections(number, headers, plan, &errors));
                }
                None => refuse(outcome, "", "cannot be created in this mode".into()),
            },
        }
    }
    let possible = match &setup.model {
        Some(model) if !creates.is_empty() => {
            let threshold = settings.duplicates.threshold;
            crate::dedup::candidates_many(tx, workspace, model, &creates, threshold).await?
        }
        _ => vec![Vec::new(); creates.len()],
    };
    let Screened { hits, kept, merges } = screen(settings.duplicates.policy, possible);
    let skipped = kept.iter().filter(|k| !**k).count() as i64 - merges.len() as i64;
    outcome.counts.created -= skipped + merges.len() as i64;
    outcome.counts.rejected += skipped;
    for (probe, into) in &merges {
        merge_row(tx, (setup, acting), (created_rows[*probe], &create_inputs[*probe]), *into, outcome).await?;
    }
    outcome.possible_duplicates += hits.len() as i64;
    let probe_rows = created_rows;
    let mut places = Vec::with_capacity(creates.len());
    let (mut kept_creates, mut kept_rows) = (Vec::new(), Vec::new());
    for ((person, row), keep) in creates.into_iter().zip(&probe_rows).zip(&kept) {
        places.push(kept_rows.len());
        if *keep {
            kept_creates.push(person);
            kept_rows.push(*row);
        }
    }
    let created: Vec<i64> = if *dry_run || kept_creates.is_empty() {
        Vec::new()
    } else {
        match people::create_many(tx, (workspace, &acting.actor), &kept_creates, defs).await? {
            Ok(created) => {
                outcome.written.extend(created.iter().zip(&kept_rows).map(|(person, row)| Written {
                    row: *row,
                    record: person.id.get(),
                    before: None,
                }));
                created.iter().map(|person| person.id.get()).collect()
            }
            Err((place, err)) => {
                let row = kept_rows[place];
                let first = match err {
                    PersonError::Invalid(errors) => rejections(row, headers, plan, &errors).into_iter().next(),
                    other => Some(Rejection { row, column: String::new(), reason: other.to_string() }),
                };
                let reason = first.unwrap_or(Rejection { row, column: String::new(), reason: "refused".into() });
                return Err(BatchError::Refuse(row, reason));
            }
        }
    };
    for (probe, found) in hits {
        let of = match found.of {
            crate::dedup::Duplicate::Person(id) => DuplicateOf::Person(id.get()),
            crate::dedup::Duplicate::Probe(earlier) => match created.get(places[earlier]) {
                Some(id) => DuplicateOf::Person(*id),
                None => DuplicateOf::Row(probe_rows[earlier]),
            },
        };
        let row = probe_rows[probe];
        let warning = DuplicateWarning { row, of, name: found.name, score: found.score, reasons: found.reasons };
        if kept[probe] {
            outcome.duplicates.push(warning);
        } else {
            outcome.refused.push(Rejection { row, column: String::new(), reason: warning.message() });
        }
    }
    Ok(())
}

/// Which rows of a segment's creates are possible duplicates under `policy`, each with the
/// best of its candidates, and which rows are still created. An earlier row that is not
/// created duplicates no one, as if the rows were imported one at a time.
/// Under [`DuplicatePolicy::Merge`], the rows going into a stored person instead are left out
/// of the creates and answered apart, with that person's id.
fn screen(policy: DuplicatePolicy, possible: Vec<Vec<crate::dedup::Possible>>) -> Screened {
    let mut kept = vec![true; possible.len()];
    let mut hits = Vec::new();
    let mut merges = Vec::new();
    for (probe, candidates) in possible.into_iter().enumerate() {
        let best = candidates.into_iter().find(|found| match found.of {
            crate::dedup::Duplicate::Person(_) => true,
            crate::dedup::Duplicate::Probe(earlier) => kept[earlier],
        });
        let Some(best) = best else { continue };
        match (policy, best.of) {
            (DuplicatePolicy::Merge, crate::dedup::Duplicate::Person(into)) => {
                kept[probe] = false;
                merges.push((probe, into));
                continue;
            }
            (DuplicatePolicy::Skip, _) => kept[probe] = false,
            _ => {}
        }
        hits.push((probe, best));
    }
    Screened { hits, kept, merges }
}

/// What [`screen`] found in a segment's creates.
struct Screened {
    /// Probes flagged or skipped, with their best candidate.
    hits: Vec<(usize, crate::dedup::Possible)>,
    /// Whether each probe is still created.
    kept: Vec<bool>,
    /// Probes merged into a stored person instead.
    merges: Vec<(usize, PersonId)>,
}

/// Folds a row into the stored person it probably duplicates, as merging two people does: the
/// row fills the person's empty fields and adds its emails, phones and tags; the person's own
/// values stay. Counted as an update, with the person as they were for an undo.
async fn merge_row(
    tx: &mut rapport_db::Tx,
    (setup, acting): (&Setup, &Acting),
    (number, input): (i64, &PersonInput),
    into: PersonId,
    outcome: &mut Outcome,
) -> Result<(), BatchError> {
    if setup.dry_run {
        outcome.counts.updated += 1;
        return Ok(());
    }
    let Some(person) = people::by_id(tx, setup.workspace, into, &setup.defs).await? else {
        outcome.counts.rejected += 1;
        let reason = format!("person {} it duplicates is gone", into.get());
        outcome.refused.push(Rejection { row: number, column: String::new(), reason });
        return Ok(());
    };
    let combined = crate::merge::fill_from(&person.fields, input);
    update_row(tx, (setup, acting), (number, &combined), &person, outcome).await
}

/// Applies row `number`'s `input` to `person` within the importer's reach, counting the row as
/// updated (with the person as they were, for an undo), unchanged or refused.
async fn update_row(
    tx: &mut rapport_db::Tx,
    (setup, acting): (&Setup, &Acting),
    (number, input): (i64, &PersonInput),
    person: &Person,
    outcome: &mut Outcome,
) -> Result<(), BatchError> {
    let Setup { workspace, headers, plan, defs, ctx, .. } = setup;
    let refuse = |outcome: &mut Outcome, reason: String| {
        outcome.counts.rejected += 1;
        outcome.refused.push(Rejection { row: number, column: String::new(), reason });
    };
    let Some(change) = acting.change.as_ref() else {
        refuse(outcome, "your role may not change people".into());
        return Ok(());
    };
    let reach = Reach { user: acting.user, change };
    match people::update_from(tx, (*workspace, &acting.actor), &reach, person, input, (defs, *ctx)).await {
        Ok(Some(_)) => {
            outcome.counts.updated += 1;
            let before = Some(people::snapshot(person));
            outcome.written.push(Written { row: number, record: person.id.get(), before });
        }
        Ok(None) => outcome.counts.unchanged += 1,
        Err(PersonError::Db(err)) => return Err(err.into()),
        Err(PersonError::Invalid(errors)) => {
            outcome.counts.rejected += 1;
            outcome.refused.extend(rejections(number, headers, plan, &errors));
        }
        Err(other) => refuse(outcome, other.to_string()),
    }
    Ok(())
}

/// How a batch's transaction failed: a row to refuse before trying again, the import no
/// longer running (nothing is written), or for good.
enum BatchError {
    Refuse(i64, Rejection),
    Stopped,
    Failed(ImportError),
}

impl From<DbError> for BatchError {
    fn from(err: DbError) -> Self {
        Self::Failed(err.into())
    }
}

impl From<PersonError> for BatchError {
    fn from(err: PersonError) -> Self {
        Self::Failed(err.into())
    }
}

enum Attempt {
    Written(bool),
    /// A row turned out refused only when written (a unique value taken): the batch is written
    /// again without it.
    Refuse(i64, Rejection),
}

/// The key a row matches by, as stored: a canonical email, or the external id.
fn row_key(row: &Prepared, key: Key) -> Option<String> {
    let input = row.read.as_ref().ok()?;
    match key {
        Key::Email => {
            let raw = input.email.as_deref().or_else(|| input.emails.first().map(|e| e.value.as_str()))?;
            Email::parse(raw).ok().map(|email| email.canonical())
        }
        Key::ExternalId => input.external_id.as_ref().map(|e| e.trim().to_owned()).filter(|e| !e.is_empty()),
    }
}

/// The undo job's body: takes committed rows back from the last, a batch per transaction,
/// until none is left, then marks the import undone. The changes are recorded as the member
/// who asked for the undo (`user`), whose permission was checked when they asked.
pub async fn run_undo(
    db: &Db,
    (workspace, id, user): (WorkspaceId, i64, rapport_core::UserId),
    cancelled: &CancellationToken,
) -> Result<(), ImportError> {
    let Some(import) = store::find(db, workspace, id).await? else { return Ok(()) };
    if import.status != Status::Undoing {
        return Ok(());
    }
    let defs = field::definitions(db, workspace, object_fields(import.object)).await?;
    let ctx = field::context(db, workspace).await?;
    let actor = rapport_core::Actor::User(user);
    loop {
        if cancelled.is_cancelled() {
            return Err(ImportError::Interrupted);
        }
        let (defs, actor) = (defs.clone(), actor.clone());
        let more = db
            .write(move |tx| {
                Box::pin(async move {
                    let rows = store::last_written(tx, workspace, id, UNDO_BATCH).await?;
                    let Some(lowest) = rows.last().map(|w| w.row) else { return Ok::<_, ImportError>(false) };
                    let created: Vec<PersonId> =
                        rows.iter().filter(|w| w.before.is_none()).map(|w| PersonId::new(w.record)).collect();
                    people::erase(tx, (workspace, &actor), &created).await?;
                    for written in rows.iter().filter(|w| w.before.is_some()) {
                        let Some(fields) =
                            written.before.clone().and_then(|b| serde_json::from_value::<PersonInput>(b).ok())
                        else {
                            continue;
                        };
                        let id = PersonId::new(written.record);
                        match people::restore_fields(tx, (workspace, &actor), id, &fields, (&defs, ctx)).await {
                            Ok(()) | Err(PersonError::Invalid(_)) => {}
                            Err(err) => return Err(err.into()),
                        }
                    }
                    store::forget_rows(tx, workspace, id, lowest).await?;
                    Ok(true)
                })
            })
            .await?;
        if !more {
            break;
        }
    }
    db.write(move |tx| {
        Box::pin(async move {
            store::finish(tx, workspace, id, (&[Status::Undoing], Status::Undone, None), Utc::now()).await
        })
    })
    .await?;
    Ok(())
}

/// Writes an import's error report as CSV: row, column, reason; the refused rows, then the
/// rows created with a possible-duplicate warning.
pub async fn error_report(db: &Db, principal: &Principal, id: i64) -> Result<Vec<u8>, ImportError> {
    get(db, principal, id).await?;
    let mut out = csv::Writer::from_writer(Vec::new());
    let csv_error = |e: csv::Error| ImportError::File(e.to_string());
    out.write_record(["row", "column", "reason"]).map_err(csv_error)?;
    let mut after = 0;
    loop {
        let page = store::rejections(db, principal.workspace_id, id, after, 5000).await?;
        let Some((last, _)) = page.last() else { break };
        after = *last;
        for (_, line) in &page {
            let column = crate::export::neutralised(&line.column);
            let reason = crate::export::neutralised(&line.reason);
            out.write_record([line.row.to_string().as_str(), &column, &reason]).map_err(csv_error)?;
        }
    }
    let mut after = 0;
    loop {
        let page = store::duplicates(db, principal.workspace_id, id, after, 5000).await?;
        let Some(last) = page.last() else { break };
        after = last.row;
        for warning in &page {
            let message = warning.message();
            let reason = crate::export::neutralised(&message);
            out.write_record([warning.row.to_string().as_str(), "", &reason]).map_err(csv_error)?;
        }
    }
    out.into_inner().map_err(|e| ImportError::File(e.to_string()))
}
