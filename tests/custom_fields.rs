//! Custom fields on people and companies, on SQLite or on PostgreSQL when
//! `RAPPORT_TEST_DATABASE_URL` is set: defining each kind, values checked and normalised in the
//! record's own write, required, unique and default, renaming and retiring without losing a
//! value, field permissions on a custom field, and the pages.

#![allow(clippy::unwrap_used)]

mod util;

use axum::http::{Method, StatusCode};
use rapport::access::{self, FieldRule};
use rapport::identity;
use serde_json::{Value, json};
use util::TestApp;

struct Workspace {
    app: TestApp,
    created: rapport::workspace::Created,
    owner: String,
}

async fn workspace() -> Workspace {
    let app = TestApp::new().await;
    let created = app.with_workspace("Acme", "owner@acme.example").await;
    let owner = app.token_for(&created, created.owner_id).await;
    Workspace { app, created, owner }
}

impl Workspace {
    async fn define(&self, spec: Value) -> Value {
        let response = self.app.call(&self.owner, Method::POST, "/api/v1/custom-fields", Some(spec)).await;
        assert_eq!(response.status, StatusCode::CREATED, "{}", response.text());
        response.json()
    }

    async fn person(&self, body: Value) -> util::TestResponse {
        self.app.call(&self.owner, Method::POST, "/api/v1/people", Some(body)).await
    }
}

#[tokio::test]
async fn every_kind_of_value_is_checked_normalised_and_read_back_by_key() {
    let ws = workspace().await;
    for spec in [
        json!({"object": "person", "key": "contract_value", "label": "Contract value", "kind": "money"}),
        json!({"object": "person", "key": "seats", "kind": "number"}),
        json!({"object": "person", "key": "discount", "kind": "decimal"}),
        json!({"object": "person", "key": "renewal", "kind": "date"}),
        json!({"object": "person", "key": "last_call", "kind": "date_time"}),
        json!({"object": "person", "key": "newsletter", "kind": "boolean"}),
        json!({"object": "person", "key": "plan", "kind": "select", "options": ["Free", "Pro", "Enterprise"]}),
        json!({"object": "person", "key": "interests", "kind": "multi_select", "options": ["shoes", "hats", "bags"]}),
        json!({"object": "person", "key": "website", "kind": "url"}),
        json!({"object": "person", "key": "billing_email", "kind": "email"}),
        json!({"object": "person", "key": "mobile", "kind": "phone"}),
        json!({"object": "person", "key": "bio", "kind": "long_text"}),
        json!({"object": "person", "key": "nickname", "kind": "text", "help": "What they like to be called"}),
    ] {
        ws.define(spec).await;
    }
    let company = ws.app.call(&ws.owner, Method::POST, "/api/v1/companies", Some(json!({"name": "Initech"}))).await;
    let company_id = company.json()["id"].as_i64().unwrap();
    ws.define(json!({"object": "person", "key": "employer", "kind": "relation", "target": "company"})).await;

    let created = ws
        .person(json!({
            "first_name": "Ada",
            "contract_value": {"amount": "1200.5", "currency": "eur"},
            "seats": 12, "discount": "007.50", "renewal": "2027-01-31",
            "last_call": "2026-11-30T10:00:00+01:00", "newsletter": true, "plan": "pro",
            "interests": ["hats", "shoes", "hats"], "website": "https://ada.example/",
            "billing_email": "Billing@Ada.Example", "mobile": "(415) 555-0132",
            "bio": "Wrote the first program.", "nickname": "Countess", "employer": company_id
        }))
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text());
    let id = created.json()["id"].as_i64().unwrap();
    let read = ws.app.call(&ws.owner, Method::GET, &format!("/api/v1/people/{id}"), None).await.json();
    assert_eq!(read["contract_value"], json!({"amount": "1200.50", "currency": "EUR"}));
    assert_eq!(read["seats"], 12);
    assert_eq!(read["discount"], "7.50");
    assert_eq!(read["renewal"], "2027-01-31");
    assert_eq!(read["last_call"], "2026-11-30T09:00:00Z");
    assert_eq!(read["newsletter"], true);
    assert_eq!(read["plan"], "Pro");
    assert_eq!(read["interests"], json!(["hats", "shoes"]));
    assert_eq!(read["billing_email"], "Billing@ada.example");
    assert_eq!(read["mobile"], "+14155550132");
    assert_eq!(read["employer"], company_id);

    let bad = ws
        .person(json!({"first_name": "Bob", "seats": "many", "plan": "Gold", "renewal": "31/01/2027",
                       "shoe_size": 44, "phone": "not a phone"}))
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    let fields = &bad.json()["error"]["fields"];
    for key in ["seats", "plan", "renewal", "shoe_size", "phone"] {
        assert!(fields.get(key).is_some(), "{key} is named: {fields}");
    }
    assert_eq!(ws.app.count("people").await, 1, "nothing half-saved");
    assert!(fields["plan"][0].as_str().unwrap().contains("Free, Pro, Enterprise"), "{fields}");
    let dangling = ws.person(json!({"first_name": "Bob", "employer": 999_999})).await;
    assert_eq!(dangling.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", dangling.text());
    assert!(dangling.json()["error"]["fields"]["employer"][0].as_str().unwrap().contains("no company"));
    assert_eq!(ws.app.count("people").await, 1, "the refused create left nothing behind");
}

