//! Use cases on notes and tasks. An activity is as visible as the record it is attached to: a
//! caller who may not read the record cannot see or add its activities, and one of another
//! workspace gets the same 404 as for a missing record. Every write records an audit row for
//! the activity and an entry on the record's timeline, in its transaction.

use askama::Template;
use chrono::Utc;
use rapport_core::{Actor, FieldChange, Timestamp, UserId, WorkspaceId};
use rapport_db::{Db, DbError, Tx};
use rapport_jobs::{DomainEvent, NewJob, Subscribers};
use serde_json::{Value, json};

use super::model::{Note, Target, Task, TaskFields, TaskInput, note_body};
use super::store::{self, TaskFilter};
use crate::audit::{AuditAction, AuditEntry};
use crate::http::FieldErrors;
use crate::identity::{Action, Principal};
use crate::profile::{cut_page, record_timeline_entry};

pub const REMIND_JOB: &str = "activity.task_remind";
const PURGE_SUBSCRIBER: &str = "activity.purge_with_record";

/// Lists stop here; a record with more tasks than this shows the first ones by due time.
pub const TASKS_SHOWN: i64 = 200;

#[derive(Debug, thiserror::Error)]
pub enum ActivityError {
    #[error("some fields are invalid")]
    Invalid(FieldErrors),
    #[error("no such record")]
    NotFound,
    #[error("{0}")]
    Forbidden(String),
    #[error(transparent)]
    Db(#[from] DbError),
}

/// Checks that `target` is a record of the caller's workspace they may read (and, with
/// `write`, add activities to).
pub async fn require_target(db: &Db, principal: &Principal, target: Target, write: bool) -> Result<(), ActivityError> {
    if !principal.may(target.module(), false) {
        return Err(ActivityError::Forbidden(format!("not allowed to read {}", target.module())));
    }
    let found = match target {
        Target::Person(id) => match crate::person::get(db, principal, rapport_core::PersonId::new(id)).await {
            Ok(_) => true,
            Err(crate::person::PersonError::NotFound) => false,
            Err(crate::person::PersonError::Forbidden(why)) => return Err(ActivityError::Forbidden(why.into())),
            Err(crate::person::PersonError::Db(err)) => return Err(err.into()),
            Err(other) => return Err(DbError::Unavailable(other.to_string()).into()),
        },
        Target::Company(id) => match crate::company::get(db, principal, rapport_core::CompanyId::new(id)).await {
            Ok(_) => true,
            Err(crate::company::CompanyError::NotFound) => false,
            Err(crate::company::CompanyError::Forbidden(why)) => return Err(ActivityError::Forbidden(why.into())),
            Err(crate::company::CompanyError::Db(err)) => return Err(err.into()),
            Err(other) => return Err(DbError::Unavailable(other.to_string()).into()),
        },
    };
    if !found {
        return Err(ActivityError::NotFound);
    }
    if write && principal.can(target.module(), Action::Create).is_none() {
        return Err(ActivityError::Forbidden(format!("not allowed to add to {}", target.module())));
    }
    Ok(())
}

/// Whether the caller may change an activity someone else wrote: admins may.
fn may_change(principal: &Principal, owners: &[Option<UserId>]) -> Result<(), ActivityError> {
    let mine = owners.contains(&Some(principal.user_id));
    if mine || principal.can("workspace", Action::Admin).is_some() {
        Ok(())
    } else {
        Err(ActivityError::Forbidden("only its author, its assignee or an admin may change this".into()))
    }
}

async fn audit(
    tx: &mut Tx,
    workspace: WorkspaceId,
    actor: &Actor,
    (entity, id): (&str, i64),
    action: AuditAction,
    changes: &[FieldChange],
) -> Result<(), DbError> {
    let entry = AuditEntry { workspace, actor, request_id: None, entity, entity_id: id, action, changes };
    crate::audit::record(tx, &entry).await
}

/// The first words of a note's text, for its timeline entry.
fn excerpt(body: &str) -> String {
    let text = ammonia::Builder::empty().clean(&body.replace('<', " <")).to_string();
    let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let short: String = text.chars().take(120).collect();
    if short.len() < text.len() { format!("{short}…") } else { short }
}

pub async fn add_note(db: &Db, principal: &Principal, target: Target, raw: &str) -> Result<Note, ActivityError> {
    require_target(db, principal, target, true).await?;
    let body = note_body(raw).map_err(ActivityError::Invalid)?;
    let (workspace, actor, author) = (principal.workspace_id, principal.actor(), principal.user_id);
    db.write(move |tx| {
        Box::pin(async move {
            let id = store::insert_note(tx, workspace, target, &body, Some(author), Utc::now()).await?;
            let change: Vec<_> =
                FieldChange::between("body", Value::Null, Value::from(body.as_str())).into_iter().collect();
            audit(tx, workspace, &actor, ("note", id), AuditAction::Create, &change).await?;
            let summary = format!("Note: {}", excerpt(&body));
            let link = format!("{}#note-{id}", target.path());
            record_timeline_entry(
                tx,
                workspace,
                &actor,
                (target.entity(), target.id()),
                "note.added",
                (&summary, Some(&link)),
            )
            .await?;
            store::find_note(tx, workspace, id).await?.ok_or(ActivityError::NotFound)
        })
    })
    .await
}

/// A note the caller may see: its record must be one they may read.
pub async fn note(db: &Db, principal: &Principal, id: i64) -> Result<Note, ActivityError> {
    let note = store::note_of(db, principal.workspace_id, id).await?.ok_or(ActivityError::NotFound)?;
    require_target(db, principal, note.target, false).await?;
    Ok(note)
}

pub async fn edit_note(db: &Db, principal: &Principal, id: i64, raw: &str) -> Result<Note, ActivityError> {
    let before = note(db, principal, id).await?;
    may_change(principal, &[before.author_id])?;
    let body = note_body(raw).map_err(ActivityError::Invalid)?;
    let (workspace, actor) = (principal.workspace_id, principal.actor());
    db.write(move |tx| {
        Box::pin(async move {
            let old = store::find_note(tx, workspace, id).await?.ok_or(ActivityError::NotFound)?;
            let Some(change) = FieldChange::between("body", Value::from(old.body), Value::from(body.as_str())) else {
                return store::find_note(tx, workspace, id).await?.ok_or(ActivityError::NotFound);
            };
            store::update_note(tx, workspace, id, &body, Utc::now()).await?;
            audit(tx, workspace, &actor, ("note", id), AuditAction::Update, &[change]).await?;
            store::find_note(tx, workspace, id).await?.ok_or(ActivityError::NotFound)
        })
    })
    .await
}

pub async fn delete_note(db: &Db, principal: &Principal, id: i64) -> Result<(), ActivityError> {
    let before = note(db, principal, id).await?;
    may_change(principal, &[before.author_id])?;
    let (workspace, actor) = (principal.workspace_id, principal.actor());
    db.write(move |tx| {
        Box::pin(async move {
            store::delete_note(tx, workspace, id).await?;
            let change: Vec<_> =
                FieldChange::between("body", Value::from(before.body), Value::Null).into_iter().collect();
            audit(tx, workspace, &actor, ("note", id), AuditAction::Delete, &change).await?;
            Ok(())
        })
    })
    .await
}

/// A record's notes, newest first, `limit` (1–200) at a time before the note id `before`.
pub async fn notes(
    db: &Db,
    principal: &Principal,
    target: Target,
    before: Option<i64>,
    limit: i64,
) -> Result<(Vec<Note>, Option<i64>), ActivityError> {
    require_target(db, principal, target, false).await?;
    let limit = limit.clamp(1, 200);
    let mut rows = store::notes(db, principal.workspace_id, target, before, limit + 1).await?;
    let next = cut_page(&mut rows, limit, |n| n.id);
    Ok((rows, next))
}

fn task_changes(old: Option<&TaskFields>, new: &TaskFields) -> Vec<FieldChange> {
    let values = |f: Option<&TaskFields>| {
        json!({
            "title": f.map(|f| f.title.clone()),
            "due_at": f.and_then(|f| f.due_at),
            "assignee": f.and_then(|f| f.assignee),
            "remind_at": f.and_then(|f| f.remind_at),
            "done": f.map(|f| f.done),
        })
    };
    let (old, new) = (values(old), values(Some(new)));
    ["title", "due_at", "assignee", "remind_at", "done"]
        .into_iter()
        .filter_map(|key| FieldChange::between(key, old[key].clone(), new[key].clone()))
        .collect()
}

/// A member of another workspace (or nobody) as assignee is the client's mistake, named.
fn bad_assignee(err: DbError) -> ActivityError {
    if matches!(err, DbError::ForeignKeyViolation) {
        return ActivityError::Invalid(FieldErrors::from([(
            "assignee".into(),
            vec!["is not a member of this workspace".into()],
        )]));
    }
    err.into()
}

/// Plans the reminder of a task, to run at its time (at once when that has passed).
async fn schedule_reminder(tx: &mut Tx, workspace: WorkspaceId, id: i64, remind_at: Timestamp) -> Result<(), DbError> {
    let payload = json!({ "workspace_id": workspace, "task_id": id, "remind_at": remind_at });
    let job = NewJob::new(REMIND_JOB, payload).run_at(remind_at).dedupe(format!("task:{id}:{}", remind_at.timestamp()));
    rapport_jobs::enqueue(tx, &job).await?;
    Ok(())
}

/// Creates a task, about `target` if given.
pub async fn create_task(
    db: &Db,
    principal: &Principal,
    target: Option<Target>,
    input: &TaskInput,
) -> Result<Task, ActivityError> {
    if let Some(target) = target {
        require_target(db, principal, target, true).await?;
    }
    let fields = TaskFields::parse(input, None).map_err(ActivityError::Invalid)?;
    let (workspace, actor, creator) = (principal.workspace_id, principal.actor(), principal.user_id);
    db.write(move |tx| {
        Box::pin(async move {
            let id = store::insert_task(tx, workspace, target, &fields, Some(creator), Utc::now())
                .await
                .map_err(bad_assignee)?;
            audit(tx, workspace, &actor, ("task", id), AuditAction::Create, &task_changes(None, &fields)).await?;
            if let Some(target) = target {
                let summary = format!("Task: {}", fields.title);
                record_timeline_entry(
                    tx,
                    workspace,
                    &actor,
                    (target.entity(), target.id()),
                    "task.created",
                    (&summary, Some("/tasks")),
                )
                .await?;
            }
            if let Some(at) = fields.remind_at {
                schedule_reminder(tx, workspace, id, at).await?;
            }
            store::find_task(tx, workspace, id).await?.ok_or(ActivityError::NotFound)
        })
    })
    .await
}

/// A task the caller may see: one about a record they may read, or about no record.
pub async fn task(db: &Db, principal: &Principal, id: i64) -> Result<Task, ActivityError> {
    let task = store::task_of(db, principal.workspace_id, id).await?.ok_or(ActivityError::NotFound)?;
    if let Some(target) = task.target {
        require_target(db, principal, target, false).await?;
    }
    Ok(task)
}

/// Changes a task (absent keys stay, `null` clears); completing it puts an entry on its
/// record's timeline.
pub async fn update_task(db: &Db, principal: &Principal, id: i64, input: &TaskInput) -> Result<Task, ActivityError> {
    let before = task(db, principal, id).await?;
    may_change(principal, &[before.created_by, before.assignee])?;
    let (workspace, actor) = (principal.workspace_id, principal.actor());
    let input = input.clone();
    db.write(move |tx| {
        Box::pin(async move {
            let old = store::find_task(tx, workspace, id).await?.ok_or(ActivityError::NotFound)?;
            let fields = TaskFields::parse(&input, Some(&old.fields())).map_err(ActivityError::Invalid)?;
            let changes = task_changes(Some(&old.fields()), &fields);
            if changes.is_empty() {
                return Ok(old);
            }
            store::update_task(tx, workspace, id, &fields, Utc::now()).await.map_err(bad_assignee)?;
            audit(tx, workspace, &actor, ("task", id), AuditAction::Update, &changes).await?;
            if let (Some(target), true, false) = (old.target, fields.done, old.done_at.is_some()) {
                let summary = format!("Task done: {}", fields.title);
                record_timeline_entry(
                    tx,
                    workspace,
                    &actor,
                    (target.entity(), target.id()),
                    "task.done",
                    (&summary, Some("/tasks")),
                )
                .await?;
            }
            if let Some(at) = fields.remind_at.filter(|at| Some(*at) != old.remind_at) {
                schedule_reminder(tx, workspace, id, at).await?;
            }
            store::find_task(tx, workspace, id).await?.ok_or(ActivityError::NotFound)
        })
    })
    .await
}

pub async fn delete_task(db: &Db, principal: &Principal, id: i64) -> Result<(), ActivityError> {
    let before = task(db, principal, id).await?;
    may_change(principal, &[before.created_by, before.assignee])?;
    let (workspace, actor) = (principal.workspace_id, principal.actor());
    db.write(move |tx| {
        Box::pin(async move {
            store::delete_task(tx, workspace, id).await?;
            Ok(audit(tx, workspace, &actor, ("task", id), AuditAction::Delete, &[]).await?)
        })
    })
    .await
}

/// Tasks about `target`, or (without one) the caller's own open and recent tasks.
pub async fn tasks(
    db: &Db,
    principal: &Principal,
    target: Option<Target>,
    open_only: bool,
) -> Result<Vec<Task>, ActivityError> {
    let filter = match target {
        Some(target) => {
            require_target(db, principal, target, false).await?;
            TaskFilter { target: Some(target), assignee: None, open_only }
        }
        None => TaskFilter { target: None, assignee: Some(principal.user_id), open_only },
    };
    Ok(store::tasks(db, principal.workspace_id, &filter, TASKS_SHOWN).await?)
}

#[derive(Template)]
#[template(path = "mail/task_reminder.txt")]
struct ReminderText<'a> {
    title: &'a str,
    due: Option<String>,
    link: &'a str,
}

