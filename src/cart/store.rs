//! The cart module's SQL: carts with their items, the workspace's abandonment setting, and the
//! due carts the sweep marks. Every statement is scoped by `workspace_id`.

use rapport_core::{CartId, PersonId, Timestamp, WorkspaceId};
use rapport_db::{Backend, Db, DbError, Tx, sql};

use crate::order::OrderLine;

const COLUMNS: &str = "id, person_id, anonymous_id, user_id, status, currency, items, value_minor, \
     order_reference, last_activity_at, checkout_at, ordered_at, abandoned_at";

#[derive(Clone, Debug, sqlx::FromRow)]
pub(super) struct CartRow {
    pub id: CartId,
    pub person_id: Option<PersonId>,
    pub anonymous_id: Option<String>,
    pub user_id: Option<String>,
    pub status: String,
    pub currency: String,
    pub items: i64,
    pub value_minor: i64,
    pub order_reference: Option<String>,
    pub last_activity_at: Timestamp,
    pub checkout_at: Option<Timestamp>,
    pub ordered_at: Option<Timestamp>,
    pub abandoned_at: Option<Timestamp>,
}

#[derive(sqlx::FromRow)]
struct LineRow {
    cart_id: CartId,
    sku: String,
    name: Option<String>,
    category: Option<String>,
    quantity: i64,
    price_minor: i64,
}

/// Locks the selected rows on PostgreSQL until the write ends (SQLite has one writer).
fn locking(tx: &Tx, select: String) -> String {
    match tx.backend() {
        Backend::Sqlite => select,
        Backend::Postgres => format!("{select} FOR UPDATE"),
    }
}

/// The cart under `key`, created empty when there is none, locked for the rest of the write.
pub(super) async fn open(
    tx: &mut Tx,
    workspace: WorkspaceId,
    key: &str,
    (currency, at): (&str, Timestamp),
    now: Timestamp,
) -> Result<CartRow, DbError> {
    sql!(tx.exec(), c => sqlx::query(
        "INSERT INTO carts (workspace_id, cart_key, status, currency, items, value_minor, last_activity_at, created_at,
           updated_at)
         VALUES ($1, $2, 'open', $3, 0, 0, $4, $5, $5) ON CONFLICT (workspace_id, cart_key) DO NOTHING"
    ).bind(workspace).bind(key).bind(currency).bind(at).bind(now).execute(c).await.map(drop))?;
    let sql = locking(tx, format!("SELECT {COLUMNS} FROM carts WHERE workspace_id = $1 AND cart_key = $2"));
    let row = sql!(tx.exec(), c => sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
        .bind(workspace).bind(key).fetch_one(c).await)?;
    Ok(row)
}

/// The carts under any of `keys` or of `person` not yet ordered, locked for the rest of the write,
/// by id. Two lookups, each on its own index: one statement with `person_id = … OR cart_key IN
/// (…)` reads every cart of the workspace on SQLite.
pub(super) async fn unordered(
    tx: &mut Tx,
    workspace: WorkspaceId,
    keys: &[String],
    person: Option<PersonId>,
) -> Result<Vec<CartRow>, DbError> {
    let mut found: Vec<CartRow> = Vec::new();
    for key in keys {
        let sql = locking(
            tx,
            format!("SELECT {COLUMNS} FROM carts WHERE workspace_id = $1 AND cart_key = $2 AND status <> 'ordered'"),
        );
        let row: Option<CartRow> = sql!(tx.exec(), c => sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
            .bind(workspace).bind(key).fetch_optional(c).await)?;
        found.extend(row);
    }
    if let Some(person) = person {
        let sql = locking(
            tx,
            format!("SELECT {COLUMNS} FROM carts WHERE workspace_id = $1 AND person_id = $2 AND status <> 'ordered'"),
        );
        let rows: Vec<CartRow> = sql!(tx.exec(), c => sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
            .bind(workspace).bind(person).fetch_all(c).await)?;
        found.extend(rows);
    }
    found.sort_by_key(|cart| cart.id);
    found.dedup_by_key(|cart| cart.id);
    Ok(found)
}

