//! The life of a stored profile record, whatever its object: JSON merge patches, the diff a
//! change is audited by, cursor pages, and the one place a change leaves its transaction (an
//! audit row and a domain event, committed with it or not at all).

use std::collections::BTreeMap;

use chrono::Duration;
use rapport_core::{Actor, FieldChange, WorkspaceId};
use rapport_db::Tx;
use rapport_jobs::NewDomainEvent;
use serde_json::{Value, json};

use crate::audit::{AuditAction, AuditEntry};

/// How long a trashed record can be restored before the purge job deletes it.
pub const TRASH_KEEP: Duration = Duration::days(30);

/// Counts stop here: beyond it a list says "10000+" rather than scan everything.
pub const COUNT_CAP: i64 = 10_000;

/// `value` with `patch` applied as a JSON merge patch (RFC 7396): keys present replace, `null`
/// clears, objects merge.
pub fn merge_patch(base: &mut Value, patch: &Value) {
    match (base, patch) {
        (Value::Object(base), Value::Object(patch)) => {
            for (key, value) in patch {
                if value.is_null() {
                    base.remove(key);
                } else {
                    merge_patch(base.entry(key.clone()).or_insert(Value::Null), value);
                }
            }
        }
        (base, patch) => *base = patch.clone(),
    }
}

/// The fields of a serialised record by vocabulary name, with the `address` object flattened to
/// `address.*`.
pub fn flat_values(record: Value) -> BTreeMap<String, Value> {
    let mut values = BTreeMap::new();
    if let Value::Object(map) = record {
        for (key, value) in map {
            match value {
                Value::Object(address) if key == "address" => {
                    values.extend(address.into_iter().map(|(part, v)| (format!("address.{part}"), v)));
                }
                other => {
                    values.insert(key, other);
                }
            }
        }
    }
    values
}

/// The fields that differ between two versions of a record's flat values; `empty` gives the
/// values of "no record" so every key of either side is compared.
pub fn diff(old: &BTreeMap<String, Value>, new: &BTreeMap<String, Value>) -> Vec<FieldChange> {
    old.keys()
        .chain(new.keys().filter(|key| !old.contains_key(*key)))
        .filter_map(|key| {
            let before = old.get(key).cloned().unwrap_or(Value::Null);
            let after = new.get(key).cloned().unwrap_or(Value::Null);
            FieldChange::between(key, normal(before), normal(after))
        })
        .collect()
}

/// Empty lists and maps are "empty", like `null`.
fn normal(value: Value) -> Value {
    match value {
        Value::Array(items) if items.is_empty() => Value::Null,
        Value::Object(map) if map.is_empty() => Value::Null,
        other => other,
    }
}

/// Tags trimmed, blanks dropped, repeats (ignoring case) kept once in first-seen order.
pub fn tags(raw: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for tag in raw.iter().filter_map(|t| super::text(Some(t))) {
        if !out.iter().any(|seen| seen.eq_ignore_ascii_case(&tag)) {
            out.push(tag);
        }
    }
    out
}

/// A web address a person can open: http or https with a host.
pub fn web_url(raw: &str) -> Result<url::Url, &'static str> {
    url::Url::parse(raw.trim())
        .ok()
        .filter(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some())
        .ok_or("must be an http or https URL")
}

/// Trims a page fetched with one extra row to `limit` and answers the cursor of the next page,
/// if the extra row showed there is one.
pub fn cut_page<T, C>(rows: &mut Vec<T>, limit: i64, cursor: impl Fn(&T) -> C) -> Option<C> {
    let limit = usize::try_from(limit).unwrap_or(usize::MAX);
    if rows.len() <= limit {
        return None;
    }
    rows.truncate(limit);
    rows.last().map(cursor)
}

/// The cursor of a list ordered by time then id, as the API hands it out: `RFC3339,ID`.
pub fn time_cursor((at, id): (rapport_core::Timestamp, i64)) -> String {
    format!("{},{id}", at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true))
}

/// Reads back a [`time_cursor`].
pub fn parse_time_cursor(raw: &str) -> Option<(rapport_core::Timestamp, i64)> {
    let (at, id) = raw.rsplit_once(',')?;
    Some((chrono::DateTime::parse_from_rfc3339(at).ok()?.with_timezone(&chrono::Utc), id.parse().ok()?))
}

/// A list's count as the API answers it: exact up to [`COUNT_CAP`], then `"10000+"`.
pub fn shown_count(count: i64) -> Value {
    if count > COUNT_CAP { Value::from(count_text(count)) } else { Value::from(count) }
}

/// A list's count as a page shows it: `"42"`, or `"10000+"` past [`COUNT_CAP`].
pub fn count_text(count: i64) -> String {
    if count > COUNT_CAP { format!("{COUNT_CAP}+") } else { count.to_string() }
}

/// Records many records' changes at once, each as [`record_change`] records one: an audit row
/// and a domain event per record, with multi-row inserts.
pub async fn record_changes(
    tx: &mut Tx,
    workspace: WorkspaceId,
    actor: &Actor,
    (entity, action): (&str, AuditAction),
    changed: &[(i64, impl AsRef<[FieldChange]>)],
) -> Result<(), rapport_db::DbError> {
    let entries: Vec<AuditEntry<'_>> = changed
        .iter()
        .map(|(entity_id, changes)| AuditEntry {
            workspace,
            actor,
            request_id: None,
            entity,
            entity_id: *entity_id,
            action,
            changes: changes.as_ref(),
        })
        .collect();
    crate::audit::record_many(tx, &entries).await?;
    let events: Vec<NewDomainEvent> = changed
        .iter()
        .map(|(entity_id, changes)| NewDomainEvent {
            workspace_id: workspace,
            kind: format!("{entity}.{}", happened(action)),
            entity_type: entity.into(),
            entity_id: *entity_id,
            payload: json!({ "changes": changes.as_ref() }),
            actor: actor.to_string(),
            request_id: None,
        })
        .collect();
    rapport_jobs::record_events(tx, &events).await
}

