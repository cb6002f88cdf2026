//! The order module's SQL: orders with their lines, status history and returns, and the
//! per-person spend and categories they add up to.

use rapport_core::{OrderId, PersonId, Timestamp, WorkspaceId};
use rapport_db::{Db, DbError, Tx, sql};
use sqlx::types::Json;

use super::model::{NewOrder, OrderLine, Visitor};

const COLUMNS: &str = "id, reference, person_id, status, currency, subtotal_minor, discount_minor, tax_minor, \
     shipping_minor, total_minor, refunded_minor, coupon, carrier, tracking_number, placed_at, updated_at, origin";

#[derive(Clone, Debug, sqlx::FromRow)]
pub(super) struct OrderRow {
    pub id: OrderId,
    pub reference: String,
    pub person_id: Option<PersonId>,
    pub status: String,
    pub currency: String,
    pub subtotal_minor: i64,
    pub discount_minor: i64,
    pub tax_minor: i64,
    pub shipping_minor: i64,
    pub total_minor: i64,
    pub refunded_minor: i64,
    pub coupon: Option<String>,
    pub carrier: Option<String>,
    pub tracking_number: Option<String>,
    pub placed_at: Timestamp,
    pub updated_at: Timestamp,
    pub origin: String,
}

#[derive(Clone, Debug, sqlx::FromRow)]
pub(super) struct LineRow {
    pub line: i64,
    pub sku: String,
    pub name: Option<String>,
    pub category: Option<String>,
    pub quantity: i64,
    pub price_minor: i64,
    pub returned: i64,
}

#[derive(Clone, Debug, sqlx::FromRow)]
pub(super) struct HistoryRow {
    pub status: String,
    pub carrier: Option<String>,
    pub tracking_number: Option<String>,
    pub note: Option<String>,
    pub actor: String,
    pub at: Timestamp,
}

#[derive(Clone, Debug, sqlx::FromRow)]
pub(super) struct ReturnRow {
    pub id: i64,
    pub items: Json<serde_json::Value>,
    pub reason: Option<String>,
    pub amount_minor: i64,
    pub actor: String,
    pub created_at: Timestamp,
}

pub(super) async fn by_reference(
    tx: &mut Tx,
    workspace: WorkspaceId,
    reference: &str,
) -> Result<Option<OrderRow>, DbError> {
    let sql = format!("SELECT {COLUMNS} FROM orders WHERE workspace_id = $1 AND reference = $2");
    let row = sql!(tx.exec(), c => sqlx::query_as(sqlx::AssertSqlSafe(sql.clone())).bind(workspace).bind(reference).fetch_optional(c).await)?;
    Ok(row)
}

pub(super) async fn find_in(tx: &mut Tx, workspace: WorkspaceId, id: OrderId) -> Result<Option<OrderRow>, DbError> {
    let sql = format!("SELECT {COLUMNS} FROM orders WHERE workspace_id = $1 AND id = $2");
    let row = sql!(tx.exec(), c => sqlx::query_as(sqlx::AssertSqlSafe(sql.clone())).bind(workspace).bind(id).fetch_optional(c).await)?;
    Ok(row)
}

pub(super) async fn find(db: &Db, workspace: WorkspaceId, id: OrderId) -> Result<Option<OrderRow>, DbError> {
    let sql = format!("SELECT {COLUMNS} FROM orders WHERE workspace_id = $1 AND id = $2");
    let row = sql!(db.exec(), c => sqlx::query_as(sqlx::AssertSqlSafe(sql.clone())).bind(workspace).bind(id).fetch_optional(c).await)?;
    Ok(row)
}

