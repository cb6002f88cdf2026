//! Order pages: `/orders` lists them newest first (by status), `/orders/{id}` shows one with
//! its lines, amounts, status history and returns, and a form to move its status on.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use rapport_core::OrderId;
use serde::Deserialize;

use super::model::OrderStatus;
use super::service::{self, Order, OrderDetail, OrderFilter, StatusInput};
use crate::app::AppState;
use crate::http::auth::SessionForm;
use crate::http::{ApiError, Pages};
use crate::identity::Principal;
use crate::web::{Layout, csrf_token, render};

pub fn router() -> Pages {
    Pages::new()
        .route("/orders", get(list_page))
        .route("/orders/{id}", get(order_page))
        .route("/orders/{id}/status", post(change_status))
}

#[derive(Deserialize)]
struct ListQuery {
    status: Option<String>,
    before: Option<i64>,
}

#[derive(Template)]
#[template(path = "order/list.html")]
struct ListPage {
    layout: Layout,
    orders: Vec<Order>,
    statuses: Vec<&'static str>,
    status: String,
    next: Option<i64>,
}

async fn list_page(
    State(state): State<AppState>,
    principal: Principal,
    Query(query): Query<ListQuery>,
) -> Result<Response, ApiError> {
    let status = query.status.as_deref().and_then(OrderStatus::parse);
    let filter = OrderFilter { person: None, status, order_id: None, before: query.before, limit: 50 };
    let (orders, next) = service::list(&state.db, &principal, &filter).await?;
    let page = ListPage {
        layout: Layout::for_caller("Orders", &principal),
        orders,
        statuses: OrderStatus::ALL.iter().map(|s| s.as_str()).collect(),
        status: status.map(|s| s.as_str().to_owned()).unwrap_or_default(),
        next,
    };
    Ok(render(StatusCode::OK, &page))
}

#[derive(Template)]
#[template(path = "order/order.html")]
struct OrderPage {
    layout: Layout,
    csrf_token: String,
    detail: OrderDetail,
    person: Option<(i64, String)>,
    statuses: Vec<&'static str>,
    may_change: bool,
}

async fn order_page(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<i64>,
) -> Result<Response, ApiError> {
    let detail = service::get(&state.db, &principal, OrderId::new(id)).await?;
    let person = match detail.order.person_id {
        Some(id) => {
            let access = crate::access::field_access(&state.db, &principal, "person").await?;
            let people = crate::person::readable(&state.db, &principal, &[id]).await.unwrap_or_default();
            people.first().map(|p| (p.id.get(), crate::person::web::display_name(p, &access)))
        }
        None => None,
    };
    let page = OrderPage {
        layout: Layout::for_caller(format!("Order {}", detail.order.order_id), &principal),
        csrf_token: csrf_token(&principal),
        detail,
        person,
        statuses: OrderStatus::ALL.iter().map(|s| s.as_str()).collect(),
        may_change: principal.may("orders", true),
    };
    Ok(render(StatusCode::OK, &page))
}

#[derive(Deserialize)]
struct StatusForm {
    #[serde(default)]
    csrf_token: String,
    status: String,
    carrier: Option<String>,
    tracking_number: Option<String>,
    note: Option<String>,
}

crate::http::auth::csrf_protected!(StatusForm);

async fn change_status(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    SessionForm(principal, form): SessionForm<StatusForm>,
) -> Result<Response, ApiError> {
    let input = StatusInput {
        status: form.status,
        carrier: form.carrier,
        tracking_number: form.tracking_number,
        note: form.note,
    };
    service::set_status(&state.db, &principal, OrderId::new(id), &input).await?;
    Ok(Redirect::to(&format!("/orders/{id}")).into_response())
}
