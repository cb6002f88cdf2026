//! Identity resolution and commerce from tracked events: an identify creates or finds the
//! person (by user id, external id, email) and attaches the visitor's earlier events; alias
//! links ids; group links the person to a company it creates; e-commerce events keep orders,
//! products and the per-person aggregates current; a merge takes ids, events and orders along
//! and its undo brings them back; a replayed batch counts nothing twice.

#![allow(clippy::unwrap_used)]

mod util;

use axum::http::{Method, StatusCode};
use rapport_core::WorkspaceId;
use serde_json::{Value, json};
use util::{TestApp, TestResponse};

struct Shop {
    app: TestApp,
    workspace: WorkspaceId,
    write_key: String,
    token: String,
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
    Shop { workspace: created.workspace_id, write_key: source.write_key.expose().clone(), token, app }
}

impl Shop {
    async fn send(&self, batch: Value) {
        self.app.track(&self.write_key, batch).await;
    }

    async fn resolve(&self) -> u64 {
        rapport::tracking::resolve_pending(self.app.db(), self.workspace).await.unwrap()
    }

    async fn get(&self, path: &str) -> Value {
        let response = self.api(Method::GET, path, None).await;
        assert_eq!(response.status, StatusCode::OK, "{path}: {}", response.text());
        response.json()
    }

    async fn api(&self, method: Method, path: &str, body: Option<Value>) -> TestResponse {
        self.app.call(&self.token, method, path, body).await
    }

    async fn people(&self) -> Vec<Value> {
        self.get("/api/v1/people?limit=100").await["data"].as_array().unwrap().clone()
    }

    async fn person_by_email(&self, email: &str) -> Value {
        let people = self.people().await;
        people
            .into_iter()
            .find(|p| p["email"].as_str().is_some_and(|e| e.eq_ignore_ascii_case(email)))
            .unwrap_or_else(|| panic!("nobody has {email}"))
    }
}

fn call(kind: &str, id: &str, extra: Value) -> Value {
    let mut call = json!({ "type": kind, "messageId": id, "timestamp": "2026-11-20T10:00:00Z" });
    call.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
    call
}

#[tokio::test]
async fn an_identify_creates_the_person_and_attaches_the_visitors_earlier_events() {
    let shop = shop().await;
    shop.send(json!([
        call("page", "m1", json!({"anonymousId": "anon-1", "name": "Home", "properties": {"path": "/"}})),
        call("track", "m2", json!({"anonymousId": "anon-1", "event": "Product Viewed",
            "properties": {"product_id": "p-1", "sku": "TR-X", "name": "Trail Runner X", "category": "running_shoes", "price": 84}})),
    ]))
    .await;
    assert_eq!(shop.resolve().await, 2);
    assert!(shop.people().await.is_empty(), "an anonymous visitor is nobody yet");

    shop.send(json!([call(
        "identify",
        "m3",
        json!({"anonymousId": "anon-1", "userId": "u-1",
        "traits": {"email": "Ada@Example.com", "firstName": "Ada", "lastName": "Lovelace", "plan": "pro"}})
    )]))
    .await;
    shop.send(json!([call("track", "m4", json!({"userId": "u-1", "event": "Signed Up"}))])).await;
    assert_eq!(shop.resolve().await, 2);

    let ada = shop.person_by_email("ada@example.com").await;
    assert_eq!((ada["first_name"].as_str(), ada["external_id"].as_str()), (Some("Ada"), Some("u-1")));
    let id = ada["id"].as_i64().unwrap();
    let events = shop.get(&format!("/api/v1/people/{id}/events")).await;
    let summaries: Vec<&str> =
        events["data"].as_array().unwrap().iter().map(|e| e["summary"].as_str().unwrap()).collect();
    assert_eq!(summaries.len(), 4, "{summaries:?}");
    assert!(summaries.contains(&"Viewed Trail Runner X"), "{summaries:?}");
    assert!(summaries.contains(&"Viewed the page Home"), "{summaries:?}");

    let activity = shop.get(&format!("/api/v1/people/{id}/activity")).await;
    assert_eq!(activity["activity"]["events"], 4);
    let viewed =
        activity["activity"]["counts"].as_array().unwrap().iter().find(|c| c["name"] == "Product Viewed").unwrap();
    assert_eq!(viewed["count"], 1);
    let product = &shop.get("/api/v1/products").await["products"][0];
    assert_eq!((product["sku"].as_str(), product["price"].as_i64()), (Some("TR-X"), Some(8400)));

    shop.send(json!([call("identify", "m5", json!({"userId": "u-1", "traits": {"lastName": "King"}}))])).await;
    shop.resolve().await;
    assert_eq!(shop.people().await.len(), 1, "a known user id is the same person");
    assert_eq!(shop.person_by_email("ada@example.com").await["last_name"], "King");
}