/// Writes a cart's state and works out its items and value again from its lines.
pub(super) async fn save(
    tx: &mut Tx,
    workspace: WorkspaceId,
    cart: &CartRow,
    now: Timestamp,
) -> Result<CartRow, DbError> {
    let sql = format!(
        "UPDATE carts SET person_id = $3, anonymous_id = $4, user_id = $5, status = $6, currency = $7,
           order_reference = $8, last_activity_at = $9, checkout_at = $10, ordered_at = $11, abandoned_at = $12,
           updated_at = $13,
           items = (SELECT CAST(COALESCE(SUM(i.quantity), 0) AS bigint) FROM cart_items i
                    WHERE i.workspace_id = $1 AND i.cart_id = $2),
           value_minor = (SELECT CAST(COALESCE(SUM(i.quantity * i.price_minor), 0) AS bigint) FROM cart_items i
                          WHERE i.workspace_id = $1 AND i.cart_id = $2)
         WHERE workspace_id = $1 AND id = $2 RETURNING {COLUMNS}"
    );
    let row = sql!(tx.exec(), c => sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
        .bind(workspace).bind(cart.id).bind(cart.person_id).bind(&cart.anonymous_id).bind(&cart.user_id)
        .bind(&cart.status).bind(&cart.currency).bind(&cart.order_reference).bind(cart.last_activity_at)
        .bind(cart.checkout_at).bind(cart.ordered_at).bind(cart.abandoned_at).bind(now).fetch_one(c).await)?;
    Ok(row)
}

/// Adds `line` to the cart: more of a product already in it adds to its quantity, at the
/// latest price and name.
pub(super) async fn add_line(
    tx: &mut Tx,
    workspace: WorkspaceId,
    cart: CartId,
    line: &OrderLine,
    at: Timestamp,
) -> Result<(), DbError> {
    sql!(tx.exec(), c => sqlx::query(
        "INSERT INTO cart_items (workspace_id, cart_id, sku, name, category, quantity, price_minor, added_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
         ON CONFLICT (workspace_id, cart_id, sku) DO UPDATE SET quantity = cart_items.quantity + excluded.quantity,
           name = COALESCE(excluded.name, cart_items.name), category = COALESCE(excluded.category, cart_items.category),
           price_minor = CASE WHEN excluded.price_minor > 0 THEN excluded.price_minor ELSE cart_items.price_minor END"
    ).bind(workspace).bind(cart).bind(&line.sku).bind(&line.name).bind(&line.category).bind(line.quantity)
    .bind(line.price_minor).bind(at).execute(c).await.map(drop))?;
    Ok(())
}

/// Takes `quantity` of the product out of the cart, or the whole line when `None`.
pub(super) async fn remove_line(
    tx: &mut Tx,
    workspace: WorkspaceId,
    cart: CartId,
    sku: &str,
    quantity: Option<i64>,
) -> Result<(), DbError> {
    if let Some(quantity) = quantity {
        sql!(tx.exec(), c => sqlx::query(
            "UPDATE cart_items SET quantity = quantity - $4 WHERE workspace_id = $1 AND cart_id = $2 AND sku = $3"
        ).bind(workspace).bind(cart).bind(sku).bind(quantity).execute(c).await.map(drop))?;
    }
    sql!(tx.exec(), c => sqlx::query(
        "DELETE FROM cart_items WHERE workspace_id = $1 AND cart_id = $2 AND sku = $3 AND ($4 OR quantity <= 0)"
    ).bind(workspace).bind(cart).bind(sku).bind(quantity.is_none()).execute(c).await.map(drop))?;
    Ok(())
}

/// Empties the cart.
pub(super) async fn clear(tx: &mut Tx, workspace: WorkspaceId, cart: CartId) -> Result<(), DbError> {
    sql!(tx.exec(), c => sqlx::query("DELETE FROM cart_items WHERE workspace_id = $1 AND cart_id = $2")
        .bind(workspace).bind(cart).execute(c).await.map(drop))?;
    Ok(())
}

/// The lines of these carts, by cart then sku.
pub(super) async fn lines(
    db: &Db,
    workspace: WorkspaceId,
    carts: &[CartId],
) -> Result<Vec<(CartId, OrderLine)>, DbError> {
    let mut found = Vec::new();
    for chunk in carts.chunks(500) {
        let rows: Vec<LineRow> = sql!(db.exec(), c => {
            let mut select = sqlx::QueryBuilder::new(
                "SELECT cart_id, sku, name, category, quantity, price_minor FROM cart_items WHERE workspace_id = ",
            );
            select.push_bind(workspace).push(" AND cart_id IN (");
            let mut list = select.separated(", ");
            for cart in chunk {
                list.push_bind(*cart);
            }
            select.push(") ORDER BY cart_id, sku");
            select.build_query_as().fetch_all(c).await
        })?;
        found.extend(rows.into_iter().map(|r| {
            let line = OrderLine {
                sku: r.sku,
                name: r.name,
                category: r.category,
                quantity: r.quantity,
                price_minor: r.price_minor,
            };
            (r.cart_id, line)
        }));
    }
    Ok(found)
}

