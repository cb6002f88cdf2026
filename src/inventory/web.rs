//! Inventory pages: `/inventory` lists levels with the low ones marked, filters them (by sku,
//! low only), and holds the forms that set a level and the default threshold; `/inventory/{sku}`
//! shows a sku's levels and latest movements with the same set form. A refused form comes back
//! as the list page with its fields marked and what was typed kept.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::Value;

use super::model::{DEFAULT_LOCATION, SetStockInput, StockLevel};
use super::service::{self, InventoryError, LevelQuery, MODULE, SkuStock};
use crate::app::AppState;
use crate::http::auth::SessionForm;
use crate::http::{ApiError, FieldErrors, Pages};
use crate::identity::Principal;
use crate::web::{Layout, render};

pub fn router() -> Pages {
    Pages::new()
        .route("/inventory", get(list).post(set))
        .route("/inventory/{sku}", get(sku_page))
        .route("/inventory-settings", post(save_settings))
}

const PAGE_SIZE: i64 = 50;

#[derive(Deserialize, Default)]
struct ListParams {
    #[serde(default)]
    sku: String,
    /// A checkbox: present when ticked.
    low: Option<String>,
    after: Option<i64>,
}

/// The set form's fields as typed.
#[derive(Deserialize, Default)]
struct SetForm {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    sku: String,
    #[serde(default)]
    location: String,
    #[serde(default)]
    quantity: String,
    /// Empty keeps the level's own threshold.
    #[serde(default)]
    low_stock_threshold: String,
}

#[derive(Deserialize)]
struct SettingsForm {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    low_stock_threshold: String,
}

crate::http::auth::csrf_protected!(SetForm, SettingsForm);

/// A number typed into a form, as the API would receive it: a number when it reads as one,
/// else the text (refused as not an integer), and nothing when left empty.
fn typed(raw: &str) -> Value {
    let raw = raw.trim();
    if raw.is_empty() { Value::Null } else { raw.parse::<i64>().map_or_else(|_| Value::from(raw), Value::from) }
}

/// One input of the set form, with what was typed and its errors.
struct Input {
    key: &'static str,
    label: &'static str,
    value: String,
    mode: &'static str,
    errors: Vec<String>,
}

impl SetForm {
    fn inputs(&self, errors: &FieldErrors) -> Vec<Input> {
        [
            ("sku", "SKU", &self.sku, "text"),
            ("location", "Location", &self.location, "text"),
            ("quantity", "Quantity", &self.quantity, "numeric"),
            ("low_stock_threshold", "Low at or below", &self.low_stock_threshold, "numeric"),
        ]
        .into_iter()
        .map(|(key, label, value, mode)| Input {
            key,
            label,
            value: value.clone(),
            mode,
            errors: errors.get(key).cloned().unwrap_or_default(),
        })
        .collect()
    }

    fn input(&self) -> SetStockInput {
        let threshold = typed(&self.low_stock_threshold);
        SetStockInput {
            quantity: typed(&self.quantity),
            low_stock_threshold: (!threshold.is_null()).then_some(threshold),
        }
    }
}

#[derive(Template)]
#[template(path = "inventory/list.html")]
struct ListPage {
    layout: Layout,
    csrf_token: String,
    can_write: bool,
    levels: Vec<StockLevel>,
    sku_filter: String,
    low_only: bool,
    next_link: Option<String>,
    form: SetForm,
    errors: FieldErrors,
    default_threshold: i64,
}

async fn list_page(
    state: &AppState,
    principal: &Principal,
    params: &ListParams,
    (form, errors): (SetForm, FieldErrors),
) -> Result<ListPage, ApiError> {
    let low = params.low.is_some();
    let query = LevelQuery { sku: Some(params.sku.clone()), low, after: params.after, limit: PAGE_SIZE };
    let (levels, next) = service::levels(&state.db, principal, &query).await?;
    let next_link = next.map(|after| {
        let mut link = url::form_urlencoded::Serializer::new(String::new());
        link.append_pair("sku", &params.sku);
        if low {
            link.append_pair("low", "on");
        }
        link.append_pair("after", &after.to_string());
        format!("/inventory?{}", link.finish())
    });
    let settings = service::settings(&state.db, principal).await?;
    Ok(ListPage {
        layout: Layout::for_caller("Inventory", principal),
        csrf_token: crate::web::csrf_token(principal),
        can_write: principal.may(MODULE, true),
        levels,
        sku_filter: params.sku.clone(),
        low_only: low,
        next_link,
        form,
        errors,
        default_threshold: settings.low_stock_threshold,
    })
}

fn blank_form() -> SetForm {
    SetForm { location: DEFAULT_LOCATION.to_owned(), ..SetForm::default() }
}

async fn list(
    State(state): State<AppState>,
    principal: Principal,
    Query(params): Query<ListParams>,
) -> Result<Response, ApiError> {
    let page = list_page(&state, &principal, &params, (blank_form(), FieldErrors::new())).await?;
    Ok(render(StatusCode::OK, &page))
}

/// The page of a sku, percent-encoded so that any sku makes one path segment.
fn sku_path(sku: &str) -> String {
    let encoded: String = url::form_urlencoded::byte_serialize(sku.as_bytes()).collect();
    format!("/inventory/{}", encoded.replace('+', "%20"))
}

async fn set(
    State(state): State<AppState>,
    SessionForm(principal, form): SessionForm<SetForm>,
) -> Result<Response, ApiError> {
    match service::set(&state.db, &principal, (&form.sku, &form.location), &form.input()).await {
        Ok(level) => Ok(Redirect::to(&sku_path(&level.sku)).into_response()),
        Err(InventoryError::Invalid(errors)) => {
            let page = list_page(&state, &principal, &ListParams::default(), (form, errors)).await?;
            Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &page))
        }
        Err(other) => Err(other.into()),
    }
}

async fn save_settings(
    State(state): State<AppState>,
    SessionForm(principal, form): SessionForm<SettingsForm>,
) -> Result<Response, ApiError> {
    service::save_settings(&state.db, &principal, &typed(&form.low_stock_threshold)).await?;
    Ok(Redirect::to("/inventory").into_response())
}

#[derive(Template)]
#[template(path = "inventory/sku.html")]
struct SkuPage {
    layout: Layout,
    csrf_token: String,
    can_write: bool,
    stock: SkuStock,
    form: SetForm,
    errors: FieldErrors,
}

async fn sku_page(
    State(state): State<AppState>,
    principal: Principal,
    Path(sku): Path<String>,
) -> Result<Response, ApiError> {
    let stock = service::stock(&state.db, &principal, &sku).await?;
    let location = stock.levels.first().map_or(DEFAULT_LOCATION, |level| level.location.as_str()).to_owned();
    let page = SkuPage {
        layout: Layout::for_caller(stock.sku.clone(), &principal),
        csrf_token: crate::web::csrf_token(&principal),
        can_write: principal.may(MODULE, true),
        form: SetForm { sku: stock.sku.clone(), location, ..SetForm::default() },
        stock,
        errors: FieldErrors::new(),
    };
    Ok(render(StatusCode::OK, &page))
}
