//! The SQL of identity resolution: the backlog of events not yet resolved, the identities that
//! name people, marking events with their person, and the per-person event aggregates.

use rapport_core::{PersonId, Timestamp, WorkspaceId};
use rapport_db::{DbError, Tx, sql};
use sqlx::types::Json;

/// Bound values per statement stay far below SQLite's limit.
const CHUNK: usize = 500;

#[derive(Debug, sqlx::FromRow)]
pub(super) struct Pending {
    pub id: i64,
    pub source_id: i64,
    #[sqlx(rename = "type")]
    pub kind: String,
    pub name: Option<String>,
    pub user_id: Option<String>,
    pub anonymous_id: Option<String>,
    pub group_id: Option<String>,
    pub previous_id: Option<String>,
    pub occurred_at: Timestamp,
    /// Only for the calls that change profiles or orders; the rest need none.
    pub traits: Option<Json<serde_json::Value>>,
    pub properties: Option<Json<serde_json::Value>>,
}

/// The oldest `limit` events of the workspace not yet resolved, oldest first.
/// On PostgreSQL the rows are locked, and rows another resolver holds skipped, so two workers
/// never resolve one event twice.
pub(super) async fn unresolved(
    tx: &mut Tx,
    workspace: WorkspaceId,
    tracked: &str,
    limit: i64,
    lock: bool,
) -> Result<Vec<Pending>, DbError> {
    let lock = if lock { " FOR UPDATE SKIP LOCKED" } else { "" };
    let sql = format!(
        "SELECT id, source_id, type, name, user_id, anonymous_id, group_id, previous_id, occurred_at,
           CASE WHEN type IN ('identify', 'group') THEN traits END AS traits,
           CASE WHEN type = 'track' AND name IN ({tracked}) THEN properties END AS properties
         FROM events WHERE workspace_id = $1 AND resolved_at IS NULL ORDER BY id LIMIT $2{lock}"
    );
    let rows = sql!(tx.exec(), c => sqlx::query_as(sqlx::AssertSqlSafe(sql.clone())).bind(workspace).bind(limit).fetch_all(c).await)?;
    Ok(rows)
}

/// Which of `values` (ids of one kind) name a person already.
pub(super) async fn identities(
    tx: &mut Tx,
    workspace: WorkspaceId,
    kind: &str,
    values: &[String],
) -> Result<Vec<(String, PersonId)>, DbError> {
    let mut found = Vec::new();
    for chunk in values.chunks(CHUNK) {
        let rows: Vec<(String, PersonId)> = sql!(tx.exec(), c => {
            let mut select = sqlx::QueryBuilder::new("SELECT value, person_id FROM person_identities WHERE workspace_id = ");
            select.push_bind(workspace).push(" AND kind = ").push_bind(kind).push(" AND value IN (");
            let mut list = select.separated(", ");
            for value in chunk {
                list.push_bind(value.clone());
            }
            select.push(")");
            select.build_query_as().fetch_all(c).await
        })?;
        found.extend(rows);
    }
    Ok(found)
}

/// Records that each id names its person. With `repoint`, an id that named someone else names
/// this person from now on (the latest identify wins, as on a shared device).
pub(super) async fn link(
    tx: &mut Tx,
    workspace: WorkspaceId,
    links: &[(&str, &str, PersonId)],
    repoint: bool,
    now: Timestamp,
) -> Result<(), DbError> {
    for chunk in links.chunks(CHUNK) {
        sql!(tx.exec(), c => {
            let mut insert = sqlx::QueryBuilder::new("INSERT INTO person_identities (workspace_id, kind, value, person_id, created_at) ");
            insert.push_values(chunk, |mut row, (kind, value, person)| {
                row.push_bind(workspace).push_bind(*kind).push_bind(*value).push_bind(*person).push_bind(now);
            });
            insert.push(if repoint {
                " ON CONFLICT (workspace_id, kind, value) DO UPDATE SET person_id = excluded.person_id"
            } else {
                " ON CONFLICT (workspace_id, kind, value) DO NOTHING"
            });
            insert.build().execute(c).await.map(drop)
        })?;
    }
    Ok(())
}

