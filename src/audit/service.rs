//! Audit use cases: appending inside the caller's transaction, reading pages, verifying the
//! chains, pruning past the retention period, and turning other modules' `security.*` domain
//! events into security log rows.

use std::time::Duration;

use chrono::{SubsecRound, Utc};
use rapport_core::{Actor, FieldChange, Timestamp, UserId, WorkspaceId};
use rapport_db::{Db, DbError, Tx};
use rapport_jobs::{DomainEvent, JobContext, NewJob, Registry, Schedule, Subscribers};

use super::model::{
    AuditAction, AuditEntry, AuditFilter, AuditRow, Cursor, Hashed, Log, Page, Problem, ProblemKind, VerifyReport,
};
use super::store::{self, StoredRow};
use crate::config::AuditConfig;

#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    #[error(transparent)]
    Db(#[from] DbError),
}

/// Rows per page when the caller does not say, and at most.
const PAGE_SIZE: i64 = 50;
const MAX_PAGE_SIZE: i64 = 200;
/// Rows verification reads at a time.
const VERIFY_BATCH: i64 = 1000;

/// Appends a business change to the workspace's audit trail, in the caller's transaction.
pub async fn record(tx: &mut Tx, entry: &AuditEntry<'_>) -> Result<(), DbError> {
    append(tx, Log::Audit, entry).await
}

/// Appends the change of a workspace's setting (`entity` names the setting; the row's id is
/// the workspace's), in the caller's transaction; nothing when nothing changed.
pub async fn record_setting(
    tx: &mut Tx,
    (workspace, actor): (WorkspaceId, &Actor),
    entity: &str,
    changes: &[FieldChange],
) -> Result<(), DbError> {
    if changes.is_empty() {
        return Ok(());
    }
    let entry = AuditEntry {
        workspace,
        actor,
        request_id: None,
        entity,
        entity_id: workspace.get(),
        action: crate::audit::AuditAction::Update,
        changes,
    };
    record(tx, &entry).await
}

/// Appends a security event (sign-in, credential, role or permission change, export).
pub async fn record_security(tx: &mut Tx, entry: &AuditEntry<'_>) -> Result<(), DbError> {
    append(tx, Log::Security, entry).await
}

async fn append(tx: &mut Tx, log: Log, entry: &AuditEntry<'_>) -> Result<(), DbError> {
    let (seq, prev_hash) = store::advance_head(tx, entry.workspace, log).await?;
    let row = chained(entry, log, (seq, Utc::now().trunc_subsecs(6)), prev_hash)?;
    store::insert_row(tx, &row).await?;
    store::set_head_hash(tx, entry.workspace, log, &row.hash).await
}

/// The row `entry` becomes at position `seq` of its chain, after the row hashed `prev_hash`.
fn chained(
    entry: &AuditEntry<'_>,
    log: Log,
    (seq, at): (i64, Timestamp),
    prev_hash: String,
) -> Result<StoredRow, DbError> {
    let changes = serde_json::to_string(entry.changes).map_err(|e| DbError::from(sqlx::Error::Encode(Box::new(e))))?;
    let mut row = StoredRow {
        workspace_id: entry.workspace,
        log: log.as_str().to_owned(),
        seq,
        at,
        actor: entry.actor.to_string(),
        actor_user_id: actor_user(entry.actor),
        request_id: entry.request_id.map(str::to_owned),
        entity: entry.entity.to_owned(),
        entity_id: entry.entity_id,
        action: entry.action.as_str().to_owned(),
        changes,
        prev_hash,
        hash: String::new(),
    };
    row.hash = hashed(&row, log).hash();
    Ok(row)
}

/// Appends many rows to the audit trail in one go, chained exactly as one [`record`] each
/// would chain them: the chain's head moves once and the rows go in with multi-row inserts,
/// so a batch of thousands costs a few statements instead of three per row.
pub async fn record_many(tx: &mut Tx, entries: &[AuditEntry<'_>]) -> Result<(), DbError> {
    let Some(first) = entries.first() else { return Ok(()) };
    let workspace = first.workspace;
    if entries.iter().any(|e| e.workspace != workspace) {
        for entry in entries {
            record(tx, entry).await?;
        }
        return Ok(());
    }
    let count = i64::try_from(entries.len()).unwrap_or(i64::MAX);
    let (last_seq, mut prev_hash) = store::advance_head_by(tx, workspace, Log::Audit, count).await?;
    let at = Utc::now().trunc_subsecs(6);
    let mut rows = Vec::with_capacity(entries.len());
    for (seq, entry) in (last_seq - count + 1..).zip(entries) {
        let row = chained(entry, Log::Audit, (seq, at), prev_hash)?;
        prev_hash = row.hash.clone();
        rows.push(row);
    }
    store::insert_rows(tx, &rows).await?;
    store::set_head_hash(tx, workspace, Log::Audit, &prev_hash).await
}

fn actor_user(actor: &Actor) -> Option<i64> {
    match actor {
        Actor::User(user) | Actor::Token { user, .. } => Some(user.get()),
        Actor::System(_) => None,
    }
}

fn hashed(row: &StoredRow, log: Log) -> Hashed<'_> {
    Hashed {
        workspace: row.workspace_id,
        log,
        seq: row.seq,
        at: row.at,
        actor: &row.actor,
        actor_user_id: row.actor_user_id,
        request_id: row.request_id.as_deref(),
        entity: &row.entity,
        entity_id: row.entity_id,
        action: &row.action,
        changes: &row.changes,
        prev_hash: &row.prev_hash,
    }
}

