//! Orders pushed through the REST API: created for a person named by id, email or external id
//! (or for nobody), refused by field when wrong, a duplicate order id is a conflict; status
//! changes keep a history with carrier and tracking number; returns refund and mark items;
//! a role that only reads may not change orders; products are pushed by sku.

#![allow(clippy::unwrap_used)]

mod util;

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};
use util::TestApp;

async fn owner() -> (TestApp, rapport::workspace::Created, String) {
    let app = TestApp::new().await;
    let created = app.with_workspace("Shop", "owner@example.com").await;
    let token = app.token_for(&created, created.owner_id).await;
    (app, created, token)
}

fn body() -> Value {
    json!({
        "order_id": "W-100", "email": "pat@example.com", "currency": "USD", "shipping": "4.99", "tax": 3, "discount": "5",
        "coupon": "WELCOME5",
        "products": [
            {"sku": "MUG", "name": "Mug", "category": "kitchen", "price": "12.50", "quantity": 2},
            {"sku": "TEE", "name": "T-shirt", "category": "clothing", "price": 20},
            {"sku": "TEE", "name": "T-shirt", "category": "clothing", "price": 0}
        ]
    })
}

#[tokio::test]
async fn an_order_is_recorded_for_the_person_named_and_moves_through_its_statuses() {
    let (app, _, token) = owner().await;
    let person = app
        .call(&token, Method::POST, "/api/v1/people", Some(json!({"first_name": "Pat", "email": "pat@example.com"})))
        .await;
    let person = person.json()["id"].as_i64().unwrap();

    let created = app.call(&token, Method::POST, "/api/v1/orders", Some(body())).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text());
    let order = created.json();
    assert_eq!(order["person_id"].as_i64(), Some(person));
    assert_eq!((order["subtotal"].as_i64(), order["total"].as_i64()), (Some(4500), Some(4799)));
    assert_eq!(order["origin"], "api");
    assert_eq!(order["history"][0]["status"], "placed");
    let id = order["id"].as_i64().unwrap();

    let again = app.call(&token, Method::POST, "/api/v1/orders", Some(body())).await;
    assert_eq!((again.status, again.error_code()), (StatusCode::CONFLICT, "order_exists".to_owned()));

    let shipped = app
        .call(
            &token,
            Method::POST,
            &format!("/api/v1/orders/{id}/status"),
            Some(json!({"status": "shipped", "carrier": "UPS", "tracking_number": "1Z999"})),
        )
        .await;
    assert_eq!(shipped.status, StatusCode::OK, "{}", shipped.text());
    let shipped = shipped.json();
    assert_eq!((shipped["status"].as_str(), shipped["tracking_number"].as_str()), (Some("shipped"), Some("1Z999")));
    assert_eq!(shipped["history"].as_array().unwrap().len(), 2);
    let bad = app
        .call(&token, Method::POST, &format!("/api/v1/orders/{id}/status"), Some(json!({"status": "teleported"})))
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);

    let returned = app
        .call(
            &token,
            Method::POST,
            &format!("/api/v1/orders/{id}/returns"),
            Some(json!({"items": [{"sku": "MUG", "quantity": 1}], "reason": "chipped"})),
        )
        .await;
    assert_eq!(returned.status, StatusCode::CREATED, "{}", returned.text());
    let returned = returned.json();
    assert_eq!((returned["refunded"].as_i64(), returned["items"][0]["returned"].as_i64()), (Some(1250), Some(1)));
    assert_eq!(returned["returns"][0]["reason"], "chipped");
    let too_many = app
        .call(
            &token,
            Method::POST,
            &format!("/api/v1/orders/{id}/returns"),
            Some(json!({"items": [{"sku": "MUG", "quantity": 2}]})),
        )
        .await;
    assert_eq!(too_many.status, StatusCode::UNPROCESSABLE_ENTITY, "only one mug is left to return");
    assert!(too_many.text().contains("items[0]"), "{}", too_many.text());

    let activity = app.call(&token, Method::GET, &format!("/api/v1/people/{person}/activity"), None).await.json();
    assert_eq!(activity["spend"][0]["total"], 4799 - 1250);
    let timeline = app.call(&token, Method::GET, &format!("/api/v1/people/{person}/timeline"), None).await.text();
    assert!(
        timeline.contains("Ordered 4 items, 47.99 USD") && timeline.contains("Order W-100 shipped (UPS 1Z999)"),
        "{timeline}"
    );
    let page = app.call(&token, Method::GET, &format!("/orders/{id}"), None).await.text();
    assert!(page.contains("UPS 1Z999") && page.contains("WELCOME5"), "{page}");
    let list = app.call(&token, Method::GET, "/orders?status=shipped", None).await.text();
    assert!(list.contains("Order W-100"), "{list}");
}