/// Marks events resolved, each with its person (or none).
pub(super) async fn mark(
    tx: &mut Tx,
    workspace: WorkspaceId,
    marks: &[(i64, Option<PersonId>)],
    now: Timestamp,
) -> Result<(), DbError> {
    for chunk in marks.chunks(CHUNK) {
        sql!(tx.exec(), c => {
            let mut update = sqlx::QueryBuilder::new("WITH marks (id, person_id) AS (");
            update.push_values(chunk, |mut row, (id, person)| {
                row.push_bind(*id).push_bind(person.map(PersonId::get));
            });
            update.push(") UPDATE events SET person_id = marks.person_id, resolved_at = ").push_bind(now)
                .push(" FROM marks WHERE events.workspace_id = ").push_bind(workspace).push(" AND events.id = marks.id");
            update.build().execute(c).await.map(drop)
        })?;
    }
    Ok(())
}

/// Gives `person` the earlier, unattributed events of the id `value` (a user id or anonymous
/// id, by `column`); answers what they were, for the aggregates.
pub(super) async fn attach(
    tx: &mut Tx,
    workspace: WorkspaceId,
    column: &'static str,
    value: &str,
    person: PersonId,
) -> Result<Vec<(String, Option<String>, Timestamp)>, DbError> {
    let sql = format!(
        "UPDATE events SET person_id = $3 WHERE workspace_id = $1 AND {column} = $2 AND person_id IS NULL
           AND resolved_at IS NOT NULL RETURNING type, name, occurred_at"
    );
    let rows = sql!(tx.exec(), c => sqlx::query_as(sqlx::AssertSqlSafe(sql.clone())).bind(workspace).bind(value).bind(person).fetch_all(c).await)?;
    Ok(rows)
}

/// Counts for one person, type and name: how many, first and last time.
#[derive(Clone, Debug)]
pub(super) struct Tally {
    pub person: PersonId,
    pub kind: String,
    pub name: String,
    pub count: i64,
    pub first: Timestamp,
    pub last: Timestamp,
}

/// Adds tallies to the per-person aggregates.
pub(super) async fn add(tx: &mut Tx, workspace: WorkspaceId, tallies: &[Tally]) -> Result<(), DbError> {
    for chunk in tallies.chunks(CHUNK / 2) {
        sql!(tx.exec(), c => {
            let mut insert = sqlx::QueryBuilder::new(
                "INSERT INTO person_event_counts (workspace_id, person_id, type, name, count, first_at, last_at) ",
            );
            insert.push_values(chunk, |mut row, t| {
                row.push_bind(workspace).push_bind(t.person).push_bind(&t.kind).push_bind(&t.name).push_bind(t.count)
                    .push_bind(t.first).push_bind(t.last);
            });
            insert.push(
                " ON CONFLICT (workspace_id, person_id, type, name) DO UPDATE SET count = person_event_counts.count + excluded.count,
                  first_at = CASE WHEN excluded.first_at < person_event_counts.first_at THEN excluded.first_at ELSE person_event_counts.first_at END,
                  last_at = CASE WHEN excluded.last_at > person_event_counts.last_at THEN excluded.last_at ELSE person_event_counts.last_at END",
            );
            insert.build().execute(c).await.map(drop)
        })?;
    }
    let mut people: std::collections::BTreeMap<PersonId, (i64, Timestamp, Timestamp)> = Default::default();
    for t in tallies {
        let entry = people.entry(t.person).or_insert((0, t.first, t.last));
        entry.0 += t.count;
        entry.1 = entry.1.min(t.first);
        entry.2 = entry.2.max(t.last);
    }
    let people: Vec<_> = people.into_iter().collect();
    for chunk in people.chunks(CHUNK / 2) {
        sql!(tx.exec(), c => {
            let mut insert = sqlx::QueryBuilder::new(
                "INSERT INTO person_activity (workspace_id, person_id, first_seen_at, last_seen_at, events) ",
            );
            insert.push_values(chunk, |mut row, (person, (count, first, last))| {
                row.push_bind(workspace).push_bind(*person).push_bind(*first).push_bind(*last).push_bind(*count);
            });
            insert.push(
                " ON CONFLICT (workspace_id, person_id) DO UPDATE SET events = person_activity.events + excluded.events,
                  first_seen_at = CASE WHEN excluded.first_seen_at < person_activity.first_seen_at THEN excluded.first_seen_at ELSE person_activity.first_seen_at END,
                  last_seen_at = CASE WHEN excluded.last_seen_at > person_activity.last_seen_at THEN excluded.last_seen_at ELSE person_activity.last_seen_at END",
            );
            insert.build().execute(c).await.map(drop)
        })?;
    }
    Ok(())
}

