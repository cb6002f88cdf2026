//! Cart pages: `/carts` lists carts with items by state (abandoned, open, at checkout, ordered)
//! and holds the form of the workspace's abandonment time; `/carts/{id}` shows one cart's lines.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use rapport_core::CartId;
use serde::Deserialize;

use super::model::Cart;
use super::service::{self, CartError, CartFilter, MODULE};
use crate::app::AppState;
use crate::http::auth::SessionForm;
use crate::http::{ApiError, FieldErrors, Pages};
use crate::identity::Principal;
use crate::web::{Layout, render};

pub fn router() -> Pages {
    Pages::new()
        .route("/carts", get(list))
        .route("/carts/{id}", get(cart_page))
        .route("/cart-settings", post(save_settings))
}

const PAGE_SIZE: i64 = 50;

/// The states the list filters on, with their labels.
const STATES: [(&str, &str); 5] =
    [("", "All"), ("abandoned", "Abandoned"), ("open", "Open"), ("checkout", "At checkout"), ("ordered", "Ordered")];

#[derive(Deserialize, Default)]
struct ListParams {
    #[serde(default)]
    status: String,
    cursor: Option<String>,
}

#[derive(Deserialize)]
struct SettingsForm {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    abandon_after_minutes: String,
}

crate::http::auth::csrf_protected!(SettingsForm);

/// A cart with whose it is, as the caller may see it.
struct Row {
    cart: Cart,
    owner: Owner,
}

enum Owner {
    Anonymous,
    Named(i64, String),
    /// A person the caller's role may not open.
    Hidden,
}

/// The carts with their people's names, for the people the caller may read.
async fn rows(state: &AppState, principal: &Principal, carts: Vec<Cart>) -> Result<Vec<Row>, ApiError> {
    let ids: Vec<i64> = carts.iter().filter_map(|c| c.person_id.map(rapport_core::PersonId::get)).collect();
    let (people, access) = if ids.is_empty() || !principal.may("people", false) {
        (Vec::new(), None)
    } else {
        let access = crate::access::field_access(&state.db, principal, "person").await?;
        (crate::person::readable(&state.db, principal, &ids).await?, Some(access))
    };
    Ok(carts
        .into_iter()
        .map(|cart| {
            let owner = match cart.person_id {
                None => Owner::Anonymous,
                Some(id) => match (people.iter().find(|p| p.id == id), &access) {
                    (Some(person), Some(access)) => {
                        Owner::Named(id.get(), crate::person::web::display_name(person, access))
                    }
                    _ => Owner::Hidden,
                },
            };
            Row { cart, owner }
        })
        .collect())
}

#[derive(Template)]
#[template(path = "cart/list.html")]
struct ListPage {
    layout: Layout,
    csrf_token: String,
    can_write: bool,
    carts: Vec<Row>,
    states: Vec<(&'static str, &'static str)>,
    status: String,
    next_link: Option<String>,
    abandon_after: String,
    errors: FieldErrors,
}

async fn list_page(
    state: &AppState,
    principal: &Principal,
    params: &ListParams,
    (abandon_after, errors): (Option<String>, FieldErrors),
) -> Result<ListPage, ApiError> {
    let before = params.cursor.as_deref().and_then(crate::profile::parse_time_cursor);
    let status = params.status.trim().to_owned();
    let filter =
        CartFilter { person: None, state: Some(status.clone()).filter(|s| !s.is_empty()), before, limit: PAGE_SIZE };
    let (carts, next) = service::list(&state.db, principal, &filter).await?;
    let next_link = next.map(|cursor| {
        let mut link = url::form_urlencoded::Serializer::new(String::new());
        link.append_pair("status", &status).append_pair("cursor", &crate::profile::time_cursor(cursor));
        format!("/carts?{}", link.finish())
    });
    let abandon_after = match abandon_after {
        Some(typed) => typed,
        None => service::settings(&state.db, principal).await?.abandon_after_minutes.to_string(),
    };
    Ok(ListPage {
        layout: Layout::for_caller("Carts", principal),
        csrf_token: crate::web::csrf_token(principal),
        can_write: principal.may(MODULE, true),
        carts: rows(state, principal, carts).await?,
        states: STATES.to_vec(),
        status,
        next_link,
        abandon_after,
        errors,
    })
}

async fn list(
    State(state): State<AppState>,
    principal: Principal,
    Query(params): Query<ListParams>,
) -> Result<Response, ApiError> {
    let page = list_page(&state, &principal, &params, (None, FieldErrors::new())).await?;
    Ok(render(StatusCode::OK, &page))
}

async fn save_settings(
    State(state): State<AppState>,
    SessionForm(principal, form): SessionForm<SettingsForm>,
) -> Result<Response, ApiError> {
    let typed = serde_json::Value::from(form.abandon_after_minutes.trim());
    match service::save_settings(&state.db, &principal, &typed).await {
        Ok(_) => Ok(Redirect::to("/carts").into_response()),
        Err(CartError::Invalid(errors)) => {
            let kept = (Some(form.abandon_after_minutes), errors);
            let page = list_page(&state, &principal, &ListParams::default(), kept).await?;
            Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &page))
        }
        Err(other) => Err(other.into()),
    }
}

#[derive(Template)]
#[template(path = "cart/cart.html")]
struct CartPage {
    layout: Layout,
    row: Row,
}

async fn cart_page(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<CartId>,
) -> Result<Response, ApiError> {
    let cart = service::get(&state.db, &principal, id).await?;
    let row = rows(&state, &principal, vec![cart]).await?.remove(0);
    let page = CartPage { layout: Layout::for_caller(format!("Cart {id}"), &principal), row };
    Ok(render(StatusCode::OK, &page))
}