async fn mugs_in_stock(app: &TestApp, token: &str) -> i64 {
    let stock = app.call(token, Method::GET, "/api/v1/inventory/MUG", None).await.json();
    stock["levels"][0]["quantity"].as_i64().unwrap()
}

#[tokio::test]
async fn orders_take_stock_and_returns_and_cancellations_put_it_back() {
    let (app, _, token) = owner().await;
    let set = app.call(&token, Method::PUT, "/api/v1/inventory/MUG/default", Some(json!({"quantity": 10}))).await;
    assert_eq!(set.status, StatusCode::OK, "{}", set.text());
    let mut order = body();
    order.as_object_mut().unwrap().remove("email");
    let id = app.call(&token, Method::POST, "/api/v1/orders", Some(order)).await.json()["id"].as_i64().unwrap();
    assert_eq!(mugs_in_stock(&app, &token).await, 8, "two mugs sold; the unstocked T-shirt is no one's concern");
    app.call(
        &token,
        Method::POST,
        &format!("/api/v1/orders/{id}/returns"),
        Some(json!({"items": [{"sku": "MUG", "quantity": 1}]})),
    )
    .await;
    assert_eq!(mugs_in_stock(&app, &token).await, 9);
    app.call(&token, Method::POST, &format!("/api/v1/orders/{id}/status"), Some(json!({"status": "cancelled"}))).await;
    assert_eq!(mugs_in_stock(&app, &token).await, 10, "the mug not returned comes back with the cancellation");
    let movements = app.call(&token, Method::GET, "/api/v1/inventory/MUG", None).await.text();
    assert!(movements.contains(&format!("order:{id}")), "{movements}");
}

#[tokio::test]
async fn bad_orders_are_refused_by_field_and_nothing_is_stored() {
    let (app, _, token) = owner().await;
    let refused = app
        .call(
            &token,
            Method::POST,
            "/api/v1/orders",
            Some(json!({"currency": "EURO", "products": [{"name": "no sku", "quantity": -1}], "total": "lots"})),
        )
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    let fields = refused.json()["error"]["fields"].clone();
    for field in ["order_id", "currency"] {
        assert!(fields.get(field).is_some(), "{field} is named: {fields}");
    }
    let unknown = app
        .call(&token, Method::POST, "/api/v1/orders", Some(json!({"order_id": "X", "email": "ghost@example.com"})))
        .await;
    assert_eq!(unknown.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(app.count("orders").await, 0);
    let guest = app.call(&token, Method::POST, "/api/v1/orders", Some(json!({"order_id": "G-1", "total": 10}))).await;
    assert_eq!(guest.status, StatusCode::CREATED, "a guest checkout has nobody: {}", guest.text());
    assert_eq!(guest.json()["person_id"], Value::Null);
}

#[tokio::test]
async fn a_viewer_reads_orders_but_may_not_change_them_and_products_are_pushed_by_sku() {
    let (app, created, token) = owner().await;
    let put = app
        .call(&token, Method::PUT, "/api/v1/products/by-sku/TR-X",
            Some(json!({"name": "Trail Runner X", "category": "running_shoes", "price": "84.00", "currency": "EUR", "image_url": "https://cdn.example/tr.png"})))
        .await;
    assert_eq!(put.status, StatusCode::OK, "{}", put.text());
    assert_eq!((put.json()["price"].as_i64(), put.json()["currency"].as_str()), (Some(8400), Some("EUR")));
    let renamed =
        app.call(&token, Method::PUT, "/api/v1/products/by-sku/TR-X", Some(json!({"name": "Trail Runner X2"}))).await;
    assert_eq!(
        (renamed.json()["name"].as_str(), renamed.json()["price"].as_i64()),
        (Some("Trail Runner X2"), Some(8400)),
        "fields left out stay"
    );
    let bad = app.call(&token, Method::PUT, "/api/v1/products/by-sku/TR-X", Some(json!({"price": "cheap"}))).await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    app.call(&token, Method::POST, "/api/v1/orders", Some(json!({"order_id": "V-1", "total": 1}))).await;

    let viewer = app.add_member(created.workspace_id, "viewer@example.com", "viewer").await;
    let viewer = app.token_for(&created, viewer).await;
    assert_eq!(app.call(&viewer, Method::GET, "/api/v1/orders", None).await.status, StatusCode::OK);
    let refused = app.call(&viewer, Method::POST, "/api/v1/orders", Some(json!({"order_id": "V-2", "total": 1}))).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    let refused = app.call(&viewer, Method::PUT, "/api/v1/products/by-sku/TR-X", Some(json!({"name": "Mine"}))).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    let products = app.call(&viewer, Method::GET, "/products", None).await.text();
    assert!(products.contains("Trail Runner X2") && products.contains("84.00 EUR"), "{products}");
}
