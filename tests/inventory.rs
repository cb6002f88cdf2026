//! Inventory, on SQLite or on PostgreSQL when `RAPPORT_TEST_DATABASE_URL` is set: levels set from
//! an external system and adjusted by hand, orders taking stock and cancellations and returns
//! giving it back through `apply`, unstocked skus ignored, the default location, the low-stock
//! event on the crossing only, refusals naming the field, permissions, the pages, and tenant
//! isolation.

#![allow(clippy::unwrap_used)]

mod util;

use axum::http::{Method, StatusCode};
use rapport::inventory::{Movement, MovementReason};
use rapport_core::{Actor, WorkspaceId};
use serde_json::{Value, json};
use util::{TestApp, TestResponse};

struct Workspace {
    created: rapport::workspace::Created,
    owner: String,
}

async fn workspace(app: &TestApp, name: &str) -> Workspace {
    let created = app.with_workspace(name, &format!("owner@{}.example", name.to_lowercase())).await;
    let owner = app.token_for(&created, created.owner_id).await;
    Workspace { created, owner }
}

fn ok(response: TestResponse) -> Value {
    assert_eq!(response.status, StatusCode::OK, "{}", response.text());
    response.json()
}

/// A path segment for any text.
fn segment(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect::<String>().replace('+', "%20")
}

async fn set(app: &TestApp, token: &str, (sku, location): (&str, &str), body: Value) -> TestResponse {
    let path = format!("/api/v1/inventory/{}/{}", segment(sku), segment(location));
    app.call(token, Method::PUT, &path, Some(body)).await
}

async fn adjust(app: &TestApp, token: &str, (sku, location): (&str, &str), body: Value) -> TestResponse {
    let path = format!("/api/v1/inventory/{}/{}/adjust", segment(sku), segment(location));
    app.call(token, Method::POST, &path, Some(body)).await
}

async fn list(app: &TestApp, token: &str, query: &str) -> Value {
    ok(app.call(token, Method::GET, &format!("/api/v1/inventory?{query}"), None).await)
}

async fn stock(app: &TestApp, token: &str, sku: &str) -> Value {
    ok(app.call(token, Method::GET, &format!("/api/v1/inventory/{}", segment(sku)), None).await)
}

/// `(location, quantity)` of each of the sku's levels.
async fn quantities(app: &TestApp, token: &str, sku: &str) -> Vec<(String, i64)> {
    let stock = stock(app, token, sku).await;
    let levels = stock["levels"].as_array().unwrap();
    levels.iter().map(|l| (l["location"].as_str().unwrap().to_owned(), l["quantity"].as_i64().unwrap())).collect()
}

/// Applies movements inside a write, as the orders module does inside its own.
async fn apply(app: &TestApp, workspace: WorkspaceId, movements: Vec<Movement>) {
    app.db()
        .write(move |tx| {
            Box::pin(async move {
                rapport::inventory::apply(tx, workspace, &Actor::System("orders.test".into()), &movements).await
            })
        })
        .await
        .unwrap();
}

fn movement(sku: &str, location: Option<&str>, delta: i64, reason: MovementReason) -> Movement {
    Movement {
        sku: sku.into(),
        location: location.map(str::to_owned),
        delta,
        reason,
        reference: Some("order:1".into()),
    }
}

/// The payloads of the `inventory.low` events recorded, oldest first.
async fn low_events(app: &TestApp) -> Vec<Value> {
    let payloads: Vec<String> = rapport_db::sql!(app.db().exec(), c => sqlx::query_scalar(
        "SELECT CAST(payload AS TEXT) FROM domain_events WHERE kind = 'inventory.low' ORDER BY id"
    ).fetch_all(c).await)
    .unwrap();
    payloads.iter().map(|p| serde_json::from_str(p).unwrap()).collect()
}