pub(super) async fn insert(
    tx: &mut Tx,
    workspace: WorkspaceId,
    visitor: Visitor<'_>,
    (order, status, origin): (&NewOrder, &str, &str),
    now: Timestamp,
) -> Result<OrderId, DbError> {
    // The sender's ids are kept only while nobody is known to have placed the order.
    let (user_id, anonymous_id) = match visitor.person {
        Some(_) => (None, None),
        None => (visitor.user_id, visitor.anonymous_id),
    };
    let id = sql!(tx.exec(), c => sqlx::query_scalar(
        "INSERT INTO orders (workspace_id, reference, person_id, status, currency, subtotal_minor, discount_minor, tax_minor,
           shipping_minor, total_minor, coupon, placed_at, updated_at, origin, user_id, anonymous_id)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16) RETURNING id"
    ).bind(workspace).bind(&order.reference).bind(visitor.person).bind(status).bind(order.currency.as_str())
    .bind(order.subtotal).bind(order.discount).bind(order.tax).bind(order.shipping).bind(order.total)
    .bind(&order.coupon).bind(order.placed_at).bind(now).bind(origin).bind(user_id).bind(anonymous_id)
    .fetch_one(c).await)?;
    insert_lines(tx, workspace, id, &order.lines).await?;
    Ok(id)
}

async fn insert_lines(tx: &mut Tx, workspace: WorkspaceId, order: OrderId, lines: &[OrderLine]) -> Result<(), DbError> {
    if lines.is_empty() {
        return Ok(());
    }
    let numbered: Vec<(i64, &OrderLine)> = lines.iter().enumerate().map(|(n, l)| (n as i64 + 1, l)).collect();
    for chunk in numbered.chunks(500) {
        sql!(tx.exec(), c => {
            let mut insert = sqlx::QueryBuilder::new(
                "INSERT INTO order_items (workspace_id, order_id, line, sku, name, category, quantity, price_minor) ",
            );
            insert.push_values(chunk, |mut row, (n, l)| {
                row.push_bind(workspace).push_bind(order).push_bind(*n).push_bind(&l.sku).push_bind(&l.name)
                    .push_bind(&l.category).push_bind(l.quantity).push_bind(l.price_minor);
            });
            insert.build().execute(c).await.map(drop)
        })?;
    }
    Ok(())
}

/// Replaces an order's amounts and lines, as an `Order Updated` event describes it anew.
pub(super) async fn replace(
    tx: &mut Tx,
    workspace: WorkspaceId,
    id: OrderId,
    order: &NewOrder,
    now: Timestamp,
) -> Result<(), DbError> {
    sql!(tx.exec(), c => sqlx::query(
        "UPDATE orders SET currency = $3, subtotal_minor = $4, discount_minor = $5, tax_minor = $6, shipping_minor = $7,
           total_minor = $8, coupon = COALESCE($9, coupon), updated_at = $10 WHERE workspace_id = $1 AND id = $2"
    ).bind(workspace).bind(id).bind(order.currency.as_str()).bind(order.subtotal).bind(order.discount).bind(order.tax)
    .bind(order.shipping).bind(order.total).bind(&order.coupon).bind(now).execute(c).await.map(drop))?;
    sql!(tx.exec(), c => sqlx::query("DELETE FROM order_items WHERE workspace_id = $1 AND order_id = $2")
        .bind(workspace).bind(id).execute(c).await.map(drop))?;
    insert_lines(tx, workspace, id, &order.lines).await
}

pub(super) struct StatusChange<'a> {
    pub status: &'a str,
    pub carrier: Option<&'a str>,
    pub tracking_number: Option<&'a str>,
    pub note: Option<&'a str>,
    pub actor: &'a str,
}

pub(super) async fn set_status(
    tx: &mut Tx,
    workspace: WorkspaceId,
    id: OrderId,
    change: &StatusChange<'_>,
    now: Timestamp,
) -> Result<(), DbError> {
    sql!(tx.exec(), c => sqlx::query(
        "UPDATE orders SET status = $3, carrier = COALESCE($4, carrier), tracking_number = COALESCE($5, tracking_number),
           updated_at = $6 WHERE workspace_id = $1 AND id = $2"
    ).bind(workspace).bind(id).bind(change.status).bind(change.carrier).bind(change.tracking_number).bind(now)
    .execute(c).await.map(drop))?;
    record_history(tx, workspace, id, change, now).await
}

