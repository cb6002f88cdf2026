//! The inventory module's SQL: stock levels, the movement ledger and the workspace's settings.
//! Every statement is scoped by `workspace_id`. Movements are written a batch at a time: one
//! read of the skus' levels, one upsert adding every level's total, one insert of the ledger rows.

use rapport_core::{Timestamp, WorkspaceId};
use rapport_db::{Backend, Db, DbError, Tx, sql};

use super::model::{DEFAULT_LOW_STOCK_THRESHOLD, MovementReason, StockLevel, StockMovement};

/// Rows per multi-row statement: well under both engines' limits on bound values.
const CHUNK: usize = 1000;

#[derive(sqlx::FromRow)]
struct LevelRow {
    id: i64,
    sku: String,
    location: String,
    quantity: i64,
    low_stock_threshold: Option<i64>,
    threshold: i64,
    updated_at: Timestamp,
}

impl From<LevelRow> for StockLevel {
    fn from(row: LevelRow) -> Self {
        Self {
            id: row.id,
            low: row.quantity <= row.threshold,
            sku: row.sku,
            location: row.location,
            quantity: row.quantity,
            low_stock_threshold: row.low_stock_threshold,
            threshold: row.threshold,
            updated_at: row.updated_at,
        }
    }
}

/// Levels with the threshold in effect; binds `$1` workspace and `$2` the built-in default.
const LEVELS: &str = "SELECT l.id, l.sku, l.location, l.quantity, l.low_stock_threshold, \
     COALESCE(l.low_stock_threshold, s.low_stock_threshold, $2) AS threshold, l.updated_at \
     FROM stock_levels l LEFT JOIN inventory_settings s ON s.workspace_id = l.workspace_id WHERE l.workspace_id = $1";

/// Which levels a list shows.
pub(super) struct LevelFilter<'a> {
    /// Skus starting with this.
    pub sku: Option<&'a str>,
    /// Only those at or below their threshold.
    pub low: bool,
    /// After this level, in (sku, location) order.
    pub after: Option<i64>,
}

/// Matching levels in (sku, location) order.
pub(super) async fn levels(
    db: &Db,
    workspace: WorkspaceId,
    filter: &LevelFilter<'_>,
    limit: i64,
) -> Result<Vec<StockLevel>, DbError> {
    let sql = format!(
        "{LEVELS} AND ($3 IS NULL OR substr(l.sku, 1, length($3)) = $3) \
         AND (NOT $4 OR l.quantity <= COALESCE(l.low_stock_threshold, s.low_stock_threshold, $2)) \
         AND ($5 IS NULL OR (l.sku, l.location) > \
              (SELECT c.sku, c.location FROM stock_levels c WHERE c.workspace_id = $1 AND c.id = $5)) \
         ORDER BY l.sku, l.location LIMIT $6"
    );
    let rows: Vec<LevelRow> = sql!(db.exec(), c => sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
        .bind(workspace).bind(DEFAULT_LOW_STOCK_THRESHOLD).bind(filter.sku).bind(filter.low).bind(filter.after)
        .bind(limit).fetch_all(c).await)?;
    Ok(rows.into_iter().map(StockLevel::from).collect())
}

/// A sku's levels, by location.
pub(super) async fn levels_of_sku(db: &Db, workspace: WorkspaceId, sku: &str) -> Result<Vec<StockLevel>, DbError> {
    let sql = format!("{LEVELS} AND l.sku = $3 ORDER BY l.location");
    let rows: Vec<LevelRow> = sql!(db.exec(), c => sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
        .bind(workspace).bind(DEFAULT_LOW_STOCK_THRESHOLD).bind(sku).fetch_all(c).await)?;
    Ok(rows.into_iter().map(StockLevel::from).collect())
}

/// One level as it stands inside a write.
pub(super) async fn level(
    tx: &mut Tx,
    workspace: WorkspaceId,
    sku: &str,
    location: &str,
) -> Result<Option<StockLevel>, DbError> {
    let sql = format!("{LEVELS} AND l.sku = $3 AND l.location = $4");
    let row: Option<LevelRow> = sql!(tx.exec(), c => sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
        .bind(workspace).bind(DEFAULT_LOW_STOCK_THRESHOLD).bind(sku).bind(location).fetch_optional(c).await)?;
    Ok(row.map(StockLevel::from))
}