/// A page of one log's rows matching `filter`, newest first.
pub async fn list(
    db: &Db,
    workspace: WorkspaceId,
    log: Log,
    filter: &AuditFilter,
    cursor: Option<Cursor>,
    limit: Option<i64>,
) -> Result<Page<AuditRow>, AuditError> {
    let limit = limit.unwrap_or(PAGE_SIZE).clamp(1, MAX_PAGE_SIZE);
    let before = cursor.map_or(i64::MAX, |c| c.0);
    let rows = store::list(db, workspace, log, filter, before, limit + 1).await?;
    let more = rows.len() as i64 > limit;
    let items = rows.into_iter().take(limit as usize).map(row_out).collect::<Result<Vec<_>, _>>()?;
    let next = if more { items.last().map(|row| Cursor(row.seq).to_string()) } else { None };
    Ok(Page { items, next })
}

/// The audit history of one record, newest first: what a record's history tab shows.
pub async fn history(
    db: &Db,
    workspace: WorkspaceId,
    entity: &str,
    entity_id: i64,
    cursor: Option<Cursor>,
) -> Result<Page<AuditRow>, AuditError> {
    let filter = AuditFilter { entity: Some(entity.to_owned()), entity_id: Some(entity_id), ..AuditFilter::default() };
    list(db, workspace, Log::Audit, &filter, cursor, None).await
}

fn row_out(row: StoredRow) -> Result<AuditRow, DbError> {
    let changes = serde_json::from_str(&row.changes).map_err(|e| DbError::from(sqlx::Error::Decode(Box::new(e))))?;
    Ok(AuditRow {
        seq: row.seq,
        at: row.at,
        actor: row.actor,
        request_id: row.request_id,
        entity: row.entity,
        entity_id: row.entity_id,
        action: row.action,
        changes,
    })
}

/// Walks every chain (or one workspace's) from its checkpoint to its head, recomputing each
/// row's hash and link, and reports the first problem of each chain.
pub async fn verify(db: &Db, workspace: Option<WorkspaceId>) -> Result<VerifyReport, AuditError> {
    let mut report = VerifyReport::default();
    for head in store::heads(db, workspace).await? {
        report.chains += 1;
        let Some(log) = Log::parse(&head.log) else { continue };
        let problem = |seq, kind| Problem { workspace: head.workspace_id, log, seq, kind };
        let (mut expected_seq, mut prev_hash) = (head.pruned_seq + 1, head.pruned_hash.clone());
        let mut found = None;
        let mut after = 0;
        'chain: loop {
            let rows = store::rows_after(db, head.workspace_id, &head.log, after, VERIFY_BATCH).await?;
            let Some(last) = rows.last() else { break };
            after = last.seq;
            for row in &rows {
                report.rows += 1;
                let kind = if row.seq < expected_seq || row.seq > head.seq {
                    Some(ProblemKind::Inserted)
                } else if row.seq > expected_seq {
                    found = Some(problem(expected_seq, ProblemKind::Deleted));
                    break 'chain;
                } else if hashed(row, log).hash() != row.hash {
                    Some(ProblemKind::Changed)
                } else if row.prev_hash != prev_hash {
                    // This row is intact but the one before it no longer hashes to what this
                    // row saw: that one was rewritten with a recomputed hash.
                    found = Some(problem(row.seq - 1, ProblemKind::Changed));
                    break 'chain;
                } else {
                    None
                };
                if let Some(kind) = kind {
                    found = Some(problem(row.seq, kind));
                    break 'chain;
                }
                (expected_seq, prev_hash) = (row.seq + 1, row.hash.clone());
            }
        }
        if found.is_none() && expected_seq <= head.seq {
            found = Some(problem(expected_seq, ProblemKind::Deleted));
        } else if found.is_none() && prev_hash != head.hash {
            found = Some(problem(head.seq, ProblemKind::Changed));
        }
        report.problems.extend(found);
    }
    Ok(report)
}