/// The skus and quantities of a cart, inside a write.
pub(super) async fn skus_in(tx: &mut Tx, workspace: WorkspaceId, cart: CartId) -> Result<Vec<(String, i64)>, DbError> {
    let rows = sql!(tx.exec(), c => sqlx::query_as(
        "SELECT sku, quantity FROM cart_items WHERE workspace_id = $1 AND cart_id = $2 ORDER BY sku"
    ).bind(workspace).bind(cart).fetch_all(c).await)?;
    Ok(rows)
}

/// Which carts a list shows.
pub(super) struct ListQuery {
    pub person: Option<PersonId>,
    pub status: Option<String>,
    pub abandoned: Option<bool>,
    /// After this (last activity, id), newest first.
    pub before: Option<(Timestamp, i64)>,
    pub limit: i64,
}

pub(super) async fn list(db: &Db, workspace: WorkspaceId, query: &ListQuery) -> Result<Vec<CartRow>, DbError> {
    let (before_at, before_id) = query.before.unzip();
    let sql = format!(
        "SELECT {COLUMNS} FROM carts WHERE workspace_id = $1 AND items > 0
           AND ($2 IS NULL OR person_id = $2) AND ($3 IS NULL OR status = $3)
           AND ($4 IS NULL OR (abandoned_at IS NOT NULL) = $4)
           AND ($5 IS NULL OR last_activity_at < $5 OR (last_activity_at = $5 AND id < $6))
         ORDER BY last_activity_at DESC, id DESC LIMIT $7"
    );
    let rows = sql!(db.exec(), c => sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
        .bind(workspace).bind(query.person).bind(&query.status).bind(query.abandoned).bind(before_at)
        .bind(before_id).bind(query.limit).fetch_all(c).await)?;
    Ok(rows)
}

pub(super) async fn find(db: &Db, workspace: WorkspaceId, id: CartId) -> Result<Option<CartRow>, DbError> {
    let sql = format!("SELECT {COLUMNS} FROM carts WHERE workspace_id = $1 AND id = $2");
    let row = sql!(db.exec(), c => sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
        .bind(workspace).bind(id).fetch_optional(c).await)?;
    Ok(row)
}

/// Gives the carts of a visitor nobody had identified (by `column`, `anonymous_id` or
/// `user_id`, equal to `value`) to `person`.
pub(super) async fn attribute(
    tx: &mut Tx,
    workspace: WorkspaceId,
    (column, value): (&str, &str),
    person: PersonId,
) -> Result<(), DbError> {
    let column = match column {
        "anonymous_id" => "anonymous_id",
        _ => "user_id",
    };
    let sql =
        format!("UPDATE carts SET person_id = $3 WHERE workspace_id = $1 AND person_id IS NULL AND {column} = $2");
    sql!(tx.exec(), c => sqlx::query(sqlx::AssertSqlSafe(sql.clone()))
        .bind(workspace).bind(value).bind(person).execute(c).await.map(drop))?;
    Ok(())
}

/// The workspaces with open carts not yet marked abandoned, with their abandonment time.
pub(super) async fn pending_workspaces(db: &Db, default_minutes: i64) -> Result<Vec<(WorkspaceId, i64)>, DbError> {
    let rows = sql!(db.exec(), c => sqlx::query_as(
        "SELECT w.workspace_id, COALESCE(s.abandon_after_minutes, $1)
         FROM (SELECT DISTINCT workspace_id FROM carts WHERE status = 'open' AND abandoned_at IS NULL AND items > 0) w
         LEFT JOIN cart_settings s ON s.workspace_id = w.workspace_id ORDER BY w.workspace_id"
    ).bind(default_minutes).fetch_all(c).await)?;
    Ok(rows)
}