/// A level's quantity and own threshold, locked on PostgreSQL until the write ends so that a
/// quantity set from outside cannot interleave with an order's movement (SQLite has one writer).
#[derive(sqlx::FromRow)]
pub(super) struct Current {
    pub id: i64,
    pub quantity: i64,
    pub low_stock_threshold: Option<i64>,
}

pub(super) async fn lock(
    tx: &mut Tx,
    workspace: WorkspaceId,
    sku: &str,
    location: &str,
) -> Result<Option<Current>, DbError> {
    let select = "SELECT id, quantity, low_stock_threshold FROM stock_levels \
         WHERE workspace_id = $1 AND sku = $2 AND location = $3";
    let sql = match tx.backend() {
        Backend::Sqlite => select.to_owned(),
        Backend::Postgres => format!("{select} FOR UPDATE"),
    };
    let row = sql!(tx.exec(), c => sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
        .bind(workspace).bind(sku).bind(location).fetch_optional(c).await)?;
    Ok(row)
}

/// Starts tracking a sku at a location, with nothing held yet.
pub(super) async fn insert_level(
    tx: &mut Tx,
    workspace: WorkspaceId,
    (sku, location): (&str, &str),
    threshold: Option<i64>,
    now: Timestamp,
) -> Result<i64, DbError> {
    let id = sql!(tx.exec(), c => sqlx::query_scalar(
        "INSERT INTO stock_levels (workspace_id, sku, location, quantity, low_stock_threshold, created_at, updated_at) \
         VALUES ($1, $2, $3, 0, $4, $5, $5) RETURNING id"
    ).bind(workspace).bind(sku).bind(location).bind(threshold).bind(now).fetch_one(c).await)?;
    Ok(id)
}