#[tokio::test]
async fn identify_finds_people_by_external_id_or_email_and_leaves_out_traits_it_refuses() {
    let shop = shop().await;
    for body in [
        json!({"first_name": "Grace", "external_id": "cus_7"}),
        json!({"first_name": "Edsger", "email": "ed@example.com"}),
    ] {
        let created = shop.api(Method::POST, "/api/v1/people", Some(body)).await;
        assert_eq!(created.status, StatusCode::CREATED, "{}", created.text());
    }
    shop.send(json!([
        call("identify", "i1", json!({"userId": "cus_7", "traits": {"lastName": "Hopper"}})),
        call("identify", "i2", json!({"anonymousId": "a-9", "traits": {"email": "ED@example.com", "lastName": "Dijkstra"}})),
        call("identify", "i3", json!({"userId": "new-1", "traits": {"email": "not an email", "firstName": "Barbara", "address": {"country": "Narnia", "city": "Cair"}}})),
    ]))
    .await;
    shop.resolve().await;
    let people = shop.people().await;
    assert_eq!(people.len(), 3, "{people:?}");
    let grace = people.iter().find(|p| p["external_id"] == "cus_7").unwrap();
    assert_eq!(grace["last_name"], "Hopper");
    assert_eq!(shop.person_by_email("ed@example.com").await["last_name"], "Dijkstra");
    let barbara = people.iter().find(|p| p["external_id"] == "new-1").unwrap();
    assert_eq!(barbara["first_name"], "Barbara");
    assert_eq!(barbara["email"], Value::Null, "the refused email is left out, the rest kept");
    assert_eq!(barbara["address"]["city"], "Cair");
    assert_eq!(shop.app.count("events").await, 3, "every raw event is kept");
}

#[tokio::test]
async fn alias_links_ids_and_group_links_the_person_to_a_company_it_creates() {
    let shop = shop().await;
    shop.send(json!([
        call("identify", "g1", json!({"userId": "u-2", "traits": {"email": "linus@example.com"}})),
        call("track", "g2", json!({"userId": "old-id", "event": "Logged In"})),
        call("alias", "g3", json!({"previousId": "old-id", "userId": "u-2"})),
        call("track", "g4", json!({"userId": "old-id", "event": "Logged Out"})),
        call("group", "g5", json!({"userId": "u-2", "groupId": "org-42", "traits": {"name": "Initech", "website": "initech.example", "employees": 120}})),
    ]))
    .await;
    shop.resolve().await;
    let linus = shop.person_by_email("linus@example.com").await;
    let id = linus["id"].as_i64().unwrap();
    let events = shop.get(&format!("/api/v1/people/{id}/events")).await;
    let names: Vec<&str> = events["data"].as_array().unwrap().iter().filter_map(|e| e["name"].as_str()).collect();
    assert!(names.contains(&"Logged In") && names.contains(&"Logged Out"), "{events}");

    let companies = shop.get("/api/v1/companies").await;
    let company = &companies["data"][0];
    assert_eq!(
        (company["name"].as_str(), company["external_id"].as_str(), company["employees"].as_i64()),
        (Some("Initech"), Some("org-42"), Some(120))
    );
    let people = shop.get(&format!("/api/v1/companies/{}/people", company["id"])).await;
    let linked: Vec<i64> = people["data"].as_array().unwrap().iter().filter_map(|l| l["person_id"].as_i64()).collect();
    assert_eq!(linked, [id], "{people}");
}

fn order(id: &str, extra: Value) -> Value {
    let mut properties = json!({
        "order_id": id, "total": 91.5, "shipping": 5, "tax": 2.5, "currency": "EUR",
        "products": [
            {"product_id": "p-1", "sku": "TR-X", "name": "Trail Runner X", "category": "running_shoes", "price": 42, "quantity": 2}
        ]
    });
    properties.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
    properties
}

