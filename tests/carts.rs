//! Carts from tracked events: a visitor's adds and removes keep their cart current, an identify
//! gives the cart (and any order the visitor placed) to the person, a checkout and an order
//! close it and the next add starts afresh; a cart with items that sees no checkout within the
//! workspace's time is marked abandoned once, with a `cart.abandoned` event and a timeline
//! entry, and coming back clears the mark; a cart at checkout is never abandoned; `Order
//! Updated` moves stock by the lines it changes.

#![allow(clippy::unwrap_used)]

mod util;

use axum::http::{Method, StatusCode};
use chrono::{Duration, Utc};
use rapport_core::WorkspaceId;
use serde_json::{Value, json};
use util::TestApp;

struct Shop {
    app: TestApp,
    workspace: WorkspaceId,
    write_key: String,
    token: String,
    created: rapport::workspace::Created,
}

async fn shop() -> Shop {
    let app = TestApp::new().await;
    let created = app.with_workspace("Shop", "owner@example.com").await;
    let source = rapport::tracking::create_source(
        app.db(),
        (created.workspace_id, &rapport_core::Actor::System("test".into())),
        "website",
    )
    .await
    .unwrap();
    let token = app.token_for(&created, created.owner_id).await;
    Shop { workspace: created.workspace_id, write_key: source.write_key.expose().clone(), token, app, created }
}

impl Shop {
    async fn send(&self, calls: Value) {
        self.app.track(&self.write_key, calls).await;
        rapport::tracking::resolve_pending(self.app.db(), self.workspace).await.unwrap();
    }

    async fn get(&self, path: &str) -> Value {
        let response = self.app.call(&self.token, Method::GET, path, None).await;
        assert_eq!(response.status, StatusCode::OK, "{path}: {}", response.text());
        response.json()
    }

    async fn carts(&self, query: &str) -> Vec<Value> {
        self.get(&format!("/api/v1/carts?{query}")).await["data"].as_array().unwrap().clone()
    }

    async fn abandoned_events(&self) -> Vec<Value> {
        let rows: Vec<String> = rapport_db::sql!(self.app.db().exec(), c => sqlx::query_scalar(
            "SELECT CAST(payload AS TEXT) FROM domain_events WHERE kind = 'cart.abandoned' ORDER BY id"
        ).fetch_all(c).await)
        .unwrap();
        rows.iter().map(|r| serde_json::from_str(r).unwrap()).collect()
    }
}

fn track(id: &str, who: Value, event: &str, at: chrono::DateTime<Utc>, properties: Value) -> Value {
    let mut call = json!({ "type": "track", "messageId": id, "event": event, "properties": properties,
        "timestamp": at.to_rfc3339(), "sentAt": Utc::now().to_rfc3339() });
    call.as_object_mut().unwrap().extend(who.as_object().unwrap().clone());
    call
}

fn shoe(quantity: i64) -> Value {
    json!({"sku": "TR-X", "name": "Trail Runner X", "price": 42, "quantity": quantity, "currency": "EUR"})
}