/// Works out a person's aggregates again from their events, after events moved to or from them.
pub(super) async fn recount(tx: &mut Tx, workspace: WorkspaceId, person: PersonId) -> Result<(), DbError> {
    for table in ["person_event_counts", "person_activity"] {
        let sql = format!("DELETE FROM {table} WHERE workspace_id = $1 AND person_id = $2");
        sql!(tx.exec(), c => sqlx::query(sqlx::AssertSqlSafe(sql.clone())).bind(workspace).bind(person).execute(c).await.map(drop))?;
    }
    sql!(tx.exec(), c => sqlx::query(
        "INSERT INTO person_event_counts (workspace_id, person_id, type, name, count, first_at, last_at)
         SELECT workspace_id, person_id, type, COALESCE(name, ''), count(*), min(occurred_at), max(occurred_at)
         FROM events WHERE workspace_id = $1 AND person_id = $2 GROUP BY workspace_id, person_id, type, COALESCE(name, '')"
    ).bind(workspace).bind(person).execute(c).await.map(drop))?;
    sql!(tx.exec(), c => sqlx::query(
        "INSERT INTO person_activity (workspace_id, person_id, first_seen_at, last_seen_at, events)
         SELECT workspace_id, person_id, min(occurred_at), max(occurred_at), count(*)
         FROM events WHERE workspace_id = $1 AND person_id = $2 GROUP BY workspace_id, person_id"
    ).bind(workspace).bind(person).execute(c).await.map(drop))?;
    Ok(())
}

/// Adds `from`'s counters to `to`'s and clears `from`'s.
pub(super) async fn combine(tx: &mut Tx, workspace: WorkspaceId, from: PersonId, to: PersonId) -> Result<(), DbError> {
    sql!(tx.exec(), c => sqlx::query(
        "INSERT INTO person_event_counts (workspace_id, person_id, type, name, count, first_at, last_at)
         SELECT workspace_id, $3, type, name, count, first_at, last_at FROM person_event_counts
         WHERE workspace_id = $1 AND person_id = $2
         ON CONFLICT (workspace_id, person_id, type, name) DO UPDATE SET count = person_event_counts.count + excluded.count,
           first_at = CASE WHEN excluded.first_at < person_event_counts.first_at THEN excluded.first_at ELSE person_event_counts.first_at END,
           last_at = CASE WHEN excluded.last_at > person_event_counts.last_at THEN excluded.last_at ELSE person_event_counts.last_at END"
    ).bind(workspace).bind(from).bind(to).execute(c).await.map(drop))?;
    sql!(tx.exec(), c => sqlx::query(
        "INSERT INTO person_activity (workspace_id, person_id, first_seen_at, last_seen_at, events)
         SELECT workspace_id, $3, first_seen_at, last_seen_at, events FROM person_activity
         WHERE workspace_id = $1 AND person_id = $2
         ON CONFLICT (workspace_id, person_id) DO UPDATE SET events = person_activity.events + excluded.events,
           first_seen_at = CASE WHEN excluded.first_seen_at < person_activity.first_seen_at
             THEN excluded.first_seen_at ELSE person_activity.first_seen_at END,
           last_seen_at = CASE WHEN excluded.last_seen_at > person_activity.last_seen_at
             THEN excluded.last_seen_at ELSE person_activity.last_seen_at END"
    ).bind(workspace).bind(from).bind(to).execute(c).await.map(drop))?;
    for table in ["person_event_counts", "person_activity"] {
        let sql = format!("DELETE FROM {table} WHERE workspace_id = $1 AND person_id = $2");
        sql!(tx.exec(), c => sqlx::query(sqlx::AssertSqlSafe(sql.clone())).bind(workspace).bind(from).execute(c).await.map(drop))?;
    }
    Ok(())
}

/// Moves every identity of `from` to `to`; answers them.
pub(super) async fn move_identities(
    tx: &mut Tx,
    workspace: WorkspaceId,
    from: PersonId,
    to: PersonId,
) -> Result<Vec<(String, String)>, DbError> {
    let moved = sql!(tx.exec(), c => sqlx::query_as(
        "UPDATE person_identities SET person_id = $3 WHERE workspace_id = $1 AND person_id = $2 RETURNING kind, value"
    ).bind(workspace).bind(from).bind(to).fetch_all(c).await)?;
    Ok(moved)
}