pub(super) async fn record_history(
    tx: &mut Tx,
    workspace: WorkspaceId,
    id: OrderId,
    change: &StatusChange<'_>,
    now: Timestamp,
) -> Result<(), DbError> {
    sql!(tx.exec(), c => sqlx::query(
        "INSERT INTO order_history (workspace_id, order_id, status, carrier, tracking_number, note, actor, at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
    ).bind(workspace).bind(id).bind(change.status).bind(change.carrier).bind(change.tracking_number).bind(change.note)
    .bind(change.actor).bind(now).execute(c).await.map(drop))?;
    Ok(())
}

/// Adds `amount` to what was refunded, never beyond the total; answers the refunded amount.
pub(super) async fn add_refund(
    tx: &mut Tx,
    workspace: WorkspaceId,
    id: OrderId,
    amount: i64,
    now: Timestamp,
) -> Result<i64, DbError> {
    let refunded = sql!(tx.exec(), c => sqlx::query_scalar(
        "UPDATE orders SET refunded_minor = CASE WHEN refunded_minor + $3 > total_minor THEN total_minor ELSE refunded_minor + $3 END,
           updated_at = $4 WHERE workspace_id = $1 AND id = $2 RETURNING refunded_minor"
    ).bind(workspace).bind(id).bind(amount).bind(now).fetch_one(c).await)?;
    Ok(refunded)
}

pub(super) async fn insert_return(
    tx: &mut Tx,
    workspace: WorkspaceId,
    order: OrderId,
    (items, reason, amount): (&serde_json::Value, Option<&str>, i64),
    actor: &str,
    now: Timestamp,
) -> Result<i64, DbError> {
    let id = sql!(tx.exec(), c => sqlx::query_scalar(
        "INSERT INTO order_returns (workspace_id, order_id, items, reason, amount_minor, actor, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id"
    ).bind(workspace).bind(order).bind(Json(items)).bind(reason).bind(amount).bind(actor).bind(now).fetch_one(c).await)?;
    Ok(id)
}

pub(super) async fn mark_returned(
    tx: &mut Tx,
    workspace: WorkspaceId,
    order: OrderId,
    line: i64,
    quantity: i64,
) -> Result<(), DbError> {
    sql!(tx.exec(), c => sqlx::query(
        "UPDATE order_items SET returned = returned + $4 WHERE workspace_id = $1 AND order_id = $2 AND line = $3"
    ).bind(workspace).bind(order).bind(line).bind(quantity).execute(c).await.map(drop))?;
    Ok(())
}

pub(super) async fn lines_in(tx: &mut Tx, workspace: WorkspaceId, order: OrderId) -> Result<Vec<LineRow>, DbError> {
    let rows = sql!(tx.exec(), c => sqlx::query_as(
        "SELECT line, sku, name, category, quantity, price_minor, returned FROM order_items
         WHERE workspace_id = $1 AND order_id = $2 ORDER BY line"
    ).bind(workspace).bind(order).fetch_all(c).await)?;
    Ok(rows)
}

pub(super) async fn lines(db: &Db, workspace: WorkspaceId, order: OrderId) -> Result<Vec<LineRow>, DbError> {
    let rows = sql!(db.exec(), c => sqlx::query_as(
        "SELECT line, sku, name, category, quantity, price_minor, returned FROM order_items
         WHERE workspace_id = $1 AND order_id = $2 ORDER BY line"
    ).bind(workspace).bind(order).fetch_all(c).await)?;
    Ok(rows)
}

pub(super) async fn history(db: &Db, workspace: WorkspaceId, order: OrderId) -> Result<Vec<HistoryRow>, DbError> {
    let rows = sql!(db.exec(), c => sqlx::query_as(
        "SELECT status, carrier, tracking_number, note, actor, at FROM order_history
         WHERE workspace_id = $1 AND order_id = $2 ORDER BY id"
    ).bind(workspace).bind(order).fetch_all(c).await)?;
    Ok(rows)
}