#[tokio::test]
async fn order_events_record_orders_the_catalogue_and_what_the_customer_spent() {
    let shop = shop().await;
    shop.send(json!([
        call("identify", "o0", json!({"userId": "u-3", "traits": {"email": "kim@example.com"}})),
        call("track", "o1", json!({"userId": "u-3", "event": "Order Completed", "properties": order("A-1", json!({}))})),
        call("track", "o2", json!({"userId": "u-3", "event": "Order Completed", "properties": order("A-2", json!({"total": 10, "products": [{"sku": "SOCK", "price": 10, "category": "socks"}]}))})),
        call("track", "o3", json!({"userId": "u-3", "event": "Order Refunded", "properties": {"order_id": "A-1", "total": 41.5}})),
        call("track", "o4", json!({"userId": "u-3", "event": "Order Cancelled", "properties": {"order_id": "A-2"}})),
        call("track", "o5", json!({"userId": "u-3", "event": "Order Refunded", "properties": {"order_id": "nope"}})),
    ]))
    .await;
    assert_eq!(shop.resolve().await, 6, "a refused effect does not stop the rest");
    let kim = shop.person_by_email("kim@example.com").await;
    let id = kim["id"].as_i64().unwrap();

    let orders = shop.get(&format!("/api/v1/orders?person_id={id}")).await;
    assert_eq!(orders["orders"].as_array().unwrap().len(), 2);
    let first = shop.get("/api/v1/orders?order_id=A-1").await["orders"][0].clone();
    assert_eq!(
        (first["total"].as_i64(), first["refunded"].as_i64(), first["status"].as_str()),
        (Some(9150), Some(4150), Some("placed"))
    );
    let detail = shop.get(&format!("/api/v1/orders/{}", first["id"])).await;
    assert_eq!(detail["items"][0]["quantity"], 2);
    assert_eq!(detail["items"][0]["price_minor"], 4200);
    let cancelled = shop.get("/api/v1/orders?order_id=A-2").await["orders"][0].clone();
    assert_eq!(cancelled["status"], "cancelled");

    let activity = shop.get(&format!("/api/v1/people/{id}/activity")).await;
    assert_eq!(activity["spend"][0]["currency"], "EUR");
    assert_eq!(activity["spend"][0]["orders"], 1, "a cancelled order does not count");
    assert_eq!(activity["spend"][0]["total"], 5000, "refunds are taken off");
    assert_eq!(activity["categories"][0][0], "running_shoes");

    let timeline = shop.get(&format!("/api/v1/people/{id}/timeline")).await.to_string();
    assert!(timeline.contains("Ordered 2 items, 91.50 EUR"), "{timeline}");
    let products = shop.get("/api/v1/products").await;
    assert_eq!(products["products"].as_array().unwrap().len(), 2);
    let product = products["products"].as_array().unwrap().iter().find(|p| p["sku"] == "TR-X").unwrap().clone();
    let bought = shop.get(&format!("/api/v1/products/{}", product["id"])).await;
    assert_eq!(bought["buyers"][0]["person_id"].as_i64(), Some(id));
    assert_eq!(bought["buyers"][0]["items"], 2);

    let page = shop.app.call(&shop.token, Method::GET, &format!("/people/{id}"), None).await.text();
    assert!(page.contains("Total spent") && page.contains("50.00 EUR"), "the person's page shows what they spent");
    let page = shop.app.call(&shop.token, Method::GET, &format!("/orders/{}", first["id"]), None).await.text();
    assert!(page.contains("Trail Runner X") && page.contains("91.50 EUR"), "{page}");
}

#[tokio::test]
async fn a_replayed_batch_counts_nothing_twice() {
    let shop = shop().await;
    let batch = json!([
        call("identify", "r0", json!({"userId": "u-4", "traits": {"email": "rep@example.com"}})),
        call(
            "track",
            "r1",
            json!({"userId": "u-4", "event": "Order Completed", "properties": order("R-1", json!({}))})
        ),
        call("track", "r2", json!({"userId": "u-4", "event": "Product Viewed", "properties": {"sku": "TR-X"}})),
    ]);
    shop.send(batch.clone()).await;
    shop.resolve().await;
    shop.send(batch).await;
    assert_eq!(shop.resolve().await, 0, "nothing new was stored");
    let id = shop.person_by_email("rep@example.com").await["id"].as_i64().unwrap();
    let activity = shop.get(&format!("/api/v1/people/{id}/activity")).await;
    assert_eq!(activity["activity"]["events"], 3);
    assert_eq!(activity["spend"][0]["orders"], 1);
}

#[tokio::test]
async fn the_subscriber_resolves_what_collection_stored() {
    let shop = shop().await;
    shop.send(json!([call("identify", "s1", json!({"userId": "u-5", "traits": {"email": "sub@example.com"}}))])).await;
    let subscribers = rapport::tracking::subscribe(rapport_jobs::Subscribers::new());
    rapport_test_db::eventually("the ingest reaches resolution", std::time::Duration::from_secs(30), || async {
        subscribers.deliver_pending(shop.app.db(), "test").await;
        shop.people().await.len() == 1
    })
    .await;
}

