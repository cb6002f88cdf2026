//! Use cases on attachments. An attachment is as visible as the record it is attached to (the
//! rules of [`crate::activity::require_target`]): a caller who may not read the record cannot
//! list, read or add its files, and one of another workspace gets the same 404 as for a missing
//! record. An upload is checked (size, type) while it streams to disk, kept there durably, and
//! only then recorded, with its audit row and timeline entry in the same transaction; a failed
//! commit removes the file again.

use std::path::{Path, PathBuf};
use std::time::Duration;

use axum::body::Bytes;
use chrono::Utc;
use futures::Stream;
use rapport_core::{FieldChange, WorkspaceId};
use rapport_db::{Db, DbError, Tx};
use rapport_jobs::{DomainEvent, Subscribers};
use serde_json::{Value, json};

use super::files::{self, ReceiveError, Stale};
use super::model::{self, Attachment, Sniffed};
use super::store::{self, NewRow};
use crate::activity::{ActivityError, Target};
use crate::audit::{AuditAction, AuditEntry};
use crate::http::FieldErrors;
use crate::identity::{Action, Principal};
use crate::profile::{cut_page, record_timeline_entry};

pub const SWEEP_JOB: &str = "attachment.sweep";
const PURGE_SUBSCRIBER: &str = "attachment.purge_with_record";

/// Files no row names are removed once this old: far longer than any upload takes between
/// its last byte and its commit.
const SWEEP_GRACE: Duration = Duration::from_secs(3600);

