//! Use cases on the product catalogue. Tracked e-commerce events keep it current (every product
//! a customer views, adds or orders is catalogued by sku); other systems push products through
//! the API; a product's page names who bought it.

use chrono::Utc;
use rapport_core::{CurrencyCode, Money, PersonId, ProductId, Timestamp, WorkspaceId};
use rapport_db::{Db, DbError, Tx};
use serde_json::Value;

use super::model::{self, NewProduct};
use super::store::{self, ProductRow};
use crate::http::FieldErrors;
use crate::identity::Principal;
use crate::order::OrderLine;

const MODULE: &str = "orders";

#[derive(Debug, thiserror::Error)]
pub enum ProductError {
    #[error("some fields are invalid")]
    Invalid(FieldErrors),
    #[error("no such product")]
    NotFound,
    #[error("{0}")]
    Forbidden(&'static str),
    #[error(transparent)]
    Db(#[from] DbError),
}

/// The e-commerce events whose properties describe one product.
pub const PRODUCT_EVENTS: [&str; 5] =
    ["Product Viewed", "Product Added", "Product Removed", "Product Clicked", "Product Added to Wishlist"];

/// The products an event describes (one product, or a `products` list); products that cannot
/// be read are left out.
pub fn described(name: &str, properties: &Value) -> Vec<NewProduct> {
    if PRODUCT_EVENTS.contains(&name) {
        model::parse(properties).into_iter().collect()
    } else {
        let products = properties.get("products").and_then(Value::as_array);
        products.into_iter().flatten().filter_map(|p| model::parse(p).ok()).collect()
    }
}

/// Catalogues the products an event describes.
pub async fn catalogue_event(
    tx: &mut Tx,
    workspace: WorkspaceId,
    name: &str,
    properties: &Value,
) -> Result<(), DbError> {
    catalogue(tx, workspace, &described(name, properties)).await
}

/// Catalogues products, many events' worth in one statement per 400 skus.
pub async fn catalogue(tx: &mut Tx, workspace: WorkspaceId, products: &[NewProduct]) -> Result<(), DbError> {
    if products.is_empty() {
        return Ok(());
    }
    store::upsert_many(tx, workspace, products, Utc::now()).await
}

/// Catalogues the products of an order's lines.
pub async fn catalogue_lines(
    tx: &mut Tx,
    workspace: WorkspaceId,
    lines: &[OrderLine],
    currency: CurrencyCode,
) -> Result<(), DbError> {
    let products: Vec<NewProduct> = lines
        .iter()
        .map(|l| NewProduct {
            sku: l.sku.clone(),
            name: l.name.clone(),
            category: l.category.clone(),
            brand: None,
            price_minor: (l.price_minor > 0).then_some(l.price_minor),
            currency: (l.price_minor > 0).then(|| currency.as_str().to_owned()),
            image_url: None,
            url: None,
        })
        .collect();
    store::upsert_many(tx, workspace, &products, Utc::now()).await
}

#[derive(Clone, Debug, serde::Serialize, utoipa::ToSchema)]
pub struct Product {
    pub id: i64,
    pub sku: String,
    pub name: Option<String>,
    pub category: Option<String>,
    pub brand: Option<String>,
    /// In minor units of `currency`.
    pub price: Option<i64>,
    pub currency: Option<String>,
    pub image_url: Option<String>,
    pub url: Option<String>,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: Timestamp,
}

impl Product {
    pub fn price_text(&self) -> Option<String> {
        let currency = CurrencyCode::parse(self.currency.as_deref()?).ok()?;
        Some(Money::new(self.price?, currency).to_string())
    }
}

impl From<ProductRow> for Product {
    fn from(row: ProductRow) -> Self {
        Self {
            id: row.id.get(),
            sku: row.sku,
            name: row.name,
            category: row.category,
            brand: row.brand,
            price: row.price_minor,
            currency: row.currency,
            image_url: row.image_url,
            url: row.url,
            created_at: row.created_at,
            updated_at: row.updated_at,
        }
    }
}

/// Someone who bought a product.
#[derive(Clone, Debug, serde::Serialize, utoipa::ToSchema)]
pub struct Buyer {
    pub person_id: i64,
    pub items: i64,
    #[schema(value_type = String, format = DateTime)]
    pub last_bought_at: Timestamp,
}

fn require(principal: &Principal, write: bool) -> Result<(), ProductError> {
    match (principal.may(MODULE, write), write) {
        (true, _) => Ok(()),
        (false, true) => Err(ProductError::Forbidden("your role may not change products")),
        (false, false) => Err(ProductError::Forbidden("your role may not read products")),
    }
}

pub async fn list(
    db: &Db,
    principal: &Principal,
    category: Option<&str>,
    after: Option<i64>,
    limit: i64,
) -> Result<(Vec<Product>, Option<i64>), ProductError> {
    require(principal, false)?;
    let limit = limit.clamp(1, 200);
    let mut rows = store::list(db, principal.workspace_id, category, after, limit + 1).await?;
    let next = crate::profile::cut_page(&mut rows, limit, |r| r.id.get());
    Ok((rows.into_iter().map(Product::from).collect(), next))
}

/// A product with the people who bought it (the readable ones), most items first.
pub async fn get(db: &Db, principal: &Principal, id: ProductId) -> Result<(Product, Vec<Buyer>), ProductError> {
    require(principal, false)?;
    let product: Product = store::find(db, principal.workspace_id, id).await?.ok_or(ProductError::NotFound)?.into();
    let bought = crate::order::buyers_of(db, principal, &product.sku, 50).await.map_err(|err| match err {
        crate::order::OrderError::Db(db) => ProductError::Db(db),
        _ => ProductError::Forbidden("your role may not read orders"),
    })?;
    let ids: Vec<i64> = bought.iter().map(|(p, _, _)| p.get()).collect();
    let readable: std::collections::HashSet<i64> = match crate::person::readable(db, principal, &ids).await {
        Ok(people) => people.into_iter().map(|p| p.id.get()).collect(),
        Err(_) => Default::default(),
    };
    let buyers = bought
        .into_iter()
        .filter(|(p, _, _)| readable.contains(&p.get()))
        .map(|(p, items, last): (PersonId, i64, Timestamp)| Buyer { person_id: p.get(), items, last_bought_at: last })
        .collect();
    Ok((product, buyers))
}

/// Creates or updates the product `sku` from another system's description.
pub async fn put(db: &Db, principal: &Principal, sku: &str, body: &Value) -> Result<Product, ProductError> {
    require(principal, true)?;
    let mut body = body.clone();
    if let Some(object) = body.as_object_mut() {
        object.insert("sku".into(), sku.into());
    } else {
        return Err(ProductError::Invalid(FieldErrors::from([("body".into(), vec!["must be an object".into()])])));
    }
    let product = model::parse(&body).map_err(ProductError::Invalid)?;
    let workspace = principal.workspace_id;
    let stored = product.clone();
    db.write(move |tx| Box::pin(async move { store::upsert_many(tx, workspace, &[stored], Utc::now()).await })).await?;
    Ok(store::by_sku(db, workspace, &product.sku).await?.ok_or(ProductError::NotFound)?.into())
}