#[tokio::test]
async fn a_merge_takes_ids_events_and_orders_along_and_its_undo_brings_them_back() {
    let shop = shop().await;
    shop.send(json!([
        call("identify", "x1", json!({"userId": "u-a", "traits": {"email": "a@example.com", "firstName": "Jon"}})),
        call("identify", "x2", json!({"userId": "u-b", "traits": {"email": "b@example.com", "firstName": "John"}})),
        call(
            "track",
            "x3",
            json!({"userId": "u-b", "event": "Order Completed", "properties": order("M-1", json!({}))})
        ),
        call("page", "x4", json!({"userId": "u-b", "name": "Pricing"})),
    ]))
    .await;
    shop.resolve().await;
    let a = shop.person_by_email("a@example.com").await["id"].as_i64().unwrap();
    let b = shop.person_by_email("b@example.com").await["id"].as_i64().unwrap();
    let merged = shop.api(Method::POST, "/api/v1/merges", Some(json!({"survivor": a, "merged": b}))).await;
    assert_eq!(merged.status, StatusCode::CREATED, "{}", merged.text());
    let merge = merged.json()["id"].as_i64().unwrap();

    let activity = shop.get(&format!("/api/v1/people/{a}/activity")).await;
    assert_eq!(activity["activity"]["events"], 4, "the survivor has both histories");
    assert_eq!(activity["spend"][0]["orders"], 1);
    shop.send(json!([call("track", "x5", json!({"userId": "u-b", "event": "Came Back"}))])).await;
    shop.resolve().await;
    let events = shop.get(&format!("/api/v1/people/{a}/events")).await.to_string();
    assert!(events.contains("Came Back"), "the merged person's id now names the survivor");

    let undone = shop.api(Method::POST, &format!("/api/v1/merges/{merge}/undo"), None).await;
    assert_eq!(undone.status, StatusCode::OK, "{}", undone.text());
    let back = shop.get(&format!("/api/v1/people/{b}/activity")).await;
    assert_eq!(back["activity"]["events"], 4, "identify, order, page and the later event go back");
    assert_eq!(back["spend"][0]["orders"], 1);
    let kept = shop.get(&format!("/api/v1/people/{a}/activity")).await;
    assert_eq!(kept["activity"]["events"], 1);
    assert!(kept["spend"].as_array().unwrap().is_empty());
}

#[tokio::test]
async fn the_workspaces_trait_rules_say_where_traits_go_and_bad_rules_are_refused_by_line() {
    let shop = shop().await;
    let field = json!({"object": "person", "key": "plan", "label": "Plan", "kind": "text"});
    let defined = shop.api(Method::POST, "/api/v1/custom-fields", Some(field)).await;
    assert_eq!(defined.status, StatusCode::CREATED, "{}", defined.text());
    let bad = json!({"person": [{"trait": "zip", "field": "postcode"}, {"trait": "zip", "field": null}]});
    let refused = shop.api(Method::PUT, "/api/v1/trait-rules", Some(bad)).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    let fields = refused.json()["error"]["fields"].clone();
    assert!(fields.get("person[0].field").is_some() && fields.get("person[1].trait").is_some(), "{fields}");

    let rules = json!({"person": [
        {"trait": "zip_code", "field": "address.postal_code"},
        {"trait": "billing.plan", "field": "plan"},
        {"trait": "name", "field": null}
    ]});
    let saved = shop.api(Method::PUT, "/api/v1/trait-rules", Some(rules.clone())).await;
    assert_eq!(saved.status, StatusCode::OK, "{}", saved.text());
    assert_eq!(shop.get("/api/v1/trait-rules").await["person"], rules["person"]);
    shop.send(json!([call(
        "identify",
        "r1",
        json!({"userId": "u-9", "traits": {
        "email": "grace@example.com", "zip_code": 10001, "billing": {"plan": "pro"}, "name": "Amazing Grace"}})
    )]))
    .await;
    shop.resolve().await;
    let grace = shop.person_by_email("grace@example.com").await;
    assert_eq!(grace["address"]["postal_code"], "10001", "{grace}");
    assert_eq!(grace["plan"], "pro", "{grace}");
    assert!(grace["first_name"].is_null(), "the ignored name fills nothing: {grace}");
    assert_eq!(shop.app.count("audit_rows WHERE entity = 'trait_rules'").await, 1);

    // The page edits the same rules, one per line, and names the line that is wrong.
    let (cookie, csrf) = shop.app.sign_in("owner@example.com").await;
    let page = shop.app.get_as(&cookie, "/settings/sources").await.text();
    assert!(page.contains("zip_code = address.postal_code") && page.contains("name = ignore"), "{page}");
    let typed = "zip_code = address.postal_code\nnickname\n";
    let form = [("csrf_token", csrf.as_str()), ("person", typed), ("company", "")];
    let refused = shop.app.post_form_as(&cookie, "/settings/sources/trait-rules", &form).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.text().contains("People, line 2"), "{}", refused.text());
    let typed = "zip_code = address.postal_code\nnickname = ignore\n";
    let form = [("csrf_token", csrf.as_str()), ("person", typed), ("company", "plan = nope")];
    let refused = shop.app.post_form_as(&cookie, "/settings/sources/trait-rules", &form).await;
    assert!(refused.text().contains("Companies, line 1: `nope` is no field"), "{}", refused.text());
    let form = [("csrf_token", csrf.as_str()), ("person", typed), ("company", "plan = ignore")];
    let saved = shop.app.post_form_as(&cookie, "/settings/sources/trait-rules", &form).await;
    assert_eq!(saved.status, StatusCode::OK, "{}", saved.text());
    assert_eq!(shop.get("/api/v1/trait-rules").await["company"], json!([{"trait": "plan", "field": null}]));
}