#[tokio::test]
async fn setting_a_level_creates_it_records_the_difference_and_the_same_quantity_again_changes_nothing() {
    let app = TestApp::new().await;
    let acme = workspace(&app, "Acme").await;
    let level =
        ok(set(&app, &acme.owner, ("TSHIRT-M", "main"), json!({"quantity": 12, "low_stock_threshold": 3})).await);
    assert_eq!(
        (&level["quantity"], &level["low_stock_threshold"], &level["threshold"]),
        (&json!(12), &json!(3), &json!(3))
    );
    assert_eq!(level["low"], false);

    ok(set(&app, &acme.owner, ("TSHIRT-M", "main"), json!({"quantity": 12})).await);
    assert_eq!(app.count("stock_movements").await, 1, "an unchanged quantity is no movement");
    let level =
        ok(set(&app, &acme.owner, ("TSHIRT-M", "main"), json!({"quantity": 10, "low_stock_threshold": null})).await);
    assert_eq!((&level["low_stock_threshold"], &level["threshold"]), (&Value::Null, &json!(5)), "back to the default");

    let stock = stock(&app, &acme.owner, "TSHIRT-M").await;
    let movements = stock["movements"].as_array().unwrap();
    let seen: Vec<_> =
        movements.iter().map(|m| (m["reason"].clone(), m["delta"].clone(), m["quantity_after"].clone())).collect();
    assert_eq!(seen, [(json!("set"), json!(-2), json!(10)), (json!("set"), json!(12), json!(12))]);
    assert!(movements[0]["actor"].as_str().unwrap().starts_with("token:"), "{stock}");
    assert_eq!(app.count("audit_rows WHERE entity = 'stock'").await, 2);
}