#[tokio::test]
async fn a_visitors_cart_follows_their_events_goes_to_them_on_identify_and_closes_with_the_order() {
    let shop = shop().await;
    let anon = json!({"anonymousId": "anon-7"});
    let now = Utc::now();
    shop.send(json!([
        track("m1", anon.clone(), "Product Added", now, shoe(2)),
        track("m2", anon.clone(), "Product Added", now, json!({"sku": "SOCK", "price": 5, "currency": "EUR"})),
        track("m3", anon.clone(), "Product Removed", now, json!({"sku": "TR-X", "quantity": 1})),
        track(
            "m4",
            anon.clone(),
            "Order Completed",
            now - Duration::days(30),
            json!({"order_id": "OLD-1", "currency": "EUR", "products": [{"sku": "CAP", "price": 10}]})
        ),
    ]))
    .await;
    let carts = shop.carts("").await;
    assert_eq!(carts.len(), 1, "{carts:?}");
    let cart = &carts[0];
    assert_eq!((cart["items"].as_i64(), cart["value_minor"].as_i64()), (Some(2), Some(4700)), "{cart}");
    assert_eq!((cart["status"].as_str(), cart["person_id"].as_i64()), (Some("ordered"), None), "{cart}");
    // The visitor's old order closed the cart it found; the visitor fills it again.
    shop.send(json!([track("m5", anon.clone(), "Product Added", now, shoe(1))])).await;
    let cart = &shop.carts("status=open").await[0];
    assert_eq!((cart["items"].as_i64(), cart["order_id"].as_str()), (Some(1), None), "a new round: {cart}");

    shop.send(json!([{"type": "identify", "messageId": "m6", "anonymousId": "anon-7", "userId": "u-7",
        "traits": {"email": "ines@example.com", "firstName": "Inès"}}]))
        .await;
    let people = shop.get("/api/v1/people").await;
    let person = people["data"][0]["id"].as_i64().unwrap();
    let theirs = shop.carts(&format!("person_id={person}")).await;
    assert_eq!(theirs.len(), 1, "the visitor's cart is the person's now: {theirs:?}");
    let orders = shop.get(&format!("/api/v1/orders?person_id={person}")).await;
    assert_eq!(orders["orders"][0]["order_id"], "OLD-1", "so is the order they placed before identifying: {orders}");
    let activity = shop.get(&format!("/api/v1/people/{person}/activity")).await;
    assert_eq!(activity["spend"][0]["total"], 1000, "{activity}");
    let timeline = shop.app.call(&shop.token, Method::GET, &format!("/api/v1/people/{person}/timeline"), None).await;
    assert!(timeline.text().contains("Ordered 1 item, 10.00 EUR"), "{}", timeline.text());
    let page = shop.app.call(&shop.token, Method::GET, &format!("/people/{person}"), None).await.text();
    assert!(page.contains("In the cart") && page.contains("Trail Runner X × 1"), "{page}");

    let user = json!({"userId": "u-7", "anonymousId": "anon-7"});
    shop.send(json!([track("m7", user.clone(), "Checkout Started", now, json!({"order_id": "W-1"}))])).await;
    assert_eq!(shop.carts(&format!("person_id={person}")).await[0]["status"], "checkout");
    shop.send(json!([track(
        "m8",
        user.clone(),
        "Order Completed",
        now,
        json!({"order_id": "W-1", "currency": "EUR", "products": [shoe(1)]})
    )]))
    .await;
    let cart = &shop.carts(&format!("person_id={person}")).await[0];
    assert_eq!((cart["status"].as_str(), cart["order_id"].as_str()), (Some("ordered"), Some("W-1")), "{cart}");
    let id = cart["id"].as_i64().unwrap();
    let page = shop.app.call(&shop.token, Method::GET, &format!("/carts/{id}"), None).await.text();
    assert!(page.contains("Trail Runner X") && page.contains("W-1"), "{page}");
}