/// The subscriber that turns `security.ACTION` domain events into security log rows.
pub const SECURITY_SUBSCRIBER: &str = "audit.security_log";

/// Registers [`SECURITY_SUBSCRIBER`]: modules that cannot call [`record_security`] in their own
/// transaction record a domain event of kind `security.ACTION` instead (`ACTION` an
/// [`AuditAction`] name, e.g. `security.two_factor_enabled`), with an optional
/// `{"changes": [FieldChange…]}` payload. A batch is appended in one transaction; an event
/// naming no known action is logged and skipped, since delivering it again cannot help.
pub fn subscribe(subscribers: Subscribers) -> Subscribers {
    subscribers.subscribe(SECURITY_SUBSCRIBER, |db: Db, events: Vec<DomainEvent>| async move {
        let events: Vec<_> = events.into_iter().filter(|e| e.kind.starts_with("security.")).collect();
        if events.is_empty() {
            return Ok(());
        }
        db.write(move |tx| {
            Box::pin(async move {
                for event in &events {
                    let Some(action) = event.kind.strip_prefix("security.").and_then(AuditAction::parse) else {
                        tracing::warn!(kind = %event.kind, id = event.id, "a security event names no known action");
                        continue;
                    };
                    let changes: Vec<FieldChange> =
                        serde_json::from_value(event.payload.0["changes"].clone()).unwrap_or_default();
                    let actor = parse_actor(&event.actor);
                    let entry = AuditEntry {
                        workspace: event.workspace_id,
                        actor: &actor,
                        request_id: event.request_id.as_deref(),
                        entity: &event.entity_type,
                        entity_id: event.entity_id,
                        action,
                        changes: &changes,
                    };
                    record_security(tx, &entry).await?;
                }
                Ok::<_, DbError>(())
            })
        })
        .await?;
        Ok(())
    })
}

/// An event's actor text back as an [`Actor`]; anything not `user:ID` or `token:ID:user:ID`
/// is the system acting under that name.
fn parse_actor(raw: &str) -> Actor {
    let parts: Vec<&str> = raw.split(':').collect();
    let known = match parts.as_slice() {
        ["user", user] => user.parse().ok().map(|user| Actor::User(UserId::new(user))),
        ["token", token, "user", user] => match (token.parse(), user.parse()) {
            (Ok(token), Ok(user)) => Some(Actor::Token { user: UserId::new(user), token }),
            _ => None,
        },
        _ => None,
    };
    known.unwrap_or_else(|| Actor::System(raw.strip_prefix("system:").unwrap_or(raw).to_owned()))
}

/// The instant before which rows go under `config`, or `None` when they are kept forever.
pub fn retention_cutoff(config: &AuditConfig, now: Timestamp) -> Option<Timestamp> {
    config.retention_days.map(|days| now - chrono::Duration::days(i64::from(days)))
}

/// The job kind of the hourly prune.
pub const PRUNE_AUDIT: &str = "audit.prune";

/// Prunes every hour when a retention period is set; registers nothing otherwise.
pub fn schedule(registry: Registry, schedules: &mut Vec<Schedule>, config: &AuditConfig) -> Registry {
    if config.retention_days.is_none() {
        return registry;
    }
    schedules.push(Schedule::new(PRUNE_AUDIT, Duration::from_secs(3600), |_| {
        NewJob::new(PRUNE_AUDIT, serde_json::Value::Null).queue("maintenance")
    }));
    let config = config.clone();
    registry.handle(PRUNE_AUDIT, move |ctx: JobContext| {
        let cutoff = retention_cutoff(&config, Utc::now());
        async move {
            if let Some(cutoff) = cutoff {
                let pruned = prune(&ctx.db, cutoff).await?;
                tracing::info!(pruned, "pruned audit rows past the retention period");
            }
            Ok(())
        }
    })
}

/// Deletes rows recorded before `cutoff` from every chain; returns how many. Each chain keeps
/// the hash of its last deleted row, where verification then starts.
pub async fn prune(db: &Db, cutoff: Timestamp) -> Result<u64, AuditError> {
    let mut pruned = 0;
    for head in store::heads(db, None).await? {
        let (workspace, log) = (head.workspace_id, head.log);
        pruned +=
            db.write(move |tx| Box::pin(async move { store::prune_chain(tx, workspace, &log, cutoff).await })).await?;
    }
    Ok(pruned)
}
