//! List views over people and companies, on SQLite or on PostgreSQL when
//! `RAPPORT_TEST_DATABASE_URL` is set: the filter language on built-in and custom fields with
//! nested and/or/not, sorts whose pages neither skip nor repeat a record (empties last), errors
//! that point at the offending condition, and saved views private or shared, in the API and on
//! the list page.

#![allow(clippy::unwrap_used)]

mod util;

use axum::http::{Method, StatusCode};
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

fn encoded(raw: &str) -> String {
    raw.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.".contains(&b) { (b as char).to_string() } else { format!("%{b:02X}") }
        })
        .collect()
}

impl Workspace {
    async fn post(&self, path: &str, body: Value) -> Value {
        let response = self.app.call(&self.owner, Method::POST, path, Some(body)).await;
        assert!(response.status.is_success(), "{path}: {}", response.text());
        response.json()
    }

    async fn list(&self, object: &str, filter: Option<Value>, sort: &str) -> util::TestResponse {
        let mut path = format!("/api/v1/{object}?limit=200&sort={}", encoded(sort));
        if let Some(filter) = filter {
            path.push_str(&format!("&filter={}", encoded(&filter.to_string())));
        }
        self.app.call(&self.owner, Method::GET, &path, None).await
    }

    /// The first names a filter selects, in list order.
    async fn names(&self, filter: Value) -> Vec<String> {
        let response = self.list("people", Some(filter.clone()), "first_name").await;
        assert_eq!(response.status, StatusCode::OK, "{filter}: {}", response.text());
        response.json()["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["first_name"].as_str().unwrap().to_owned())
            .collect()
    }

    /// Every record of a sorted list, read a page of `limit` at a time.
    async fn all_pages(&self, sort: &str, limit: usize) -> Vec<String> {
        let mut names = Vec::new();
        let mut cursor = String::new();
        loop {
            let path = format!("/api/v1/people?limit={limit}&sort={}&cursor={}", encoded(sort), encoded(&cursor));
            let page = self.app.call(&self.owner, Method::GET, &path, None).await;
            assert_eq!(page.status, StatusCode::OK, "{}", page.text());
            let page = page.json();
            names.extend(page["data"].as_array().unwrap().iter().map(|p| p["first_name"].as_str().unwrap().to_owned()));
            match page["next"].as_str() {
                Some(next) => cursor = next.to_owned(),
                None => return names,
            }
        }
    }
}

async fn seeded() -> Workspace {
    let ws = workspace().await;
    ws.post("/api/v1/custom-fields", json!({"object": "person", "key": "score", "kind": "number"})).await;
    ws.post(
        "/api/v1/custom-fields",
        json!({"object": "person", "key": "plan", "kind": "select", "options": ["free", "pro"]}),
    )
    .await;
    ws.post("/api/v1/custom-fields", json!({"object": "person", "key": "renewal", "kind": "date"})).await;
    let people = [
        json!({"first_name": "Ada", "last_name": "Lovelace", "address": {"city": "London"}, "lifecycle_stage": "customer",
               "tags": ["vip", "math"], "score": 90, "plan": "pro", "renewal": "2027-01-10", "owner": ws.created.owner_id.get()}),
        json!({"first_name": "Brian", "last_name": "Kernighan", "address": {"city": "Toronto"}, "lifecycle_stage": "lead",
               "tags": ["unix"], "score": 40, "plan": "free"}),
        json!({"first_name": "Claude", "last_name": "Shannon", "address": {"city": "Petoskey"}, "lifecycle_stage": "lead",
               "tags": ["math"], "score": 75}),
        json!({"first_name": "Dennis", "address": {"city": "london"}, "lifecycle_stage": "churned", "tags": ["unix", "vip"]}),
        json!({"first_name": "Edsger", "last_name": "Dijkstra", "lifecycle_stage": "customer", "score": 75, "plan": "free"}),
    ];
    for person in people {
        ws.post("/api/v1/people", person).await;
    }
    ws
}

#[tokio::test]
async fn filters_combine_built_in_and_custom_fields_with_nested_groups() {
    let ws = seeded().await;
    let cond = |field: &str, op: &str, value: Value| json!({"field": field, "op": op, "value": value});
    assert_eq!(ws.names(cond("address.city", "is", json!("LONDON"))).await, ["Ada", "Dennis"], "text ignores case");
    assert_eq!(ws.names(cond("last_name", "contains", json!("an"))).await, ["Brian", "Claude"]);
    assert_eq!(ws.names(cond("last_name", "is_empty", Value::Null)).await, ["Dennis"]);
    assert_eq!(
        ws.names(cond("lifecycle_stage", "in", json!(["lead", "churned"]))).await,
        ["Brian", "Claude", "Dennis"]
    );
    assert_eq!(ws.names(cond("tags", "has_all", json!(["vip", "math"]))).await, ["Ada"]);
    assert_eq!(ws.names(cond("tags", "has_none", json!(["vip"]))).await, ["Brian", "Claude", "Edsger"]);
    assert_eq!(ws.names(cond("owner", "is", json!("me"))).await, ["Ada"]);
    assert_eq!(ws.names(cond("score", "gte", json!(75))).await, ["Ada", "Claude", "Edsger"]);
    assert_eq!(ws.names(cond("score", "between", json!([40, 75]))).await, ["Brian", "Claude", "Edsger"]);
    assert_eq!(ws.names(cond("score", "is_empty", Value::Null)).await, ["Dennis"]);
    assert_eq!(ws.names(cond("plan", "is_not", json!("pro"))).await, ["Brian", "Claude", "Dennis", "Edsger"]);
    assert_eq!(ws.names(cond("renewal", "before", json!("2027-02-01"))).await, ["Ada"]);
    let nested = json!({"and": [
        {"or": [cond("lifecycle_stage", "is", json!("lead")), cond("tags", "has_any", json!(["vip"]))]},
        {"not": cond("score", "lt", json!(50))}
    ]});
    assert_eq!(ws.names(nested).await, ["Ada", "Claude", "Dennis"]);
}

#[tokio::test]
async fn a_wrong_filter_is_refused_with_the_place_of_the_mistake() {
    let ws = seeded().await;
    for (filter, path, hint) in [
        (json!({"and": [{"field": "score", "op": "gt", "value": "lots"}]}), "filter.and[0].value", "number"),
        (json!({"and": [{"field": "colour", "op": "is", "value": "red"}]}), "filter.and[0].field", "not a field"),
        (json!({"or": [{"field": "tags", "op": "gt", "value": 1}]}), "filter.or[0].op", "has_any"),
        (json!({"field": "first_name"}), "filter.op", "required"),
    ] {
        let response = ws.list("people", Some(filter.clone()), "").await;
        assert_eq!(response.status, StatusCode::UNPROCESSABLE_ENTITY, "{filter}");
        let message = response.json()["error"]["fields"][path][0].as_str().unwrap_or_default().to_owned();
        assert!(message.contains(hint), "{filter}: {}", response.text());
    }
    let bad_sort = ws.list("people", None, "tags").await;
    assert_eq!(bad_sort.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", bad_sort.text());
}

#[tokio::test]
async fn sorted_pages_neither_skip_nor_repeat_and_empties_come_last() {
    let ws = seeded().await;
    assert_eq!(ws.all_pages("last_name", 2).await, ["Edsger", "Brian", "Ada", "Claude", "Dennis"]);
    assert_eq!(ws.all_pages("-last_name", 2).await, ["Claude", "Ada", "Brian", "Edsger", "Dennis"]);
    assert_eq!(ws.all_pages("score", 1).await, ["Brian", "Claude", "Edsger", "Ada", "Dennis"]);
    assert_eq!(ws.all_pages("-score", 2).await, ["Ada", "Edsger", "Claude", "Brian", "Dennis"]);
    assert_eq!(ws.all_pages("plan", 2).await, ["Brian", "Edsger", "Ada", "Claude", "Dennis"]);
    assert_eq!(ws.all_pages("", 2).await, ["Edsger", "Dennis", "Claude", "Brian", "Ada"], "newest first by default");
    let count =
        ws.list("people", Some(json!({"field": "score", "op": "is_not_empty"})), "").await.json()["count"].clone();
    assert_eq!(count, 4);
}

#[tokio::test]
async fn saved_views_are_private_unless_shared_and_only_their_owner_changes_them() {
    let ws = seeded().await;
    let member_id = ws.app.add_member(ws.created.workspace_id, "member@acme.example", "member").await;
    let member = ws.app.token_for(&ws.created, member_id).await;
    let filter = json!({"field": "lifecycle_stage", "op": "is", "value": "lead"});
    let private = ws
        .post(
            "/api/v1/views",
            json!({"object": "person", "name": "Leads", "filter": filter, "sort": "-score",
                                                  "columns": ["email", "score", "nonsense"]}),
        )
        .await;
    assert_eq!(private["columns"], json!(["email", "score"]));
    let shared = ws.post("/api/v1/views", json!({"object": "person", "name": "All", "shared": true})).await;
    let seen: Vec<String> = ws
        .app
        .call(&member, Method::GET, "/api/v1/views?object=person", None)
        .await
        .json()
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["name"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(seen, ["All"], "a private view is its owner's alone");
    let hidden = ws.app.call(&member, Method::GET, &format!("/api/v1/views/{}", private["id"]), None).await;
    assert_eq!(hidden.status, StatusCode::NOT_FOUND);
    let change = ws
        .app
        .call(&member, Method::PATCH, &format!("/api/v1/views/{}", shared["id"]), Some(json!({"name": "Mine"})))
        .await;
    assert_eq!(change.status, StatusCode::FORBIDDEN);
    let wrong = ws
        .app
        .call(
            &ws.owner,
            Method::POST,
            "/api/v1/views",
            Some(json!({"object": "person", "name": "Bad", "filter": {"field": "nope", "op": "is", "value": 1}})),
        )
        .await;
    assert_eq!(wrong.status, StatusCode::UNPROCESSABLE_ENTITY, "a view's filter is checked when saved");

    let (cookie, csrf) = ws.app.sign_in("owner@acme.example").await;
    let page = ws.app.get_as(&cookie, &format!("/people?view={}", private["id"])).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text());
    let html = page.text();
    assert!(html.contains("Claude") && html.contains("Brian") && !html.contains("Edsger"), "{html}");
    assert!(html.find("Claude").unwrap() < html.find("Brian").unwrap(), "sorted by score, highest first");
    let filtered = ws.app.get_as(&cookie, "/people?f0=score&o0=gt&v0=80").await.text();
    assert!(filtered.contains("Ada") && !filtered.contains("Claude"), "{filtered}");
    let saved = ws
        .app
        .post_form_as(
            &cookie,
            "/people/views",
            &[
                ("csrf_token", &csrf),
                ("name", "High scores"),
                ("filter", "{\"and\":[{\"field\":\"score\",\"op\":\"gt\",\"value\":\"80\"}]}"),
                ("sort", ""),
                ("columns", "score"),
            ],
        )
        .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.text());
    let reloaded = ws.app.get_as(&cookie, saved.header("location")).await.text();
    assert!(reloaded.contains("Ada") && !reloaded.contains("Claude") && reloaded.contains("High scores"), "{reloaded}");
    let error = ws.app.get_as(&cookie, "/people?f0=score&o0=gt&v0=lots").await;
    assert_eq!(error.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(error.text().contains("must be a number"), "{}", error.text());
}

#[tokio::test]
async fn companies_filter_and_sort_by_name_and_custom_fields() {
    let ws = workspace().await;
    ws.post("/api/v1/custom-fields", json!({"object": "company", "key": "arr", "kind": "money"})).await;
    for (name, arr) in [("Initech", "500000 USD"), ("Acme", "1200 USD"), ("Globex", "")] {
        let body = if arr.is_empty() { json!({"name": name}) } else { json!({"name": name, "arr": arr}) };
        ws.post("/api/v1/companies", body).await;
    }
    let sorted = ws.list("companies", None, "name").await.json();
    let names: Vec<&str> = sorted["data"].as_array().unwrap().iter().map(|c| c["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["Acme", "Globex", "Initech"]);
    let big = ws.list("companies", Some(json!({"field": "arr", "op": "gt", "value": 10000})), "").await.json();
    assert_eq!(big["data"].as_array().unwrap().len(), 1, "{big}");
    assert_eq!(big["data"][0]["arr"], json!({"amount": "500000.00", "currency": "USD"}));
}