#[derive(Template)]
#[template(path = "mail/task_reminder.html")]
struct ReminderHtml<'a> {
    title: &'a str,
    due: Option<String>,
    link: &'a str,
}

/// Emails the assignee their reminder, once, if the task is still open and still planned for
/// `remind_at` (a changed time has its own job). Answers whether a message was queued.
pub async fn send_reminder(
    db: &Db,
    workspace: WorkspaceId,
    id: i64,
    remind_at: Timestamp,
    public_url: &str,
) -> Result<bool, anyhow::Error> {
    let link = format!("{}/tasks", public_url.trim_end_matches('/'));
    let sent = db
        .write(move |tx| {
            Box::pin(async move {
                let Some(task) = store::find_task(tx, workspace, id).await? else { return Ok(false) };
                let Some(assignee) = task.assignee else { return Ok(false) };
                let Some(email) = crate::identity::member_email(tx, workspace, assignee).await? else {
                    return Ok(false);
                };
                if !store::claim_reminder(tx, workspace, id, remind_at, Utc::now()).await? {
                    return Ok(false);
                }
                let due = task.due_at.map(|d| d.format("%Y-%m-%d %H:%M UTC").to_string());
                let message = crate::mail::Message::render(
                    &email,
                    format!("Reminder: {}", task.title),
                    &ReminderText { title: &task.title, due: due.clone(), link: &link },
                    &ReminderHtml { title: &task.title, due, link: &link },
                )?;
                crate::mail::enqueue(tx, &message).await?;
                Ok::<_, anyhow::Error>(true)
            })
        })
        .await?;
    Ok(sent)
}