#[tokio::test]
async fn required_unique_and_default_hold_and_a_patch_can_clear_a_value() {
    let ws = workspace().await;
    ws.define(json!({"object": "person", "key": "customer_no", "kind": "text", "unique": true, "required": true}))
        .await;
    ws.define(json!({"object": "person", "key": "tier", "kind": "select", "options": ["bronze", "gold"], "default": "bronze"}))
        .await;
    ws.define(json!({"object": "person", "key": "note", "kind": "text"})).await;

    let missing = ws.person(json!({"first_name": "Ada"})).await;
    assert_eq!(missing.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(missing.json()["error"]["fields"]["customer_no"].is_array(), "{}", missing.text());

    let first = ws.person(json!({"first_name": "Ada", "customer_no": "C-1", "note": "hello"})).await;
    assert_eq!(first.status, StatusCode::CREATED, "{}", first.text());
    assert_eq!(first.json()["tier"], "bronze", "the default applies to a new record");
    let taken = ws.person(json!({"first_name": "Bob", "customer_no": "c-1"})).await;
    assert_eq!(taken.status, StatusCode::UNPROCESSABLE_ENTITY, "unique ignores case: {}", taken.text());
    assert!(taken.text().contains("taken"), "{}", taken.text());

    let id = first.json()["id"].as_i64().unwrap();
    let path = format!("/api/v1/people/{id}");
    let cleared = ws.app.call(&ws.owner, Method::PATCH, &path, Some(json!({"note": null}))).await;
    assert_eq!(cleared.status, StatusCode::OK, "{}", cleared.text());
    assert!(cleared.json().get("note").is_none(), "{}", cleared.text());
    let required = ws.app.call(&ws.owner, Method::PATCH, &path, Some(json!({"customer_no": null}))).await;
    assert_eq!(required.status, StatusCode::UNPROCESSABLE_ENTITY, "a required value cannot be cleared");
    let same_again = ws.app.call(&ws.owner, Method::PATCH, &path, Some(json!({"customer_no": "C-1"}))).await;
    assert_eq!(same_again.status, StatusCode::OK, "a record may keep its own unique value");

    let history = ws.app.call(&ws.owner, Method::GET, &format!("{path}/history"), None).await.json();
    assert!(history.to_string().contains("\"field\":\"note\""), "custom changes are audited: {history}");
}

#[tokio::test]
async fn renaming_and_retiring_keep_every_value() {
    let ws = workspace().await;
    let field = ws.define(json!({"object": "person", "key": "shoe", "label": "Shoe size", "kind": "number"})).await;
    let field_path = format!("/api/v1/custom-fields/{}", field["id"]);
    let person = ws.person(json!({"first_name": "Ada", "shoe": 38})).await.json();
    let path = format!("/api/v1/people/{}", person["id"]);

    let renamed = ws.app.call(&ws.owner, Method::PATCH, &field_path, Some(json!({"key": "shoe_size"}))).await;
    assert_eq!(renamed.status, StatusCode::OK, "{}", renamed.text());
    let read = ws.app.call(&ws.owner, Method::GET, &path, None).await.json();
    assert_eq!((read.get("shoe"), &read["shoe_size"]), (None, &json!(38)));

    let retired = ws.app.call(&ws.owner, Method::PATCH, &field_path, Some(json!({"retired": true}))).await;
    assert_eq!(retired.json()["retired"], true);
    assert!(ws.app.call(&ws.owner, Method::GET, &path, None).await.json().get("shoe_size").is_none());
    let refused = ws.app.call(&ws.owner, Method::PATCH, &path, Some(json!({"shoe_size": 40}))).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "a retired field takes no value");
    let other_change = ws.app.call(&ws.owner, Method::PATCH, &path, Some(json!({"last_name": "King"}))).await;
    assert_eq!(other_change.status, StatusCode::OK, "{}", other_change.text());

    ws.app.call(&ws.owner, Method::PATCH, &field_path, Some(json!({"retired": false}))).await;
    let back = ws.app.call(&ws.owner, Method::GET, &path, None).await.json();
    assert_eq!(back["shoe_size"], 38, "the value survived retirement and an unrelated update: {back}");

    let kind_change = ws.app.call(&ws.owner, Method::PATCH, &field_path, Some(json!({"kind": "text"}))).await;
    assert_eq!(kind_change.status, StatusCode::UNPROCESSABLE_ENTITY);
    let builtin = ws
        .app
        .call(
            &ws.owner,
            Method::POST,
            "/api/v1/custom-fields",
            Some(json!({"object": "person", "key": "first_name", "kind": "text"})),
        )
        .await;
    assert_eq!(builtin.status, StatusCode::UNPROCESSABLE_ENTITY, "built-in keys are taken");
}