/// Gives `to` the identities listed that `from` holds now, and the events that came with them.
pub(super) async fn move_back(
    tx: &mut Tx,
    workspace: WorkspaceId,
    identities: &[(String, String)],
    from: PersonId,
    to: PersonId,
) -> Result<(), DbError> {
    for (kind, value) in identities {
        let column = if kind == "user_id" { "user_id" } else { "anonymous_id" };
        sql!(tx.exec(), c => sqlx::query(
            "UPDATE person_identities SET person_id = $5 WHERE workspace_id = $1 AND kind = $2 AND value = $3 AND person_id = $4"
        ).bind(workspace).bind(kind).bind(value).bind(from).bind(to).execute(c).await.map(drop))?;
        let sql =
            format!("UPDATE events SET person_id = $4 WHERE workspace_id = $1 AND {column} = $2 AND person_id = $3");
        sql!(tx.exec(), c => sqlx::query(sqlx::AssertSqlSafe(sql.clone())).bind(workspace).bind(value).bind(from).bind(to).execute(c).await.map(drop))?;
    }
    Ok(())
}

pub(super) async fn move_events(
    tx: &mut Tx,
    workspace: WorkspaceId,
    from: PersonId,
    to: PersonId,
) -> Result<(), DbError> {
    sql!(tx.exec(), c => sqlx::query("UPDATE events SET person_id = $3 WHERE workspace_id = $1 AND person_id = $2")
        .bind(workspace).bind(from).bind(to).execute(c).await.map(drop))?;
    Ok(())
}

/// Removes what tracking knows of a purged person: their ids, their events, their aggregates.
pub(super) async fn forget(tx: &mut Tx, workspace: WorkspaceId, person: PersonId) -> Result<(), DbError> {
    for table in ["person_identities", "person_event_counts", "person_activity", "events"] {
        let sql = format!("DELETE FROM {table} WHERE workspace_id = $1 AND person_id = $2");
        sql!(tx.exec(), c => sqlx::query(sqlx::AssertSqlSafe(sql.clone())).bind(workspace).bind(person).execute(c).await.map(drop))?;
    }
    Ok(())
}

#[derive(Debug, sqlx::FromRow)]
pub(super) struct ActivityRow {
    pub first_seen_at: Timestamp,
    pub last_seen_at: Timestamp,
    pub events: i64,
}

pub(super) async fn activity_of(
    db: &rapport_db::Db,
    workspace: WorkspaceId,
    person: PersonId,
) -> Result<Option<ActivityRow>, DbError> {
    let row = sql!(db.exec(), c => sqlx::query_as(
        "SELECT first_seen_at, last_seen_at, events FROM person_activity WHERE workspace_id = $1 AND person_id = $2"
    ).bind(workspace).bind(person).fetch_optional(c).await)?;
    Ok(row)
}

pub(super) async fn counts_of(
    db: &rapport_db::Db,
    workspace: WorkspaceId,
    person: PersonId,
) -> Result<Vec<(String, String, i64, Timestamp)>, DbError> {
    let rows = sql!(db.exec(), c => sqlx::query_as(
        "SELECT type, name, count, last_at FROM person_event_counts WHERE workspace_id = $1 AND person_id = $2
         ORDER BY count DESC, type, name LIMIT 50"
    ).bind(workspace).bind(person).fetch_all(c).await)?;
    Ok(rows)
}

#[derive(Debug, sqlx::FromRow)]
pub(super) struct PersonEventRow {
    pub id: i64,
    #[sqlx(rename = "type")]
    pub kind: String,
    pub name: Option<String>,
    pub occurred_at: Timestamp,
    pub properties: Json<serde_json::Value>,
}

/// A person's events, newest first, before the cursor (time, id).
pub(super) async fn events_of(
    db: &rapport_db::Db,
    workspace: WorkspaceId,
    person: PersonId,
    before: Option<(Timestamp, i64)>,
    limit: i64,
) -> Result<Vec<PersonEventRow>, DbError> {
    let (at, id) = before.map_or((None, None), |(at, id)| (Some(at), Some(id)));
    let rows = sql!(db.exec(), c => sqlx::query_as(
        "SELECT id, type, name, occurred_at, properties FROM events
         WHERE workspace_id = $1 AND person_id = $2 AND ($3 IS NULL OR occurred_at < $3 OR (occurred_at = $3 AND id < $4))
         ORDER BY occurred_at DESC, id DESC LIMIT $5"
    ).bind(workspace).bind(person).bind(at).bind(id).bind(limit).fetch_all(c).await)?;
    Ok(rows)
}

/// Whether the workspace holds events not yet resolved.
pub(super) async fn backlog(db: &rapport_db::Db, workspace: WorkspaceId) -> Result<i64, DbError> {
    let count = sql!(db.exec(), c => sqlx::query_scalar(
        "SELECT count(*) FROM (SELECT 1 FROM events WHERE workspace_id = $1 AND resolved_at IS NULL LIMIT 100000) AS pending"
    ).bind(workspace).fetch_one(c).await)?;
    Ok(count)
}