#[tokio::test]
async fn an_adjustment_adds_its_delta_with_reason_and_note_and_an_unstocked_level_is_not_found() {
    let app = TestApp::new().await;
    let acme = workspace(&app, "Acme").await;
    ok(set(&app, &acme.owner, ("MUG", "main"), json!({"quantity": 10})).await);
    let level = ok(adjust(&app, &acme.owner, ("MUG", "main"), json!({"delta": -3, "note": "dropped two boxes"})).await);
    assert_eq!(level["quantity"], 7);
    ok(adjust(&app, &acme.owner, ("MUG", "main"), json!({"delta": 1, "reason": "return"})).await);

    let stock = stock(&app, &acme.owner, "MUG").await;
    assert_eq!(stock["movements"][0]["reason"], "return");
    assert_eq!(
        (&stock["movements"][1]["reason"], &stock["movements"][1]["note"]),
        (&json!("adjust"), &json!("dropped two boxes"))
    );
    assert_eq!(adjust(&app, &acme.owner, ("MUG", "backroom"), json!({"delta": 1})).await.status, StatusCode::NOT_FOUND);
    assert_eq!(app.call(&acme.owner, Method::GET, "/api/v1/inventory/NOPE", None).await.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn an_order_takes_stock_even_below_zero_and_its_cancellation_and_returns_give_it_back() {
    let app = TestApp::new().await;
    let acme = workspace(&app, "Acme").await;
    let ws = acme.created.workspace_id;
    ok(set(&app, &acme.owner, ("MUG", "main"), json!({"quantity": 10})).await);

    apply(
        &app,
        ws,
        vec![movement("MUG", None, -2, MovementReason::Order), movement("MUG", None, -1, MovementReason::Order)],
    )
    .await;
    assert_eq!(quantities(&app, &acme.owner, "MUG").await, [("main".into(), 7)]);
    let taken = stock(&app, &acme.owner, "MUG").await;
    assert_eq!(
        (&taken["movements"][0]["quantity_after"], &taken["movements"][1]["quantity_after"]),
        (&json!(7), &json!(8))
    );
    assert_eq!(
        (&taken["movements"][0]["reference"], &taken["movements"][0]["actor"]),
        (&json!("order:1"), &json!("system:orders.test"))
    );

    apply(
        &app,
        ws,
        vec![
            movement("MUG", None, 2, MovementReason::Cancel),
            movement("MUG", Some("main"), 1, MovementReason::Return),
        ],
    )
    .await;
    assert_eq!(quantities(&app, &acme.owner, "MUG").await, [("main".into(), 10)]);

    apply(&app, ws, vec![movement("MUG", None, -15, MovementReason::Order)]).await;
    let oversold = stock(&app, &acme.owner, "MUG").await;
    assert_eq!(
        (&oversold["levels"][0]["quantity"], &oversold["levels"][0]["low"]),
        (&json!(-5), &json!(true)),
        "oversold is shown"
    );
}

#[tokio::test]
async fn movements_of_a_sku_without_any_level_are_ignored_and_a_new_location_of_a_stocked_sku_gets_a_level() {
    let app = TestApp::new().await;
    let acme = workspace(&app, "Acme").await;
    let ws = acme.created.workspace_id;
    ok(set(&app, &acme.owner, ("MUG", "main"), json!({"quantity": 4})).await);
    apply(
        &app,
        ws,
        vec![
            movement("GIFT-CARD", None, -1, MovementReason::Order),
            movement("GIFT-CARD", Some("main"), -1, MovementReason::Order),
            movement("MUG", Some("shop"), 2, MovementReason::Return),
        ],
    )
    .await;
    assert_eq!(app.count("stock_levels WHERE sku = 'GIFT-CARD'").await, 0);
    assert_eq!(app.count("stock_movements WHERE sku = 'GIFT-CARD'").await, 0);
    assert_eq!(quantities(&app, &acme.owner, "MUG").await, [("main".into(), 4), ("shop".into(), 2)]);
}

#[tokio::test]
async fn a_movement_without_a_location_goes_to_the_default_location_else_to_the_skus_first_level() {
    let app = TestApp::new().await;
    let acme = workspace(&app, "Acme").await;
    let ws = acme.created.workspace_id;
    for (sku, location) in [("CAP", "shop"), ("CAP", "warehouse"), ("HAT", "shop"), ("HAT", "default")] {
        ok(set(&app, &acme.owner, (sku, location), json!({"quantity": 10})).await);
    }
    apply(
        &app,
        ws,
        vec![movement("CAP", None, -1, MovementReason::Order), movement("HAT", None, -1, MovementReason::Order)],
    )
    .await;
    assert_eq!(quantities(&app, &acme.owner, "CAP").await, [("shop".into(), 9), ("warehouse".into(), 10)]);
    assert_eq!(quantities(&app, &acme.owner, "HAT").await, [("default".into(), 9), ("shop".into(), 10)]);
}

#[tokio::test]
async fn the_low_stock_event_is_recorded_when_the_quantity_crosses_its_threshold_and_not_below_it() {
    let app = TestApp::new().await;
    let acme = workspace(&app, "Acme").await;
    let ws = acme.created.workspace_id;
    ok(set(&app, &acme.owner, ("MUG", "main"), json!({"quantity": 7})).await);
    apply(&app, ws, vec![movement("MUG", None, -1, MovementReason::Order)]).await;
    assert!(low_events(&app).await.is_empty(), "6 is above the default of 5");
    apply(&app, ws, vec![movement("MUG", None, -1, MovementReason::Order)]).await;
    apply(&app, ws, vec![movement("MUG", None, -1, MovementReason::Order)]).await;
    let events = low_events(&app).await;
    assert_eq!(
        events,
        [json!({"sku": "MUG", "location": "main", "quantity": 5, "threshold": 5})],
        "once, on the crossing"
    );

    // Restocked, then within one batch: down past it, back up, down again: two crossings.
    ok(set(&app, &acme.owner, ("MUG", "main"), json!({"quantity": 20})).await);
    apply(
        &app,
        ws,
        vec![
            movement("MUG", None, -16, MovementReason::Order),
            movement("MUG", None, 10, MovementReason::Cancel),
            movement("MUG", None, -10, MovementReason::Order),
        ],
    )
    .await;
    assert_eq!(low_events(&app).await.len(), 3);

    // A set that falls to a level's own threshold crosses too; the workspace default moves with its setting.
    let saved =
        app.call(&acme.owner, Method::PUT, "/api/v1/inventory-settings", Some(json!({"low_stock_threshold": 8}))).await;
    assert_eq!(ok(saved)["low_stock_threshold"], 8);
    ok(set(&app, &acme.owner, ("CAP", "main"), json!({"quantity": 9})).await);
    ok(set(&app, &acme.owner, ("CAP", "main"), json!({"quantity": 8})).await);
    ok(set(&app, &acme.owner, ("VASE", "main"), json!({"quantity": 3, "low_stock_threshold": 1})).await);
    ok(set(&app, &acme.owner, ("VASE", "main"), json!({"quantity": 1})).await);
    let events = low_events(&app).await;
    assert_eq!(events[3], json!({"sku": "CAP", "location": "main", "quantity": 8, "threshold": 8}));
    assert_eq!(events[4], json!({"sku": "VASE", "location": "main", "quantity": 1, "threshold": 1}));
    assert_eq!(app.count("domain_events WHERE kind = 'inventory.low' AND entity_type = 'stock'").await, 5);
}

#[tokio::test]
async fn the_list_pages_by_sku_and_filters_by_sku_prefix_and_low_stock() {
    let app = TestApp::new().await;
    let acme = workspace(&app, "Acme").await;
    for (sku, quantity) in [("TS-S", 2), ("TS-M", 40), ("MUG", 1), ("CAP", 30)] {
        ok(set(&app, &acme.owner, (sku, "main"), json!({"quantity": quantity})).await);
    }
    let skus = |page: &Value| {
        page["data"].as_array().unwrap().iter().map(|l| l["sku"].as_str().unwrap().to_owned()).collect::<Vec<_>>()
    };
    let first = list(&app, &acme.owner, "limit=3").await;
    assert_eq!(skus(&first), ["CAP", "MUG", "TS-M"]);
    let second = list(&app, &acme.owner, &format!("limit=3&cursor={}", first["next"])).await;
    assert_eq!((skus(&second), &second["next"]), (vec!["TS-S".to_owned()], &Value::Null));
    assert_eq!(skus(&list(&app, &acme.owner, "sku=TS-").await), ["TS-M", "TS-S"]);
    assert_eq!(skus(&list(&app, &acme.owner, "low=true").await), ["MUG", "TS-S"]);
    assert_eq!(skus(&list(&app, &acme.owner, "low=true&sku=TS").await), ["TS-S"]);
}

#[tokio::test]
async fn bad_input_is_refused_with_422_naming_the_field() {
    let app = TestApp::new().await;
    let acme = workspace(&app, "Acme").await;
    let fields = |response: TestResponse| {
        assert_eq!(response.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", response.text());
        assert_eq!(response.error_code(), "validation_failed");
        response.json()["error"]["fields"].as_object().unwrap().keys().cloned().collect::<Vec<_>>()
    };
    assert_eq!(fields(set(&app, &acme.owner, ("MUG", "main"), json!({"quantity": "7"})).await), ["quantity"]);
    assert_eq!(fields(set(&app, &acme.owner, ("MUG", "main"), json!({"quantity": 1.5})).await), ["quantity"]);
    assert_eq!(fields(set(&app, &acme.owner, ("MUG", "main"), json!({})).await), ["quantity"]);
    let long = "X".repeat(101);
    assert_eq!(fields(set(&app, &acme.owner, (&long, "main"), json!({"quantity": 1})).await), ["sku"]);
    assert_eq!(fields(set(&app, &acme.owner, ("MUG", " "), json!({"quantity": 1})).await), ["location"]);
    let threshold = json!({"quantity": 1, "low_stock_threshold": -1});
    assert_eq!(fields(set(&app, &acme.owner, ("MUG", "main"), threshold).await), ["low_stock_threshold"]);
    ok(set(&app, &acme.owner, ("MUG", "main"), json!({"quantity": 1})).await);
    let refused = adjust(&app, &acme.owner, ("MUG", "main"), json!({"delta": 0, "reason": "set"})).await;
    assert_eq!(fields(refused), ["delta", "reason"]);
    let settings =
        app.call(&acme.owner, Method::PUT, "/api/v1/inventory-settings", Some(json!({"low_stock_threshold": -1})));
    assert_eq!(fields(settings.await), ["low_stock_threshold"]);
    assert_eq!(app.count("stock_movements").await, 1);
}

#[tokio::test]
async fn a_viewer_reads_stock_but_may_not_change_it_and_a_token_without_orders_sees_none() {
    let app = TestApp::new().await;
    let acme = workspace(&app, "Acme").await;
    let ws = acme.created.workspace_id;
    ok(set(&app, &acme.owner, ("MUG", "main"), json!({"quantity": 3})).await);
    let viewer = app.token_for(&acme.created, app.add_member(ws, "viewer@acme.example", "viewer").await).await;

    assert_eq!(ok(app.call(&viewer, Method::GET, "/api/v1/inventory", None).await)["data"][0]["sku"], "MUG");
    ok(app.call(&viewer, Method::GET, "/api/v1/inventory/MUG", None).await);
    let refused = set(&app, &viewer, ("MUG", "main"), json!({"quantity": 1})).await;
    assert_eq!((refused.status, refused.error_code()), (StatusCode::FORBIDDEN, "forbidden".to_owned()));
    assert_eq!(adjust(&app, &viewer, ("MUG", "main"), json!({"delta": 1})).await.status, StatusCode::FORBIDDEN);
    let settings =
        app.call(&viewer, Method::PUT, "/api/v1/inventory-settings", Some(json!({"low_stock_threshold": 1}))).await;
    assert_eq!(settings.status, StatusCode::FORBIDDEN);

    let scopes = vec![rapport::identity::Scope::parse("people:write").unwrap()];
    let people_only = rapport::identity::create_token(app.db(), ws, acme.created.owner_id, "crm", scopes, None).await;
    let people_only = people_only.unwrap().secret.expose().clone();
    assert_eq!(app.call(&people_only, Method::GET, "/api/v1/inventory", None).await.status, StatusCode::FORBIDDEN);
    assert_eq!(quantities(&app, &acme.owner, "MUG").await, [("main".into(), 3)]);
}

#[tokio::test]
async fn a_workspace_sees_and_moves_only_its_own_stock() {
    let app = TestApp::new().await;
    let acme = workspace(&app, "Acme").await;
    let globex = workspace(&app, "Globex").await;
    ok(set(&app, &acme.owner, ("MUG", "main"), json!({"quantity": 3})).await);

    assert_eq!(app.call(&globex.owner, Method::GET, "/api/v1/inventory/MUG", None).await.status, StatusCode::NOT_FOUND);
    assert!(
        ok(app.call(&globex.owner, Method::GET, "/api/v1/inventory", None).await)["data"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    let adjusted = adjust(&app, &globex.owner, ("MUG", "main"), json!({"delta": -1})).await;
    assert_eq!(adjusted.status, StatusCode::NOT_FOUND);
    apply(&app, globex.created.workspace_id, vec![movement("MUG", None, -1, MovementReason::Order)]).await;
    ok(set(&app, &globex.owner, ("MUG", "main"), json!({"quantity": 50})).await);

    assert_eq!(quantities(&app, &acme.owner, "MUG").await, [("main".into(), 3)]);
    assert_eq!(stock(&app, &acme.owner, "MUG").await["movements"].as_array().unwrap().len(), 1);
    assert_eq!(quantities(&app, &globex.owner, "MUG").await, [("main".into(), 50)]);
}

#[tokio::test]
async fn the_pages_list_levels_mark_low_ones_and_set_a_level_from_the_form() {
    let app = TestApp::new().await;
    let acme = workspace(&app, "Acme").await;
    ok(set(&app, &acme.owner, ("MUG", "main"), json!({"quantity": 2})).await);
    ok(set(&app, &acme.owner, ("CAP / blue", "main"), json!({"quantity": 30})).await);
    let (cookie, csrf) = app.sign_in("owner@acme.example").await;

    let page = app.get_as(&cookie, "/inventory").await;
    assert_eq!(page.status, StatusCode::OK);
    let html = page.text();
    assert!(html.contains("href=\"/inventory\">Inventory</a>"), "the navigation links the page");
    assert!(html.contains("href=\"/inventory/CAP%20%2F%20blue\""), "any sku makes one path segment");
    assert_eq!(html.matches("class=\"badge low\"").count(), 1, "only the low level is marked");
    let low = app.get_as(&cookie, "/inventory?low=on").await.text();
    assert!(low.contains("MUG") && !low.contains("CAP / blue"));

    let fields = [
        ("csrf_token", csrf.as_str()),
        ("sku", "CAP / blue"),
        ("location", "main"),
        ("quantity", "4"),
        ("low_stock_threshold", ""),
    ];
    let posted = app.post_form_as(&cookie, "/inventory", &fields).await;
    assert_eq!((posted.status, posted.header("location")), (StatusCode::SEE_OTHER, "/inventory/CAP%20%2F%20blue"));
    let sku_page = app.get_as(&cookie, "/inventory/CAP%20%2F%20blue").await;
    assert_eq!(sku_page.status, StatusCode::OK);
    assert!(
        sku_page.text().contains("class=\"badge low\"") && sku_page.text().contains("<td>-26</td>"),
        "{}",
        sku_page.text()
    );

    let bad = [("csrf_token", csrf.as_str()), ("sku", "MUG"), ("location", "main"), ("quantity", "many")];
    let refused = app.post_form_as(&cookie, "/inventory", &bad).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.text().contains("must be an integer") && refused.text().contains("value=\"many\""));

    let saved = app
        .post_form_as(&cookie, "/inventory-settings", &[("csrf_token", csrf.as_str()), ("low_stock_threshold", "1")])
        .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER);
    let settings = ok(app.call(&acme.owner, Method::GET, "/api/v1/inventory-settings", None).await);
    assert_eq!(settings["low_stock_threshold"], 1);
}
