//! The audit module's SQL.

use rapport_core::{Timestamp, WorkspaceId};
use rapport_db::{Db, DbError, Tx, sql};

use super::model::{AuditFilter, Log};

/// Moves the chain's head one position forward and returns the new position with the hash of
/// the row before it. On PostgreSQL the upsert locks the head row until commit: this is what
/// serialises concurrent appends to one chain.
pub(super) async fn advance_head(tx: &mut Tx, workspace: WorkspaceId, log: Log) -> Result<(i64, String), DbError> {
    let head = sql!(tx.exec(), c => sqlx::query_as(
        "INSERT INTO audit_heads (workspace_id, log, seq, hash) VALUES ($1, $2, 1, '')
         ON CONFLICT (workspace_id, log) DO UPDATE SET seq = audit_heads.seq + 1
         RETURNING seq, hash"
    ).bind(workspace).bind(log.as_str()).fetch_one(c).await)?;
    Ok(head)
}

/// Moves a chain's head on by `count` rows at once; returns the last position taken and the
/// hash the first new row chains to.
pub(super) async fn advance_head_by(
    tx: &mut Tx,
    workspace: WorkspaceId,
    log: Log,
    count: i64,
) -> Result<(i64, String), DbError> {
    let (seq, hash): (i64, String) = sql!(tx.exec(), c => sqlx::query_as(
        "INSERT INTO audit_heads (workspace_id, log, seq, hash) VALUES ($1, $2, $3, '')
         ON CONFLICT (workspace_id, log) DO UPDATE SET seq = audit_heads.seq + $3
         RETURNING seq, hash"
    ).bind(workspace).bind(log.as_str()).bind(count).fetch_one(c).await)?;
    Ok((seq, hash))
}