/// Open carts with items whose last activity is at or before `cutoff`, not yet marked: a batch,
/// locked (skipping carts another sweep holds on PostgreSQL).
pub(super) async fn due(
    tx: &mut Tx,
    workspace: WorkspaceId,
    cutoff: Timestamp,
    limit: i64,
) -> Result<Vec<CartRow>, DbError> {
    let select = format!(
        "SELECT {COLUMNS} FROM carts WHERE workspace_id = $1 AND status = 'open' AND abandoned_at IS NULL
           AND items > 0 AND last_activity_at <= $2 ORDER BY last_activity_at, id LIMIT $3"
    );
    let sql = match tx.backend() {
        Backend::Sqlite => select,
        Backend::Postgres => format!("{select} FOR UPDATE SKIP LOCKED"),
    };
    let rows = sql!(tx.exec(), c => sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
        .bind(workspace).bind(cutoff).bind(limit).fetch_all(c).await)?;
    Ok(rows)
}

pub(super) async fn mark_abandoned(
    tx: &mut Tx,
    workspace: WorkspaceId,
    cart: CartId,
    now: Timestamp,
) -> Result<(), DbError> {
    sql!(tx.exec(), c => sqlx::query(
        "UPDATE carts SET abandoned_at = $3, updated_at = $3 WHERE workspace_id = $1 AND id = $2"
    ).bind(workspace).bind(cart).bind(now).execute(c).await.map(drop))?;
    Ok(())
}

pub(super) async fn abandon_after(db: &Db, workspace: WorkspaceId) -> Result<Option<i64>, DbError> {
    let minutes = sql!(db.exec(), c => sqlx::query_scalar(
        "SELECT abandon_after_minutes FROM cart_settings WHERE workspace_id = $1"
    ).bind(workspace).fetch_optional(c).await)?;
    Ok(minutes)
}

pub(super) async fn abandon_after_in(tx: &mut Tx, workspace: WorkspaceId) -> Result<Option<i64>, DbError> {
    let minutes = sql!(tx.exec(), c => sqlx::query_scalar(
        "SELECT abandon_after_minutes FROM cart_settings WHERE workspace_id = $1"
    ).bind(workspace).fetch_optional(c).await)?;
    Ok(minutes)
}

pub(super) async fn save_abandon_after(
    tx: &mut Tx,
    workspace: WorkspaceId,
    minutes: i64,
    now: Timestamp,
) -> Result<(), DbError> {
    sql!(tx.exec(), c => sqlx::query(
        "INSERT INTO cart_settings (workspace_id, abandon_after_minutes, updated_at) VALUES ($1, $2, $3)
         ON CONFLICT (workspace_id) DO UPDATE SET abandon_after_minutes = excluded.abandon_after_minutes,
           updated_at = excluded.updated_at"
    ).bind(workspace).bind(minutes).bind(now).execute(c).await.map(drop))?;
    Ok(())
}

/// Gives a merged person's carts to the survivor; answers them, for an undo.
pub(super) async fn reassign(
    tx: &mut Tx,
    workspace: WorkspaceId,
    from: PersonId,
    to: PersonId,
) -> Result<Vec<i64>, DbError> {
    let ids = sql!(tx.exec(), c => sqlx::query_scalar(
        "UPDATE carts SET person_id = $3 WHERE workspace_id = $1 AND person_id = $2 RETURNING id"
    ).bind(workspace).bind(from).bind(to).fetch_all(c).await)?;
    Ok(ids)
}

pub(super) async fn reassign_ids(
    tx: &mut Tx,
    workspace: WorkspaceId,
    ids: &[i64],
    to: PersonId,
) -> Result<(), DbError> {
    for chunk in ids.chunks(500) {
        sql!(tx.exec(), c => {
            let mut update = sqlx::QueryBuilder::new("UPDATE carts SET person_id = ");
            update.push_bind(to).push(" WHERE workspace_id = ").push_bind(workspace).push(" AND id IN (");
            let mut list = update.separated(", ");
            for id in chunk {
                list.push_bind(*id);
            }
            update.push(")");
            update.build().execute(c).await.map(drop)
        })?;
    }
    Ok(())
}

/// A purged person's carts go, with what they held.
pub(super) async fn forget_person(tx: &mut Tx, workspace: WorkspaceId, person: PersonId) -> Result<(), DbError> {
    sql!(tx.exec(), c => sqlx::query("DELETE FROM carts WHERE workspace_id = $1 AND person_id = $2")
        .bind(workspace).bind(person).execute(c).await.map(drop))?;
    Ok(())
}
