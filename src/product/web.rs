//! Product pages: `/products` is the catalogue, `/products/{id}` one product with who bought it.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use rapport_core::ProductId;
use serde::Deserialize;

use super::service::{self, Product};
use crate::app::AppState;
use crate::http::{ApiError, Pages};
use crate::identity::Principal;
use crate::web::{Layout, render};

pub fn router() -> Pages {
    Pages::new().route("/products", get(list_page)).route("/products/{id}", get(product_page))
}

#[derive(Deserialize)]
struct ListQuery {
    category: Option<String>,
    after: Option<i64>,
}

#[derive(Template)]
#[template(path = "product/list.html")]
struct ListPage {
    layout: Layout,
    products: Vec<Product>,
    category: String,
    next: Option<i64>,
}

async fn list_page(
    State(state): State<AppState>,
    principal: Principal,
    Query(query): Query<ListQuery>,
) -> Result<Response, ApiError> {
    let category = query.category.filter(|c| !c.trim().is_empty());
    let (products, next) = service::list(&state.db, &principal, category.as_deref(), query.after, 50).await?;
    let page = ListPage {
        layout: Layout::for_caller("Products", &principal),
        products,
        category: category.unwrap_or_default(),
        next,
    };
    Ok(render(StatusCode::OK, &page))
}

#[derive(Template)]
#[template(path = "product/product.html")]
struct ProductPage {
    layout: Layout,
    product: Product,
    buyers: Vec<(i64, String, i64)>,
}

async fn product_page(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<i64>,
) -> Result<Response, ApiError> {
    let (product, buyers) = service::get(&state.db, &principal, ProductId::new(id)).await?;
    let access = crate::access::field_access(&state.db, &principal, "person").await?;
    let ids: Vec<i64> = buyers.iter().map(|b| b.person_id).collect();
    let people = crate::person::readable(&state.db, &principal, &ids).await.unwrap_or_default();
    let buyers = buyers
        .iter()
        .filter_map(|b| {
            let person = people.iter().find(|p| p.id.get() == b.person_id)?;
            Some((b.person_id, crate::person::web::display_name(person, &access), b.items))
        })
        .collect();
    let title = product.name.clone().unwrap_or_else(|| product.sku.clone());
    Ok(render(StatusCode::OK, &ProductPage { layout: Layout::for_caller(title, &principal), product, buyers }))
}