pub(super) async fn set_head_hash(tx: &mut Tx, workspace: WorkspaceId, log: Log, hash: &str) -> Result<(), DbError> {
    sql!(tx.exec(), c => sqlx::query("UPDATE audit_heads SET hash = $1 WHERE workspace_id = $2 AND log = $3")
        .bind(hash).bind(workspace).bind(log.as_str()).execute(c).await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// A row as stored, every column.
#[derive(Clone, Debug, sqlx::FromRow)]
pub(super) struct StoredRow {
    pub workspace_id: WorkspaceId,
    pub log: String,
    pub seq: i64,
    pub at: Timestamp,
    pub actor: String,
    pub actor_user_id: Option<i64>,
    pub request_id: Option<String>,
    pub entity: String,
    pub entity_id: i64,
    pub action: String,
    pub changes: String,
    pub prev_hash: String,
    pub hash: String,
}

pub(super) async fn insert_row(tx: &mut Tx, row: &StoredRow) -> Result<(), DbError> {
    sql!(tx.exec(), c => sqlx::query(
        "INSERT INTO audit_rows (workspace_id, log, seq, at, actor, actor_user_id, request_id, entity, entity_id, action, changes, prev_hash, hash)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)"
    )
    .bind(row.workspace_id).bind(&row.log).bind(row.seq).bind(row.at).bind(&row.actor).bind(row.actor_user_id)
    .bind(&row.request_id).bind(&row.entity).bind(row.entity_id).bind(&row.action).bind(&row.changes)
    .bind(&row.prev_hash).bind(&row.hash)
    .execute(c).await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// Rows per multi-row insert of [`insert_rows`]: 13 values a row, well under both engines'
/// limits on bound values.
const ROWS_PER_INSERT: usize = 1000;

pub(super) async fn insert_rows(tx: &mut Tx, rows: &[StoredRow]) -> Result<(), DbError> {
    for chunk in rows.chunks(ROWS_PER_INSERT) {
        sql!(tx.exec(), c => {
            let mut insert = sqlx::QueryBuilder::new(
                "INSERT INTO audit_rows (workspace_id, log, seq, at, actor, actor_user_id, request_id, entity, entity_id, \
                 action, changes, prev_hash, hash) ",
            );
            insert.push_values(chunk, |mut row, stored| {
                row.push_bind(stored.workspace_id)
                    .push_bind(stored.log.clone())
                    .push_bind(stored.seq)
                    .push_bind(stored.at)
                    .push_bind(stored.actor.clone())
                    .push_bind(stored.actor_user_id)
                    .push_bind(stored.request_id.clone())
                    .push_bind(stored.entity.clone())
                    .push_bind(stored.entity_id)
                    .push_bind(stored.action.clone())
                    .push_bind(stored.changes.clone())
                    .push_bind(stored.prev_hash.clone())
                    .push_bind(stored.hash.clone());
            });
            insert.build().execute(c).await.map(|r| r.rows_affected())
        })?;
    }
    Ok(())
}

/// Every column of `audit_rows`, as a literal so that queries stay `&'static str`.
macro_rules! columns {
    () => {
        "workspace_id, log, seq, at, actor, actor_user_id, request_id, entity, entity_id, action, changes, prev_hash, hash"
    };
}

/// Rows of one chain after position `after`, oldest first, at most `limit`.
pub(super) async fn rows_after(
    db: &Db,
    workspace: WorkspaceId,
    log: &str,
    after: i64,
    limit: i64,
) -> Result<Vec<StoredRow>, DbError> {
    let query = concat!(
        "SELECT ",
        columns!(),
        " FROM audit_rows WHERE workspace_id = $1 AND log = $2 AND seq > $3 ORDER BY seq LIMIT $4"
    );
    let rows = sql!(db.exec(), c => sqlx::query_as::<_, StoredRow>(query)
        .bind(workspace).bind(log).bind(after).bind(limit).fetch_all(c).await)?;
    Ok(rows)
}

/// Rows matching `filter`, newest first, below position `before`.
pub(super) async fn list(
    db: &Db,
    workspace: WorkspaceId,
    log: Log,
    filter: &AuditFilter,
    before: i64,
    limit: i64,
) -> Result<Vec<StoredRow>, DbError> {
    let query = concat!(
        "SELECT ",
        columns!(),
        " FROM audit_rows
         WHERE workspace_id = $1 AND log = $2 AND seq < $3
           AND ($4 IS NULL OR entity = $4) AND ($5 IS NULL OR entity_id = $5)
           AND ($6 IS NULL OR actor_user_id = $6) AND ($7 IS NULL OR action = $7)
           AND ($8 IS NULL OR at >= $8) AND ($9 IS NULL OR at < $9)
         ORDER BY seq DESC LIMIT $10"
    );
    let rows = sql!(db.exec(), c => sqlx::query_as::<_, StoredRow>(query)
        .bind(workspace).bind(log.as_str()).bind(before)
        .bind(&filter.entity).bind(filter.entity_id).bind(filter.actor_user_id)
        .bind(filter.action.map(|a| a.as_str())).bind(filter.from).bind(filter.to).bind(limit)
        .fetch_all(c).await)?;
    Ok(rows)
}

/// A chain's head: the last position and hash appended, and the pruning checkpoint.
#[derive(Clone, Debug, sqlx::FromRow)]
pub(super) struct Head {
    pub workspace_id: WorkspaceId,
    pub log: String,
    pub seq: i64,
    pub hash: String,
    pub pruned_seq: i64,
    pub pruned_hash: String,
}

/// Every chain, with a head or not: a chain whose rows have no head had its head deleted, and
/// comes back with an empty head so that verification reports its rows as inserted.
pub(super) async fn heads(db: &Db, workspace: Option<WorkspaceId>) -> Result<Vec<Head>, DbError> {
    let heads = sql!(db.exec(), c => sqlx::query_as::<_, Head>(
        "SELECT workspace_id, log, seq, hash, pruned_seq, pruned_hash FROM audit_heads
         WHERE $1 IS NULL OR workspace_id = $1
         UNION
         SELECT DISTINCT r.workspace_id, r.log, 0, '', 0, '' FROM audit_rows r
         WHERE ($1 IS NULL OR r.workspace_id = $1)
           AND NOT EXISTS (SELECT 1 FROM audit_heads h WHERE h.workspace_id = r.workspace_id AND h.log = r.log)
         ORDER BY workspace_id, log"
    ).bind(workspace).fetch_all(c).await)?;
    Ok(heads)
}

/// Deletes a chain's rows recorded before `cutoff` and moves the checkpoint to the last of
/// them; returns how many went. Locks the head first, like an append, so the two never race.
pub(super) async fn prune_chain(
    tx: &mut Tx,
    workspace: WorkspaceId,
    log: &str,
    cutoff: Timestamp,
) -> Result<u64, DbError> {
    sql!(tx.exec(), c => sqlx::query("UPDATE audit_heads SET seq = seq WHERE workspace_id = $1 AND log = $2")
        .bind(workspace).bind(log).execute(c).await.map(|r| r.rows_affected()))?;
    let last: Option<(i64, String)> = sql!(tx.exec(), c => sqlx::query_as(
        "SELECT seq, hash FROM audit_rows WHERE workspace_id = $1 AND log = $2
           AND seq = (SELECT max(seq) FROM audit_rows WHERE workspace_id = $1 AND log = $2 AND at < $3)"
    ).bind(workspace).bind(log).bind(cutoff).fetch_optional(c).await)?;
    let Some((seq, hash)) = last else { return Ok(0) };
    let deleted = sql!(tx.exec(), c => sqlx::query("DELETE FROM audit_rows WHERE workspace_id = $1 AND log = $2 AND seq <= $3")
        .bind(workspace).bind(log).bind(seq).execute(c).await.map(|r| r.rows_affected()))?;
    sql!(tx.exec(), c => sqlx::query(
        "UPDATE audit_heads SET pruned_seq = $1, pruned_hash = $2 WHERE workspace_id = $3 AND log = $4"
    ).bind(seq).bind(&hash).bind(workspace).bind(log).execute(c).await.map(|r| r.rows_affected()))?;
    Ok(deleted)
}