#[tokio::test]
async fn a_member_cannot_define_fields_and_a_hidden_custom_field_is_absent_and_refused() {
    let ws = workspace().await;
    ws.define(json!({"object": "person", "key": "salary", "kind": "money"})).await;
    let member_id = ws.app.add_member(ws.created.workspace_id, "member@acme.example", "member").await;
    let member = ws.app.token_for(&ws.created, member_id).await;
    let define = ws
        .app
        .call(
            &member,
            Method::POST,
            "/api/v1/custom-fields",
            Some(json!({"object": "person", "key": "x", "kind": "text"})),
        )
        .await;
    assert_eq!(define.status, StatusCode::FORBIDDEN);
    let owner_principal = identity::token_principal(ws.app.db(), &ws.owner).await.unwrap();
    access::set_field_rule(
        ws.app.db(),
        &owner_principal,
        ("member", "person", "salary"),
        Some(FieldRule::Hidden),
        None,
    )
    .await
    .unwrap();
    let person = ws.person(json!({"first_name": "Ada", "salary": "90000 GBP", "owner": member_id.get()})).await.json();
    let seen = ws.app.call(&member, Method::GET, &format!("/api/v1/people/{}", person["id"]), None).await.json();
    assert!(seen.get("salary").is_none() && !seen.to_string().contains("90000"), "{seen}");
    let listed = ws.app.call(&member, Method::GET, "/api/v1/people", None).await.text();
    assert!(!listed.contains("90000"), "{listed}");
    let write = ws
        .app
        .call(&member, Method::PATCH, &format!("/api/v1/people/{}", person["id"]), Some(json!({"salary": "1 GBP"})))
        .await;
    assert_eq!(write.status, StatusCode::FORBIDDEN, "{}", write.text());
    let filter = ws
        .app
        .call(
            &member,
            Method::GET,
            &format!("/api/v1/people?filter={}", urlencoding("{\"field\":\"salary\",\"op\":\"gt\",\"value\":1}")),
            None,
        )
        .await;
    assert_eq!(
        filter.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "a hidden field cannot be filtered on: {}",
        filter.text()
    );
}

