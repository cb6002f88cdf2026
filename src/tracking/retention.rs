//! How long raw events are kept. A workspace may keep them for ever (the default) or for 1 to
//! 120 months; the hourly `events.retention` job then deletes older events, 5,000 per
//! transaction, rolling them up first into daily totals by type and name when the workspace
//! asked for it. Only resolved events expire, so none leaves before it has counted for its
//! person; per-person aggregates are counters and outlive the events they counted.

use chrono::{Months, Utc};
use rapport_core::{Actor, FieldChange, Timestamp, WorkspaceId};
use rapport_db::{Db, DbError};
use serde_json::{Value, json};

use super::store;
use crate::http::FieldErrors;

/// The recurring job that deletes (and rolls up) expired events.
pub const RETENTION_JOB: &str = "events.retention";

/// Events deleted per transaction.
const BATCH: i64 = 5_000;

/// A workspace's retention, as the API shows and takes it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct Retention {
    /// Months raw events are kept (1–120); null keeps them for ever.
    pub keep_months: Option<i64>,
    /// Whether expired events are first added to daily totals by type and name.
    pub roll_up: bool,
}

#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
pub struct RetentionInput {
    /// 1 to 120, or null to keep every event.
    #[serde(default)]
    #[schema(value_type = Option<i64>)]
    pub keep_months: Value,
    #[serde(default)]
    pub roll_up: bool,
}

pub async fn retention(db: &Db, workspace: WorkspaceId) -> Result<Retention, DbError> {
    Ok(shown(store::retention(db, workspace).await?))
}

fn shown(stored: Option<(i64, bool)>) -> Retention {
    stored.map_or_else(Retention::default, |(months, roll_up)| Retention { keep_months: Some(months), roll_up })
}

/// Sets the workspace's retention, audited; a number of months outside 1–120 is refused.
pub async fn save_retention(
    db: &Db,
    (workspace, actor): (WorkspaceId, &Actor),
    input: &RetentionInput,
) -> Result<Retention, RetentionError> {
    let months = match &input.keep_months {
        Value::Null => None,
        Value::Number(n) => Some(n.as_i64().filter(|m| (1..=120).contains(m))),
        Value::String(s) if s.trim().is_empty() => None,
        Value::String(s) => Some(s.trim().parse().ok().filter(|m| (1..=120).contains(m))),
        _ => Some(None),
    };
    let wanted = match months {
        None => None,
        Some(Some(months)) => Some((months, input.roll_up)),
        Some(None) => {
            let message = "must be a whole number of months from 1 to 120, or empty to keep every event";
            return Err(RetentionError::Invalid(FieldErrors::from([(
                "keep_months".to_owned(),
                vec![message.to_owned()],
            )])));
        }
    };
    let actor = actor.clone();
    db.write(move |tx| {
        Box::pin(async move {
            let before = shown(store::retention_in(tx, workspace).await?);
            store::save_retention(tx, workspace, wanted, Utc::now()).await?;
            let after = shown(wanted);
            let changes: Vec<FieldChange> = [
                FieldChange::between("keep_months", json!(before.keep_months), json!(after.keep_months)),
                FieldChange::between("roll_up", json!(before.roll_up), json!(after.roll_up)),
            ]
            .into_iter()
            .flatten()
            .collect();
            crate::audit::record_setting(tx, (workspace, &actor), "event_retention", &changes).await?;
            Ok::<_, DbError>(after)
        })
    })
    .await
    .map_err(RetentionError::Db)
}

#[derive(Debug, thiserror::Error)]
pub enum RetentionError {
    #[error("the retention is invalid")]
    Invalid(FieldErrors),
    #[error(transparent)]
    Db(#[from] DbError),
}

/// Deletes every workspace's events older than its retention as of `now`, rolling them up where
/// asked; answers how many went.
pub async fn expire(db: &Db, now: Timestamp) -> Result<u64, DbError> {
    let mut expired = 0;
    for (workspace, months, roll_up) in store::retentions(db).await? {
        let Some(cutoff) = now.checked_sub_months(Months::new(u32::try_from(months).unwrap_or(120))) else {
            continue;
        };
        loop {
            let gone = db
                .write(move |tx| {
                    Box::pin(async move { store::expire_events(tx, workspace, (cutoff, roll_up), BATCH).await })
                })
                .await?;
            expired += gone;
            if gone < BATCH as u64 {
                break;
            }
        }
    }
    Ok(expired)
}

/// One day's total of one kind of event, kept after the events themselves expired.
#[derive(Clone, Debug, serde::Serialize, utoipa::ToSchema)]
pub struct Rollup {
    /// `YYYY-MM-DD`, UTC.
    pub day: String,
    #[serde(rename = "type")]
    pub kind: String,
    /// The track call's event or the page's name; empty for calls without one.
    pub name: String,
    pub events: i64,
}

/// The workspace's daily roll-ups since `since` (`YYYY-MM-DD`).
pub async fn rollups(db: &Db, workspace: WorkspaceId, since: &str) -> Result<Vec<Rollup>, DbError> {
    Ok(store::rollups(db, workspace, since)
        .await?
        .into_iter()
        .map(|(day, kind, name, events)| Rollup { day, kind, name, events })
        .collect())
}
