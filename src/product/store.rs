//! The product catalogue's SQL.

use rapport_core::{ProductId, Timestamp, WorkspaceId};
use rapport_db::{Db, DbError, Tx, sql};

use super::model::NewProduct;

const COLUMNS: &str = "id, sku, name, category, brand, price_minor, currency, image_url, url, created_at, updated_at";

#[derive(Clone, Debug, sqlx::FromRow)]
pub(super) struct ProductRow {
    pub id: ProductId,
    pub sku: String,
    pub name: Option<String>,
    pub category: Option<String>,
    pub brand: Option<String>,
    pub price_minor: Option<i64>,
    pub currency: Option<String>,
    pub image_url: Option<String>,
    pub url: Option<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// Adds the products that are new and gives known ones what the senders now say of them: a
/// field left out keeps its value.
pub(super) async fn upsert_many(
    tx: &mut Tx,
    workspace: WorkspaceId,
    products: &[NewProduct],
    now: Timestamp,
) -> Result<(), DbError> {
    // PostgreSQL refuses an upsert that touches one row twice: an order with two lines of one
    // sku keeps the last description of it.
    let mut by_sku: std::collections::BTreeMap<&str, &NewProduct> = Default::default();
    for product in products {
        by_sku.insert(product.sku.as_str(), product);
    }
    let products: Vec<&NewProduct> = by_sku.into_values().collect();
    for chunk in products.chunks(400) {
        sql!(tx.exec(), c => {
            let mut insert = sqlx::QueryBuilder::new(
                "INSERT INTO products (workspace_id, sku, name, category, brand, price_minor, currency, image_url, url, created_at, updated_at) ",
            );
            insert.push_values(chunk, |mut row, p| {
                row.push_bind(workspace).push_bind(&p.sku).push_bind(&p.name).push_bind(&p.category).push_bind(&p.brand)
                    .push_bind(p.price_minor).push_bind(&p.currency).push_bind(&p.image_url).push_bind(&p.url)
                    .push_bind(now).push_bind(now);
            });
            insert.push(
                " ON CONFLICT (workspace_id, sku) DO UPDATE SET name = COALESCE(excluded.name, products.name),
                  category = COALESCE(excluded.category, products.category), brand = COALESCE(excluded.brand, products.brand),
                  price_minor = COALESCE(excluded.price_minor, products.price_minor),
                  currency = COALESCE(excluded.currency, products.currency),
                  image_url = COALESCE(excluded.image_url, products.image_url), url = COALESCE(excluded.url, products.url),
                  updated_at = excluded.updated_at",
            );
            insert.build().execute(c).await.map(drop)
        })?;
    }
    Ok(())
}

pub(super) async fn find(db: &Db, workspace: WorkspaceId, id: ProductId) -> Result<Option<ProductRow>, DbError> {
    let sql = format!("SELECT {COLUMNS} FROM products WHERE workspace_id = $1 AND id = $2");
    let row = sql!(db.exec(), c => sqlx::query_as(sqlx::AssertSqlSafe(sql.clone())).bind(workspace).bind(id).fetch_optional(c).await)?;
    Ok(row)
}

pub(super) async fn by_sku(db: &Db, workspace: WorkspaceId, sku: &str) -> Result<Option<ProductRow>, DbError> {
    let sql = format!("SELECT {COLUMNS} FROM products WHERE workspace_id = $1 AND sku = $2");
    let row = sql!(db.exec(), c => sqlx::query_as(sqlx::AssertSqlSafe(sql.clone())).bind(workspace).bind(sku).fetch_optional(c).await)?;
    Ok(row)
}

/// Products by id, after the cursor `after`, optionally of one category.
pub(super) async fn list(
    db: &Db,
    workspace: WorkspaceId,
    category: Option<&str>,
    after: Option<i64>,
    limit: i64,
) -> Result<Vec<ProductRow>, DbError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM products WHERE workspace_id = $1 AND ($2 IS NULL OR category = $2) AND ($3 IS NULL OR id > $3)
         ORDER BY id LIMIT $4"
    );
    let rows = sql!(db.exec(), c => sqlx::query_as(sqlx::AssertSqlSafe(sql.clone())).bind(workspace).bind(category)
        .bind(after).bind(limit).fetch_all(c).await)?;
    Ok(rows)
}