pub(super) async fn returns(db: &Db, workspace: WorkspaceId, order: OrderId) -> Result<Vec<ReturnRow>, DbError> {
    let rows = sql!(db.exec(), c => sqlx::query_as(
        "SELECT id, items, reason, amount_minor, actor, created_at FROM order_returns
         WHERE workspace_id = $1 AND order_id = $2 ORDER BY id"
    ).bind(workspace).bind(order).fetch_all(c).await)?;
    Ok(rows)
}

pub(super) struct ListQuery<'a> {
    pub person: Option<PersonId>,
    pub status: Option<&'a str>,
    pub reference: Option<&'a str>,
    /// Orders with an id below this one (the cursor), newest first.
    pub before: Option<i64>,
    pub limit: i64,
}

pub(super) async fn list(db: &Db, workspace: WorkspaceId, query: &ListQuery<'_>) -> Result<Vec<OrderRow>, DbError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM orders WHERE workspace_id = $1 AND ($2 IS NULL OR person_id = $2)
           AND ($3 IS NULL OR status = $3) AND ($4 IS NULL OR reference = $4) AND ($5 IS NULL OR id < $5)
         ORDER BY id DESC LIMIT $6"
    );
    let rows = sql!(db.exec(), c => sqlx::query_as(sqlx::AssertSqlSafe(sql.clone())).bind(workspace).bind(query.person)
        .bind(query.status).bind(query.reference).bind(query.before).bind(query.limit).fetch_all(c).await)?;
    Ok(rows)
}

/// Works out again what `person` spent (per currency: orders, total less refunds, first and last
/// order) and bought (items per category) from their orders that count.
pub(super) async fn refresh_person(tx: &mut Tx, workspace: WorkspaceId, person: PersonId) -> Result<(), DbError> {
    sql!(tx.exec(), c => sqlx::query("DELETE FROM person_spend WHERE workspace_id = $1 AND person_id = $2")
        .bind(workspace).bind(person).execute(c).await.map(drop))?;
    sql!(tx.exec(), c => sqlx::query(
        "INSERT INTO person_spend (workspace_id, person_id, currency, orders, total_minor, first_order_at, last_order_at)
         SELECT workspace_id, person_id, currency, count(*), sum(total_minor - refunded_minor), min(placed_at), max(placed_at)
         FROM orders WHERE workspace_id = $1 AND person_id = $2 AND status <> 'cancelled'
         GROUP BY workspace_id, person_id, currency"
    ).bind(workspace).bind(person).execute(c).await.map(drop))?;
    sql!(tx.exec(), c => sqlx::query("DELETE FROM person_categories WHERE workspace_id = $1 AND person_id = $2")
        .bind(workspace).bind(person).execute(c).await.map(drop))?;
    sql!(tx.exec(), c => sqlx::query(
        "INSERT INTO person_categories (workspace_id, person_id, category, items, last_bought_at)
         SELECT o.workspace_id, o.person_id, i.category, sum(i.quantity - i.returned), max(o.placed_at)
         FROM orders o JOIN order_items i ON i.workspace_id = o.workspace_id AND i.order_id = o.id
         WHERE o.workspace_id = $1 AND o.person_id = $2 AND o.status <> 'cancelled' AND i.category IS NOT NULL
         GROUP BY o.workspace_id, o.person_id, i.category"
    ).bind(workspace).bind(person).execute(c).await.map(drop))?;
    Ok(())
}

#[derive(Clone, Debug, sqlx::FromRow)]
pub(super) struct SpendRow {
    pub currency: String,
    pub orders: i64,
    pub total_minor: i64,
    pub first_order_at: Timestamp,
    pub last_order_at: Timestamp,
}

pub(super) async fn spend_of(db: &Db, workspace: WorkspaceId, person: PersonId) -> Result<Vec<SpendRow>, DbError> {
    let rows = sql!(db.exec(), c => sqlx::query_as(
        "SELECT currency, orders, total_minor, first_order_at, last_order_at FROM person_spend
         WHERE workspace_id = $1 AND person_id = $2 ORDER BY total_minor DESC"
    ).bind(workspace).bind(person).fetch_all(c).await)?;
    Ok(rows)
}