/// Removes the notes and tasks of people and companies when they are purged for good.
pub fn subscribe(subscribers: Subscribers) -> Subscribers {
    subscribers.subscribe(PURGE_SUBSCRIBER, |db: Db, events: Vec<DomainEvent>| async move {
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
        db.write(move |tx| {
            Box::pin(async move {
                for (workspace, target) in &purged {
                    store::delete_of(tx, *workspace, *target).await?;
                }
                Ok::<_, DbError>(())
            })
        })
        .await?;
        Ok(())
    })
}

/// The notes and tasks a merge moved from one record to another, for its undo.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct Moved {
    pub notes: Vec<i64>,
    pub tasks: Vec<i64>,
}

/// Moves every note and task of `from` to `to`, inside the merge's transaction.
pub async fn move_all(tx: &mut Tx, workspace: WorkspaceId, (from, to): (Target, Target)) -> Result<Moved, DbError> {
    let [notes, tasks] = store::MOVABLE;
    Ok(Moved {
        notes: store::reassign(tx, workspace, notes, (from, to), None).await?,
        tasks: store::reassign(tx, workspace, tasks, (from, to), None).await?,
    })
}

/// Moves back what [`move_all`] moved from `from` to `to`, those still on `to`.
pub async fn move_back(
    tx: &mut Tx,
    workspace: WorkspaceId,
    moved: &Moved,
    (from, to): (Target, Target),
) -> Result<(), DbError> {
    let [notes, tasks] = store::MOVABLE;
    store::reassign(tx, workspace, notes, (to, from), Some(&moved.notes)).await?;
    store::reassign(tx, workspace, tasks, (to, from), Some(&moved.tasks)).await?;
    Ok(())
}