#[derive(Debug, thiserror::Error)]
pub enum AttachmentError {
    #[error("some fields are invalid")]
    Invalid(FieldErrors),
    #[error("the file is larger than the limit of {0} bytes")]
    TooLarge(u64),
    #[error("no such record")]
    NotFound,
    #[error("{0}")]
    Forbidden(String),
    #[error("the upload could not be read: {0}")]
    BadUpload(String),
    #[error("the attachment's file: {0}")]
    Storage(#[from] std::io::Error),
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<ActivityError> for AttachmentError {
    fn from(err: ActivityError) -> Self {
        match err {
            ActivityError::Invalid(fields) => Self::Invalid(fields),
            ActivityError::NotFound => Self::NotFound,
            ActivityError::Forbidden(why) => Self::Forbidden(why),
            ActivityError::Db(db) => Self::Db(db),
        }
    }
}

impl From<ReceiveError> for AttachmentError {
    fn from(err: ReceiveError) -> Self {
        match err {
            ReceiveError::TooLarge(limit) => Self::TooLarge(limit),
            ReceiveError::Body(why) => Self::BadUpload(why),
            ReceiveError::Io(io) => Self::Storage(io),
        }
    }
}

fn invalid_file(message: impl Into<String>) -> AttachmentError {
    AttachmentError::Invalid(FieldErrors::from([("file".into(), vec![message.into()])]))
}

/// Where attachments are kept and how large one may be.
#[derive(Clone, Debug)]
pub struct Storage {
    pub data_dir: PathBuf,
    pub max_bytes: u64,
}

impl Storage {
    pub fn of(config: &crate::config::Config) -> Self {
        Self { data_dir: config.data_dir.clone(), max_bytes: config.attachments.max_bytes }
    }
}

/// Checks, before any byte is read, that the caller may attach files to `target`.
pub async fn may_attach(db: &Db, principal: &Principal, target: Target) -> Result<(), AttachmentError> {
    Ok(crate::activity::require_target(db, principal, target, true).await?)
}

/// What the client said about the file it sends.
pub struct Declared<'a> {
    pub file_name: Option<&'a str>,
    pub content_type: Option<&'a str>,
}

/// Receives a file for `target` and records it: refused when the caller may not attach to the
/// record, when it is larger than the limit (413) or empty, or when its bytes are not an
/// accepted type agreeing with the declared one (422 naming `file`). Nothing stays on disk
/// for a refused or failed upload.
pub async fn upload<S>(
    db: &Db,
    storage: &Storage,
    principal: &Principal,
    target: Target,
    declared: Declared<'_>,
    body: S,
) -> Result<Attachment, AttachmentError>
where
    S: Stream<Item = Result<Bytes, ReceiveError>> + Unpin,
{
    may_attach(db, principal, target).await?;
    let workspace = principal.workspace_id;
    let staged = files::receive(&storage.data_dir, workspace, body, storage.max_bytes).await?;
    let file_name = model::file_name(declared.file_name);
    let checked = if staged.size == 0 {
        Err("the file is empty".to_owned())
    } else {
        model::content_type(declared.content_type, &file_name, &Sniffed { head: &staged.head, text: staged.text })
    };
    let content_type = match checked {
        Ok(content_type) => content_type,
        Err(message) => {
            staged.discard().await;
            return Err(invalid_file(message));
        }
    };
    let (size, sha256) = (i64::try_from(staged.size).unwrap_or(i64::MAX), staged.sha256.clone());
    let key = staged.keep().await?;
    let (actor, user, email) = (principal.actor(), principal.user_id, principal.email.clone());
    let recorded = db
        .write({
            let key = key.clone();
            move |tx| {
                Box::pin(async move {
                    let row = NewRow {
                        target,
                        file_name: &file_name,
                        content_type: &content_type,
                        size,
                        sha256: &sha256,
                        storage_key: &key,
                        uploaded_by: user,
                        uploader_email: &email,
                    };
                    let attachment = store::insert(tx, workspace, &row, Utc::now()).await?;
                    let values = json!({ "file_name": file_name, "content_type": content_type, "size": size });
                    let changes: Vec<_> = ["file_name", "content_type", "size"]
                        .into_iter()
                        .filter_map(|k| FieldChange::between(k, Value::Null, values[k].clone()))
                        .collect();
                    audit(tx, workspace, &actor, attachment.id, AuditAction::Create, &changes).await?;
                    let summary = format!("Attached {file_name}");
                    let link = format!("{}#attachment-{}", target.path(), attachment.id);
                    let entity = (target.entity(), target.id());
                    record_timeline_entry(tx, workspace, &actor, entity, "attachment.added", (&summary, Some(&link)))
                        .await?;
                    Ok::<_, DbError>(attachment)
                })
            }
        })
        .await;
    if recorded.is_err()
        && let Err(err) = files::remove(&storage.data_dir, workspace, &key).await
    {
        tracing::warn!(error = %err, "an attachment's file stays after its row failed; the sweep removes it");
    }
    Ok(recorded?)
}

async fn audit(
    tx: &mut rapport_db::Tx,
    workspace: WorkspaceId,
    actor: &rapport_core::Actor,
    id: i64,
    action: AuditAction,
    changes: &[FieldChange],
) -> Result<(), DbError> {
    let entry = AuditEntry { workspace, actor, request_id: None, entity: "attachment", entity_id: id, action, changes };
    crate::audit::record(tx, &entry).await
}

/// An attachment the caller may see: its record must be one they may read.
pub async fn attachment(db: &Db, principal: &Principal, id: i64) -> Result<Attachment, AttachmentError> {
    let found = store::find(db, principal.workspace_id, id).await?.ok_or(AttachmentError::NotFound)?;
    crate::activity::require_target(db, principal, found.target, false).await?;
    Ok(found)
}

/// An attachment and its open file, for a download.
pub async fn open(
    db: &Db,
    data_dir: &Path,
    principal: &Principal,
    id: i64,
) -> Result<(Attachment, tokio::fs::File), AttachmentError> {
    let found = attachment(db, principal, id).await?;
    let path = files::path_of(data_dir, principal.workspace_id, &found.storage_key).ok_or(AttachmentError::NotFound)?;
    let file = tokio::fs::File::open(path).await?;
    Ok((found, file))
}

/// A record's attachments, newest first, `limit` (1–200) at a time before the id `before`.
pub async fn attachments(
    db: &Db,
    principal: &Principal,
    target: Target,
    before: Option<i64>,
    limit: i64,
) -> Result<(Vec<Attachment>, Option<i64>), AttachmentError> {
    crate::activity::require_target(db, principal, target, false).await?;
    let limit = limit.clamp(1, 200);
    let mut rows = store::of_target(db, principal.workspace_id, target, before, limit + 1).await?;
    let next = cut_page(&mut rows, limit, |a| a.id);
    Ok((rows, next))
}

/// Whether the caller may delete `found`: its uploader may, and admins, as long as they may
/// still add files to the record.
pub fn may_delete(principal: &Principal, found: &Attachment) -> bool {
    let mine = found.uploaded_by == Some(principal.user_id);
    let allowed = principal.can(found.target.module(), Action::Create).is_some();
    allowed && (mine || principal.can("workspace", Action::Admin).is_some())
}

/// Deletes an attachment: its row (with an audit row) first, then its file.
pub async fn delete(db: &Db, data_dir: &Path, principal: &Principal, id: i64) -> Result<(), AttachmentError> {
    let found = attachment(db, principal, id).await?;
    if !may_delete(principal, &found) {
        return Err(AttachmentError::Forbidden("only its uploader or an admin may delete this".into()));
    }
    let (workspace, actor) = (principal.workspace_id, principal.actor());
    let name = found.file_name.clone();
    let deleted = db
        .write(move |tx| {
            Box::pin(async move {
                if !store::delete(tx, workspace, id).await? {
                    return Ok(false);
                }
                let change: Vec<_> =
                    FieldChange::between("file_name", Value::from(name), Value::Null).into_iter().collect();
                audit(tx, workspace, &actor, id, AuditAction::Delete, &change).await?;
                Ok::<_, DbError>(true)
            })
        })
        .await?;
    if !deleted {
        return Err(AttachmentError::NotFound);
    }
    files::remove(data_dir, workspace, &found.storage_key).await?;
    Ok(())
}

/// Removes the attachments of people and companies purged for good: their rows, then their
/// files (a file left by a crash in between is the sweep's).
pub fn subscribe(subscribers: Subscribers, data_dir: PathBuf) -> Subscribers {
    subscribers.subscribe(PURGE_SUBSCRIBER, move |db: Db, events: Vec<DomainEvent>| {
        let data_dir = data_dir.clone();
        async move {
            let purged: Vec<(WorkspaceId, Target)> = events
                .iter()
                .filter_map(|e| {
                    let entity = e.kind.strip_suffix(".purged")?;
                    Some((e.workspace_id, Target::parse(entity, e.entity_id)?))
                })
                .collect();
            if purged.is_empty() {
                return Ok(());
            }
            let removed = db
                .write(move |tx| {
                    Box::pin(async move {
                        let mut removed = Vec::new();
                        for (workspace, target) in &purged {
                            let keys = store::delete_of(tx, *workspace, *target).await?;
                            removed.extend(keys.into_iter().map(|key| (*workspace, key)));
                        }
                        Ok::<_, DbError>(removed)
                    })
                })
                .await?;
            for (workspace, key) in removed {
                files::remove(&data_dir, workspace, &key).await?;
            }
            Ok(())
        }
    })
}

/// Removes files no row names (uploads that never committed, purges cut short) and uploads
/// that never finished, once older than an hour. Answers how many files went.
pub async fn sweep(db: &Db, data_dir: &Path) -> Result<usize, anyhow::Error> {
    let mut removed = 0;
    for stale in files::unclaimed(data_dir, SWEEP_GRACE).await? {
        match stale {
            Stale::Temporary(path) => files::remove_temporary(&path).await,
            Stale::Kept { workspace, key } => {
                if store::claimed(db, workspace, &key).await? {
                    continue;
                }
                files::remove(data_dir, workspace, &key).await?;
            }
        }
        removed += 1;
    }
    Ok(removed)
}

/// Moves every attachment of `from` to `to` inside a merge's transaction; answers their ids.
pub async fn move_all(tx: &mut Tx, workspace: WorkspaceId, (from, to): (Target, Target)) -> Result<Vec<i64>, DbError> {
    store::reassign(tx, workspace, (from, to), None).await
}

/// Moves back the attachments [`move_all`] moved from `from` to `to`, those still on `to`.
pub async fn move_back(
    tx: &mut Tx,
    workspace: WorkspaceId,
    ids: &[i64],
    (from, to): (Target, Target),
) -> Result<(), DbError> {
    store::reassign(tx, workspace, (to, from), Some(ids)).await.map(drop)
}