#[tokio::test]
async fn a_cart_left_without_checkout_is_abandoned_once_and_coming_back_clears_it() {
    let shop = shop().await;
    let saved = shop
        .app
        .call(&shop.token, Method::PUT, "/api/v1/cart-settings", Some(json!({"abandon_after_minutes": 30})))
        .await;
    assert_eq!(saved.status, StatusCode::OK, "{}", saved.text());
    let refused = shop
        .app
        .call(&shop.token, Method::PUT, "/api/v1/cart-settings", Some(json!({"abandon_after_minutes": 0})))
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.text().contains("abandon_after_minutes"), "{}", refused.text());
    assert_eq!(shop.get("/api/v1/cart-settings").await["abandon_after_minutes"], 30);

    let now = Utc::now();
    let ada = json!({"userId": "u-1"});
    let early = now - Duration::minutes(45);
    shop.send(json!([
        {"type": "identify", "messageId": "i1", "userId": "u-1", "traits": {"email": "ada@example.com"}},
        track("a1", ada.clone(), "Product Added", early, shoe(2)),
        // Someone else went on to check out: a cart at checkout is never abandoned.
        track("b1", json!({"anonymousId": "b"}), "Product Added", early, shoe(1)),
        track("b2", json!({"anonymousId": "b"}), "Checkout Started", early, json!({})),
        // And a third visitor's cart is still fresh.
        track("c1", json!({"anonymousId": "c"}), "Product Added", now - Duration::minutes(5), shoe(1)),
    ]))
    .await;

    assert_eq!(rapport::cart::sweep(shop.app.db(), now).await.unwrap(), 1);
    assert_eq!(rapport::cart::sweep(shop.app.db(), now).await.unwrap(), 0, "a cart is marked once");
    let events = shop.abandoned_events().await;
    assert_eq!(events.len(), 1);
    assert_eq!((events[0]["items"].as_i64(), events[0]["value_minor"].as_i64()), (Some(2), Some(8400)));
    assert_eq!(events[0]["skus"], json!([{"sku": "TR-X", "quantity": 2}]));
    let person = events[0]["person_id"].as_i64().unwrap();
    let timeline = shop.app.call(&shop.token, Method::GET, &format!("/api/v1/people/{person}/timeline"), None).await;
    assert!(timeline.text().contains("Left 2 items in the cart, 84.00 EUR"), "{}", timeline.text());
    assert_eq!(shop.carts("status=abandoned").await.len(), 1);
    let list = shop.app.call(&shop.token, Method::GET, "/carts?status=abandoned", None).await.text();
    assert!(list.contains("2 items, 84.00 EUR"), "{list}");

    // Coming back clears the mark; leaving again abandons the cart again, later.
    shop.send(json!([track("a2", ada.clone(), "Product Added", now, shoe(1))])).await;
    assert!(shop.carts("status=abandoned").await.is_empty());
    assert_eq!(rapport::cart::sweep(shop.app.db(), now).await.unwrap(), 0);
    let later = now + Duration::minutes(31);
    assert_eq!(rapport::cart::sweep(shop.app.db(), later).await.unwrap(), 2, "Ada's again, and the third visitor's");
    // The order after all recovers the cart.
    shop.send(json!([track(
        "a3",
        ada.clone(),
        "Order Completed",
        later,
        json!({"order_id": "W-9", "currency": "EUR", "products": [shoe(3)]})
    )]))
    .await;
    assert_eq!(shop.app.count("domain_events WHERE kind = 'cart.recovered'").await, 1);

    // The sweep is the worker's recurring job.
    shop.send(json!([track("d1", json!({"anonymousId": "d"}), "Product Added", early, shoe(1))])).await;
    let job = rapport_jobs::NewJob::new(rapport::cart::SWEEP_JOB, Value::Null).queue("maintenance");
    shop.app.db().write(|tx| Box::pin(async move { rapport_jobs::enqueue(tx, &job).await.map(drop) })).await.unwrap();
    shop.app.run_pending_jobs().await;
    assert_eq!(shop.abandoned_events().await.len(), 4);
}

#[tokio::test]
async fn carts_are_read_with_the_orders_permission_and_bad_filters_are_named() {
    let shop = shop().await;
    let bad = shop.app.call(&shop.token, Method::GET, "/api/v1/carts?status=lost", None).await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    let bad = shop.app.call(&shop.token, Method::GET, "/api/v1/carts?cursor=nope", None).await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    let missing = shop.app.call(&shop.token, Method::GET, "/api/v1/carts/999999", None).await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    let viewer = shop.app.add_member(shop.workspace, "viewer@example.com", "viewer").await;
    let viewer = shop.app.token_for(&shop.created, viewer).await;
    let read = shop.app.call(&viewer, Method::GET, "/api/v1/carts", None).await;
    assert_eq!(read.status, StatusCode::OK, "{}", read.text());
    let change =
        shop.app.call(&viewer, Method::PUT, "/api/v1/cart-settings", Some(json!({"abandon_after_minutes": 5}))).await;
    assert_eq!(change.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn an_updated_order_moves_stock_by_the_lines_it_changes() {
    let shop = shop().await;
    let set =
        shop.app.call(&shop.token, Method::PUT, "/api/v1/inventory/TR-X/default", Some(json!({"quantity": 10}))).await;
    assert_eq!(set.status, StatusCode::OK, "{}", set.text());
    let stock = async || shop.get("/api/v1/inventory/TR-X").await["levels"][0]["quantity"].as_i64().unwrap();
    let who = json!({"userId": "u-1"});
    let now = Utc::now();
    let order = |id: &str, quantity: i64| {
        let lines = if quantity > 0 { json!([shoe(quantity)]) } else { json!([{"sku": "SOCK", "price": 1}]) };
        track(id, who.clone(), "Order Updated", now, json!({"order_id": "W-5", "currency": "EUR", "products": lines}))
    };
    shop.send(json!([order("o1", 2)])).await;
    assert_eq!(stock().await, 8);
    shop.send(json!([order("o2", 5)])).await;
    assert_eq!(stock().await, 5, "three more taken");
    shop.send(json!([order("o3", 0)])).await;
    assert_eq!(stock().await, 10, "the shoes left the order, so they are back");
}