#[tokio::test]
async fn events_past_the_retention_go_rolled_up_and_what_they_counted_stays() {
    let shop = shop().await;
    let refused = shop.api(Method::PUT, "/api/v1/event-retention", Some(json!({"keep_months": 0}))).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.text().contains("keep_months"), "{}", refused.text());
    let kept = shop.api(Method::PUT, "/api/v1/event-retention", Some(json!({"keep_months": 3, "roll_up": true}))).await;
    assert_eq!(kept.json(), json!({"keep_months": 3, "roll_up": true}));

    let now = chrono::Utc::now();
    let at = |days: i64| (now - chrono::Duration::days(days)).to_rfc3339();
    shop.send(json!([
        {"type": "identify", "messageId": "e0", "userId": "u-1", "traits": {"email": "old@example.com"}, "timestamp": at(400)},
        {"type": "track", "messageId": "e1", "userId": "u-1", "event": "Signed Up", "timestamp": at(400)},
        {"type": "track", "messageId": "e2", "userId": "u-1", "event": "Product Viewed", "timestamp": at(200)},
        {"type": "track", "messageId": "e3", "userId": "u-1", "event": "Product Viewed", "timestamp": at(200)},
        {"type": "track", "messageId": "e4", "userId": "u-1", "event": "Product Viewed", "timestamp": at(10)},
    ]))
    .await;
    shop.resolve().await;
    assert_eq!(rapport::tracking::expire(shop.app.db(), now).await.unwrap(), 4, "all but the recent view");
    assert_eq!(rapport::tracking::expire(shop.app.db(), now).await.unwrap(), 0);
    let person = shop.person_by_email("old@example.com").await["id"].as_i64().unwrap();
    let events = shop.get(&format!("/api/v1/people/{person}/events")).await;
    assert_eq!(events["data"].as_array().unwrap().len(), 1);
    let activity = shop.get(&format!("/api/v1/people/{person}/activity")).await;
    assert_eq!(activity["activity"]["events"], 5, "the counters outlive the events: {activity}");
    let since = (now - chrono::Duration::days(500)).format("%Y-%m-%d");
    let rollups = shop.get(&format!("/api/v1/event-rollups?since={since}")).await;
    let viewed: i64 = rollups
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["name"] == "Product Viewed")
        .map(|r| r["events"].as_i64().unwrap())
        .sum();
    assert_eq!((rollups.as_array().unwrap().len(), viewed), (3, 2), "{rollups}");

    // A merge adds the counters, however few events are left to count.
    let twin = shop.api(Method::POST, "/api/v1/people", Some(json!({"email": "twin@example.com"}))).await;
    let twin = twin.json()["id"].as_i64().unwrap();
    shop.send(
        json!([{"type": "identify", "messageId": "t0", "userId": "u-2", "traits": {"email": "twin@example.com"}}]),
    )
    .await;
    shop.resolve().await;
    let merged = shop.api(Method::POST, "/api/v1/merges", Some(json!({"survivor": person, "merged": twin}))).await;
    assert_eq!(merged.status, StatusCode::CREATED, "{}", merged.text());
    let activity = shop.get(&format!("/api/v1/people/{person}/activity")).await;
    assert_eq!(activity["activity"]["events"], 6, "{activity}");

    let forever = shop.api(Method::PUT, "/api/v1/event-retention", Some(json!({"keep_months": null}))).await;
    assert_eq!(forever.json(), json!({"keep_months": null, "roll_up": false}));
    assert_eq!(shop.app.count("audit_rows WHERE entity = 'event_retention'").await, 2);
}