pub(super) async fn categories_of(
    db: &Db,
    workspace: WorkspaceId,
    person: PersonId,
    limit: i64,
) -> Result<Vec<(String, i64)>, DbError> {
    let rows = sql!(db.exec(), c => sqlx::query_as(
        "SELECT category, items FROM person_categories WHERE workspace_id = $1 AND person_id = $2
         ORDER BY items DESC, category LIMIT $3"
    ).bind(workspace).bind(person).bind(limit).fetch_all(c).await)?;
    Ok(rows)
}

/// Gives `from`'s orders to `to`; answers the orders moved.
/// Gives the orders of a visitor nobody had identified (by `column`, `anonymous_id` or
/// `user_id`, equal to `value`) to `person`, answering them.
pub(super) async fn attribute(
    tx: &mut Tx,
    workspace: WorkspaceId,
    (column, value): (&str, &str),
    person: PersonId,
) -> Result<Vec<OrderRow>, DbError> {
    let column = match column {
        "anonymous_id" => "anonymous_id",
        _ => "user_id",
    };
    let sql = format!(
        "UPDATE orders SET person_id = $3, user_id = NULL, anonymous_id = NULL
         WHERE workspace_id = $1 AND person_id IS NULL AND {column} = $2 RETURNING {COLUMNS}"
    );
    let rows = sql!(tx.exec(), c => sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
        .bind(workspace).bind(value).bind(person).fetch_all(c).await)?;
    Ok(rows)
}

pub(super) async fn reassign(
    tx: &mut Tx,
    workspace: WorkspaceId,
    from: PersonId,
    to: PersonId,
) -> Result<Vec<i64>, DbError> {
    let ids = sql!(tx.exec(), c => sqlx::query_scalar(
        "UPDATE orders SET person_id = $3 WHERE workspace_id = $1 AND person_id = $2 RETURNING id"
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
            let mut update = sqlx::QueryBuilder::new("UPDATE orders SET person_id = ");
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

/// A purged person's orders stay, as the business's records, without them.
pub(super) async fn forget_person(tx: &mut Tx, workspace: WorkspaceId, person: PersonId) -> Result<(), DbError> {
    sql!(tx.exec(), c => sqlx::query(
        "UPDATE orders SET person_id = NULL, user_id = NULL, anonymous_id = NULL WHERE workspace_id = $1 AND person_id = $2"
    )
        .bind(workspace).bind(person).execute(c).await.map(drop))?;
    for table in ["person_spend", "person_categories"] {
        let sql = format!("DELETE FROM {table} WHERE workspace_id = $1 AND person_id = $2");
        sql!(tx.exec(), c => sqlx::query(sqlx::AssertSqlSafe(sql.clone())).bind(workspace).bind(person).execute(c).await.map(drop))?;
    }
    Ok(())
}

/// Who bought `sku`: people with the items they bought and when they last did, most items first.
pub(super) async fn buyers_of(
    db: &Db,
    workspace: WorkspaceId,
    sku: &str,
    limit: i64,
) -> Result<Vec<(PersonId, i64, Timestamp)>, DbError> {
    let rows = sql!(db.exec(), c => sqlx::query_as(
        "SELECT o.person_id, CAST(sum(i.quantity) AS bigint), max(o.placed_at) FROM order_items i
         JOIN orders o ON o.workspace_id = i.workspace_id AND o.id = i.order_id
         WHERE i.workspace_id = $1 AND i.sku = $2 AND o.person_id IS NOT NULL AND o.status <> 'cancelled'
         GROUP BY o.person_id ORDER BY sum(i.quantity) DESC, o.person_id LIMIT $3"
    ).bind(workspace).bind(sku).bind(limit).fetch_all(c).await)?;
    Ok(rows)
}

pub(super) async fn count_all(db: &Db, workspace: WorkspaceId) -> Result<i64, DbError> {
    let count = sql!(db.exec(), c => sqlx::query_scalar("SELECT count(*) FROM orders WHERE workspace_id = $1")
        .bind(workspace).fetch_one(c).await)?;
    Ok(count)
}