#[tokio::test]
async fn the_fields_page_defines_a_field_and_the_person_form_takes_its_value() {
    let ws = workspace().await;
    let (cookie, csrf) = ws.app.sign_in("owner@acme.example").await;
    let page = ws.app.get_as(&cookie, "/settings/fields").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text());
    let defined = ws
        .app
        .post_form_as(
            &cookie,
            "/settings/fields",
            &[
                ("csrf_token", &csrf),
                ("object", "person"),
                ("label", "Plan"),
                ("key", "plan"),
                ("kind", "select"),
                ("options", "Free\nPro"),
            ],
        )
        .await;
    assert_eq!(defined.status, StatusCode::SEE_OTHER, "{}", defined.text());
    let form = ws.app.get_as(&cookie, "/people/new").await.text();
    assert!(form.contains("name=\"custom.plan\"") && form.contains(">Pro<"), "{form}");
    let bad = ws
        .app
        .post_form_as(&cookie, "/people/new", &[("csrf_token", &csrf), ("first_name", "Ada"), ("custom.plan", "Gold")])
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.text().contains("must be one of Free, Pro"), "the error shows inline: {}", bad.text());
    let saved = ws
        .app
        .post_form_as(&cookie, "/people/new", &[("csrf_token", &csrf), ("first_name", "Ada"), ("custom.plan", "Pro")])
        .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.text());
    let detail = ws.app.get_as(&cookie, saved.header("location")).await.text();
    assert!(detail.contains("Plan") && detail.contains("Pro"), "{detail}");
}

fn urlencoding(raw: &str) -> String {
    raw.bytes().map(|b| if b.is_ascii_alphanumeric() { (b as char).to_string() } else { format!("%{b:02X}") }).collect()
}

#[tokio::test]
async fn generated_people_fill_the_workspaces_custom_fields_and_filter_by_them_through_the_index() {
    let ws = workspace().await;
    ws.define(json!({"object": "person", "key": "plan", "kind": "select", "options": ["free", "pro"]})).await;
    ws.define(json!({"object": "person", "key": "score", "kind": "number"})).await;
    ws.define(json!({"object": "person", "key": "bio", "kind": "long_text"})).await;
    rapport::r#gen::load_into(ws.app.db(), ws.created.workspace_id, 200, 0).await.unwrap();

    let mut counted = 0;
    for plan in ["free", "pro"] {
        let filter = json!({"field": "plan", "op": "is", "value": plan}).to_string();
        let path = format!(
            "/api/v1/people?limit=1&filter={}",
            url::form_urlencoded::byte_serialize(filter.as_bytes()).collect::<String>()
        );
        let listed = ws.app.call(&ws.owner, Method::GET, &path, None).await.json();
        let count = listed["count"].as_i64().unwrap();
        assert!(count > 40, "both options are used: {plan} has {count}");
        assert_eq!(listed["data"][0]["plan"], plan, "{listed}");
        assert!(listed["data"][0]["score"].is_number() && listed["data"][0].get("bio").is_none(), "{listed}");
        counted += count;
    }
    assert_eq!(counted, 200, "every person has a plan");
    assert_eq!(ws.app.count_in("custom_values", ws.created.workspace_id).await, 400, "plan and score are indexed");
}