pub(super) async fn set_threshold(
    tx: &mut Tx,
    workspace: WorkspaceId,
    id: i64,
    threshold: Option<i64>,
    now: Timestamp,
) -> Result<(), DbError> {
    sql!(tx.exec(), c => sqlx::query(
        "UPDATE stock_levels SET low_stock_threshold = $3, updated_at = $4 WHERE workspace_id = $1 AND id = $2"
    ).bind(workspace).bind(id).bind(threshold).bind(now).execute(c).await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// Where a sku is stocked.
#[derive(sqlx::FromRow)]
pub(super) struct Place {
    pub id: i64,
    pub sku: String,
    pub location: String,
}

/// Every level of these skus, by id.
pub(super) async fn places(tx: &mut Tx, workspace: WorkspaceId, skus: &[&str]) -> Result<Vec<Place>, DbError> {
    let mut places = Vec::new();
    for chunk in skus.chunks(CHUNK) {
        let found: Vec<Place> = sql!(tx.exec(), c => {
            let mut select = sqlx::QueryBuilder::new("SELECT id, sku, location FROM stock_levels WHERE workspace_id = ");
            select.push_bind(workspace).push(" AND sku IN (");
            let mut list = select.separated(", ");
            for sku in chunk {
                list.push_bind(*sku);
            }
            select.push(")");
            select.build_query_as().fetch_all(c).await
        })?;
        places.extend(found);
    }
    places.sort_by_key(|place| place.id);
    Ok(places)
}

/// A level after a batch's total was added to it.
#[derive(sqlx::FromRow)]
pub(super) struct Added {
    pub id: i64,
    pub sku: String,
    pub location: String,
    pub quantity: i64,
    pub low_stock_threshold: Option<i64>,
}

/// Adds each (sku, location, total) to its level, creating the level at a new location, and
/// answers the levels as they now stand. Each (sku, location) must appear once.
pub(super) async fn add(
    tx: &mut Tx,
    workspace: WorkspaceId,
    totals: &[(&str, &str, i64)],
    now: Timestamp,
) -> Result<Vec<Added>, DbError> {
    let mut added = Vec::with_capacity(totals.len());
    for chunk in totals.chunks(CHUNK) {
        let rows: Vec<Added> = sql!(tx.exec(), c => {
            let mut upsert = sqlx::QueryBuilder::new(
                "INSERT INTO stock_levels (workspace_id, sku, location, quantity, created_at, updated_at) ",
            );
            upsert.push_values(chunk, |mut row, (sku, location, total)| {
                row.push_bind(workspace).push_bind(*sku).push_bind(*location).push_bind(*total).push_bind(now)
                    .push_bind(now);
            });
            upsert.push(
                " ON CONFLICT (workspace_id, sku, location) DO UPDATE \
                 SET quantity = stock_levels.quantity + excluded.quantity, updated_at = excluded.updated_at \
                 RETURNING id, sku, location, quantity, low_stock_threshold",
            );
            upsert.build_query_as().fetch_all(c).await
        })?;
        added.extend(rows);
    }
    Ok(added)
}

/// A ledger row to write.
pub(super) struct NewMovement<'a> {
    pub level_id: i64,
    pub sku: &'a str,
    pub location: &'a str,
    pub delta: i64,
    pub quantity_after: i64,
    pub reason: MovementReason,
    pub reference: Option<&'a str>,
    pub note: Option<&'a str>,
}

pub(super) async fn insert_movements(
    tx: &mut Tx,
    workspace: WorkspaceId,
    (actor, at): (&str, Timestamp),
    movements: &[NewMovement<'_>],
) -> Result<(), DbError> {
    for chunk in movements.chunks(CHUNK) {
        sql!(tx.exec(), c => {
            let mut insert = sqlx::QueryBuilder::new(
                "INSERT INTO stock_movements (workspace_id, level_id, sku, location, delta, quantity_after, reason, \
                 reference, note, actor, at) ",
            );
            insert.push_values(chunk, |mut row, m| {
                row.push_bind(workspace).push_bind(m.level_id).push_bind(m.sku).push_bind(m.location)
                    .push_bind(m.delta).push_bind(m.quantity_after).push_bind(m.reason.as_str()).push_bind(m.reference)
                    .push_bind(m.note).push_bind(actor).push_bind(at);
            });
            insert.build().execute(c).await.map(|r| r.rows_affected())
        })?;
    }
    Ok(())
}

#[derive(sqlx::FromRow)]
struct MovementRow {
    id: i64,
    sku: String,
    location: String,
    delta: i64,
    quantity_after: i64,
    reason: String,
    reference: Option<String>,
    note: Option<String>,
    actor: String,
    at: Timestamp,
}

impl MovementRow {
    fn into_movement(self) -> Option<StockMovement> {
        Some(StockMovement {
            reason: MovementReason::parse(&self.reason)?,
            id: self.id,
            sku: self.sku,
            location: self.location,
            delta: self.delta,
            quantity_after: self.quantity_after,
            reference: self.reference,
            note: self.note,
            actor: self.actor,
            at: self.at,
        })
    }
}

/// A sku's latest movements at every location, newest first.
pub(super) async fn movements(
    db: &Db,
    workspace: WorkspaceId,
    sku: &str,
    limit: i64,
) -> Result<Vec<StockMovement>, DbError> {
    let rows: Vec<MovementRow> = sql!(db.exec(), c => sqlx::query_as(
        "SELECT id, sku, location, delta, quantity_after, reason, reference, note, actor, at FROM stock_movements \
         WHERE workspace_id = $1 AND sku = $2 ORDER BY id DESC LIMIT $3"
    ).bind(workspace).bind(sku).bind(limit).fetch_all(c).await)?;
    Ok(rows.into_iter().filter_map(MovementRow::into_movement).collect())
}

/// The workspace's default threshold, if it set one.
pub(super) async fn default_threshold(db: &Db, workspace: WorkspaceId) -> Result<Option<i64>, DbError> {
    let threshold = sql!(db.exec(), c => sqlx::query_scalar(
        "SELECT low_stock_threshold FROM inventory_settings WHERE workspace_id = $1"
    ).bind(workspace).fetch_optional(c).await)?;
    Ok(threshold)
}

pub(super) async fn default_threshold_in(tx: &mut Tx, workspace: WorkspaceId) -> Result<Option<i64>, DbError> {
    let threshold = sql!(tx.exec(), c => sqlx::query_scalar(
        "SELECT low_stock_threshold FROM inventory_settings WHERE workspace_id = $1"
    ).bind(workspace).fetch_optional(c).await)?;
    Ok(threshold)
}

pub(super) async fn save_default_threshold(
    tx: &mut Tx,
    workspace: WorkspaceId,
    threshold: i64,
    now: Timestamp,
) -> Result<(), DbError> {
    sql!(tx.exec(), c => sqlx::query(
        "INSERT INTO inventory_settings (workspace_id, low_stock_threshold, updated_at) VALUES ($1, $2, $3) \
         ON CONFLICT (workspace_id) DO UPDATE SET low_stock_threshold = excluded.low_stock_threshold, \
         updated_at = excluded.updated_at"
    ).bind(workspace).bind(threshold).bind(now).execute(c).await.map(|r| r.rows_affected()))?;
    Ok(())
}