fn happened(action: AuditAction) -> &'static str {
    match action {
        AuditAction::Create => "created",
        AuditAction::Update => "updated",
        AuditAction::Delete => "deleted",
        AuditAction::Restore => "restored",
        AuditAction::Purge => "purged",
        AuditAction::Merge => "merged",
        other => other.as_str(),
    }
}

/// The one place a record's change leaves the transaction: as a row of the audit trail and as a
/// domain event `ENTITY.HAPPENED` (timeline, webhooks, segments), both committed with the change
/// or not at all.
pub async fn record_change(
    tx: &mut Tx,
    workspace: WorkspaceId,
    actor: &Actor,
    (entity, entity_id): (&str, i64),
    action: AuditAction,
    changes: &[FieldChange],
) -> Result<(), rapport_db::DbError> {
    record_changes(tx, workspace, actor, (entity, action), &[(entity_id, changes)]).await
}

/// The timeline-entry interface: any module puts an entry on a record's timeline by recording
/// a domain event on that record (`entity`, `entity_id`) in the transaction of its own change,
/// with a one-line `summary` and optionally a `link` to where the entry lives. Later
/// capabilities (orders, messages, tickets …) add their entries the same way.
pub async fn record_timeline_entry(
    tx: &mut Tx,
    workspace: WorkspaceId,
    actor: &Actor,
    (entity, entity_id): (&str, i64),
    kind: &str,
    (summary, link): (&str, Option<&str>),
) -> Result<(), rapport_db::DbError> {
    let event = NewDomainEvent {
        workspace_id: workspace,
        kind: kind.to_owned(),
        entity_type: entity.into(),
        entity_id,
        payload: json!({ "summary": summary, "link": link }),
        actor: actor.to_string(),
        request_id: None,
    };
    rapport_jobs::record_event(tx, &event).await
}

/// The version an `If-Match` header names, from an ETag as reads send it (`"7"` or `W/"7"`).
pub fn parse_etag(value: &axum::http::HeaderValue) -> Option<i64> {
    value.to_str().ok()?.trim().trim_start_matches("W/").trim_matches('"').parse().ok()
}

/// The field whose rule governs `key`: the lists behind the primary email and phone follow the
/// primary, so hiding `email` hides every address.
pub fn governing_field(key: &str) -> &str {
    match key {
        "emails" => "email",
        "phones" => "phone",
        other => other,
    }
}

/// What the caller's role may see of a record as the API returns it: hidden fields are simply
/// absent.
pub fn projected(access: &crate::access::FieldAccess, mut value: Value) -> Value {
    if let Value::Object(map) = &mut value {
        access.project(map);
        map.retain(|key, _| access.visible(governing_field(key)));
    }
    value
}

/// The vocabulary names a JSON body writes: top-level keys, `address.*` inside `address`, and
/// the primary behind a list of emails or phones.
pub fn written_fields(body: &Value) -> Vec<String> {
    let Some(map) = body.as_object() else { return Vec::new() };
    map.iter()
        .flat_map(|(key, value)| match (key.as_str(), value) {
            ("address", Value::Object(inner)) => inner.keys().map(|sub| format!("address.{sub}")).collect(),
            _ => vec![key.clone(), governing_field(key).to_owned()],
        })
        .collect()
}

/// One entry of a record's timeline: a change recorded as a domain event.
#[derive(Clone, Debug, serde::Serialize, utoipa::ToSchema)]
pub struct TimelineEntry {
    pub id: i64,
    /// `OBJECT.created`, `OBJECT.updated`, `OBJECT.deleted`, `OBJECT.restored`.
    pub kind: String,
    /// `user:ID` or `token:ID:user:ID`.
    pub actor: String,
    /// The fields that changed, by vocabulary name, with old and new values.
    pub changes: Vec<FieldChange>,
    /// What another module's entry says (`Note added: …`), with where to see more.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub link: Option<String>,
    #[schema(value_type = String, format = DateTime)]
    pub occurred_at: rapport_core::Timestamp,
}

/// A record's history from its domain events, newest first, `limit` (1–200) at a time before
/// the event id `before`, with the cursor of the next page.
pub async fn timeline(
    db: &rapport_db::Db,
    workspace: WorkspaceId,
    record: (&str, i64),
    before: Option<i64>,
    limit: i64,
) -> Result<(Vec<TimelineEntry>, Option<i64>), rapport_db::DbError> {
    let limit = limit.clamp(1, 200);
    let mut rows = super::store::events(db, workspace, record, before, limit + 1).await?;
    let next = cut_page(&mut rows, limit, |e| e.id);
    let entries = rows
        .into_iter()
        .map(|row| TimelineEntry {
            id: row.id,
            kind: row.kind,
            actor: row.actor,
            changes: row
                .payload
                .0
                .get("changes")
                .and_then(|c| serde_json::from_value(c.clone()).ok())
                .unwrap_or_default(),
            summary: row.payload.0.get("summary").and_then(Value::as_str).map(str::to_owned),
            link: row.payload.0.get("link").and_then(Value::as_str).map(str::to_owned),
            occurred_at: row.occurred_at,
        })
        .collect();
    Ok((entries, next))
}
