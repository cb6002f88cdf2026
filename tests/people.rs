//! People over the JSON API, on SQLite or on PostgreSQL when `RAPPORT_TEST_DATABASE_URL` is
//! set: validation naming every bad field, ETag and If-Match, idempotent creates, the trash,
//! cursor pages and tenant isolation.

#![allow(clippy::unwrap_used)]

mod util;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use rapport::identity::{self, Scope};
use serde_json::{Value, json};
use util::{TestApp, TestResponse};

/// A workspace and a bearer token for its owner.
struct Caller {
    token: String,
    owner: i64,
}

async fn caller(app: &TestApp, name: &str) -> Caller {
    let created = app.with_workspace(name, &format!("owner@{}.example", name.to_lowercase())).await;
    let token = identity::create_token(app.db(), created.workspace_id, created.owner_id, "ci", vec![Scope::All], None)
        .await
        .unwrap();
    Caller { token: token.secret.expose().clone(), owner: created.owner_id.get() }
}

async fn call(
    app: &TestApp,
    who: &Caller,
    method: Method,
    path: &str,
    body: Option<Value>,
    headers: &[(&str, &str)],
) -> TestResponse {
    let mut request = Request::builder()
        .method(method)
        .uri(path)
        .header("authorization", format!("Bearer {}", who.token))
        .header("content-type", "application/json");
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let body = body.map_or_else(Body::empty, |b| Body::from(b.to_string()));
    app.request(request.body(body).unwrap()).await
}

async fn create(app: &TestApp, who: &Caller, body: Value) -> TestResponse {
    call(app, who, Method::POST, "/api/v1/people", Some(body), &[]).await
}

#[tokio::test]
async fn creating_a_person_normalises_contacts_and_records_a_created_event() {
    let app = TestApp::new().await;
    let ada = caller(&app, "Acme").await;
    let response = create(
        &app,
        &ada,
        json!({
            "first_name": " Ada ", "last_name": "Lovelace",
            "email": "Ada@Example.COM", "emails": [{"value": "ada@work.example", "label": "work"}],
            "phone": "(415) 555-0132",
            "address": {"city": "London", "country": "gb"},
            "lifecycle_stage": "lead", "owner": ada.owner, "tags": ["vip", "VIP", "math"],
            "social": {"LinkedIn": "https://www.linkedin.com/in/ada"}, "external_id": "crm-1"
        }),
    )
    .await;
    assert_eq!(response.status, StatusCode::CREATED, "{}", response.text());
    let person = response.json();
    assert_eq!(person["first_name"], "Ada");
    assert_eq!(person["email"], "Ada@example.com");
    assert_eq!(person["emails"].as_array().unwrap().len(), 2);
    assert_eq!(person["phone"], "+14155550132");
    assert_eq!(person["address"]["country"], "GB");
    assert_eq!(person["tags"], json!(["vip", "math"]));
    assert_eq!(response.header("etag"), "\"1\"");
    assert_eq!(app.count("domain_events WHERE kind = 'person.created'").await, 1);
}

#[tokio::test]
async fn creating_a_person_with_bad_fields_returns_422_naming_each_and_saves_nothing() {
    let app = TestApp::new().await;
    let ada = caller(&app, "Acme").await;
    let response = create(
        &app,
        &ada,
        json!({
            "first_name": "Ada", "email": "not-an-email", "phones": [{"value": "12"}],
            "birthday": "1815-13-40", "address": {"country": "XX"}, "currency": "EURO",
            "lifecycle_stage": "friend", "social": {"x": "ftp://x"}, "time_zone": "Mars"
        }),
    )
    .await;
    assert_eq!(response.status, StatusCode::UNPROCESSABLE_ENTITY);
    let fields = response.json()["error"]["fields"].as_object().unwrap().keys().cloned().collect::<Vec<_>>();
    assert_eq!(
        fields,
        ["address.country", "birthday", "currency", "email", "lifecycle_stage", "phones[0]", "social.x", "time_zone"]
    );
    assert_eq!(app.count("people").await, 0);
    assert_eq!(app.count("domain_events WHERE kind LIKE 'person.%'").await, 0);
}

#[tokio::test]
async fn an_owner_outside_the_workspace_or_a_taken_external_id_is_a_field_error() {
    let app = TestApp::new().await;
    let ada = caller(&app, "Acme").await;
    let other = caller(&app, "Globex").await;
    let response = create(&app, &ada, json!({"first_name": "Ada", "owner": other.owner})).await;
    assert_eq!(response.json()["error"]["fields"]["owner"][0], "is not a member of this workspace");
    assert_eq!(create(&app, &ada, json!({"first_name": "A", "external_id": "x1"})).await.status, StatusCode::CREATED);
    let taken = create(&app, &ada, json!({"first_name": "B", "external_id": "x1"})).await;
    assert_eq!(taken.json()["error"]["fields"]["external_id"][0], "is taken by another record");
    assert_eq!(create(&app, &other, json!({"first_name": "C", "external_id": "x1"})).await.status, StatusCode::CREATED);
}

#[tokio::test]
async fn a_patch_with_a_stale_if_match_is_refused_with_412_and_changes_nothing() {
    let app = TestApp::new().await;
    let ada = caller(&app, "Acme").await;
    let created = create(&app, &ada, json!({"first_name": "Ada", "address": {"city": "London"}})).await;
    let path = format!("/api/v1/people/{}", created.json()["id"]);
    let etag = created.header("etag").to_owned();

    let first =
        call(&app, &ada, Method::PATCH, &path, Some(json!({"last_name": "Lovelace"})), &[("if-match", &etag)]).await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.text());
    assert_eq!(first.json()["address"]["city"], "London", "absent fields stay");
    assert_eq!(first.header("etag"), "\"2\"");

    let stale =
        call(&app, &ada, Method::PATCH, &path, Some(json!({"last_name": "Byron"})), &[("if-match", &etag)]).await;
    assert_eq!(stale.status, StatusCode::PRECONDITION_FAILED);
    assert_eq!(stale.error_code(), "stale_version");
    assert_eq!(call(&app, &ada, Method::GET, &path, None, &[]).await.json()["last_name"], "Lovelace");

    let events = app.count("domain_events WHERE kind = 'person.updated'").await;
    assert_eq!(events, 1);
}

#[tokio::test]
async fn a_patch_with_a_bad_field_names_it_and_keeps_the_person() {
    let app = TestApp::new().await;
    let ada = caller(&app, "Acme").await;
    let created = create(&app, &ada, json!({"first_name": "Ada", "phone": "+44 20 7946 0958"})).await;
    let path = format!("/api/v1/people/{}", created.json()["id"]);
    let bad =
        call(&app, &ada, Method::PATCH, &path, Some(json!({"phone": "nope", "first_name": "Augusta"})), &[]).await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.json()["error"]["fields"]["phone"].is_array());
    let person = call(&app, &ada, Method::GET, &path, None, &[]).await.json();
    assert_eq!((person["first_name"].as_str(), person["phone"].as_str()), (Some("Ada"), Some("+442079460958")));
}

#[tokio::test]
async fn retrying_a_create_with_the_same_idempotency_key_creates_one_person() {
    let app = TestApp::new().await;
    let ada = caller(&app, "Acme").await;
    let body = json!({"first_name": "Ada"});
    let key = [("idempotency-key", "retry-1")];
    let first = call(&app, &ada, Method::POST, "/api/v1/people", Some(body.clone()), &key).await;
    let again = call(&app, &ada, Method::POST, "/api/v1/people", Some(body), &key).await;
    assert_eq!((first.status, again.status), (StatusCode::CREATED, StatusCode::CREATED));
    assert_eq!(first.json()["id"], again.json()["id"]);
    assert_eq!(again.header("idempotent-replayed"), "true");
    assert_eq!(app.count("people").await, 1);
}

#[tokio::test]
async fn a_deleted_person_waits_in_the_trash_can_be_restored_and_is_purged_after_30_days() {
    let app = TestApp::new().await;
    let ada = caller(&app, "Acme").await;
    let id = create(&app, &ada, json!({"first_name": "Ada"})).await.json()["id"].clone();
    let path = format!("/api/v1/people/{id}");

    assert_eq!(call(&app, &ada, Method::DELETE, &path, None, &[]).await.status, StatusCode::NO_CONTENT);
    assert_eq!(call(&app, &ada, Method::GET, "/api/v1/people", None, &[]).await.json()["count"], 0);
    let trash = call(&app, &ada, Method::GET, "/api/v1/people?trash=true", None, &[]).await.json();
    assert_eq!(trash["data"][0]["id"], id);

    let restored = call(&app, &ada, Method::POST, &format!("{path}/restore"), None, &[]).await;
    assert_eq!(restored.status, StatusCode::OK);
    assert!(restored.json()["deleted_at"].is_null());

    call(&app, &ada, Method::DELETE, &path, None, &[]).await;
    assert_eq!(rapport::person::purge_trash(app.db()).await.unwrap(), 0, "a fresh deletion is kept");
    let long_ago = chrono::Utc::now() - chrono::Duration::days(31);
    app.db()
        .write(move |tx| {
            Box::pin(async move {
                rapport_db::sql!(tx.exec(), c => sqlx::query("UPDATE people SET deleted_at = $1").bind(long_ago).execute(c).await.map(|_| ()))
                    .map_err(rapport_db::DbError::from)
            })
        })
        .await
        .unwrap();
    let late = call(&app, &ada, Method::POST, &format!("{path}/restore"), None, &[]).await;
    assert_eq!(late.error_code(), "trash_expired");
    assert_eq!(rapport::person::purge_trash(app.db()).await.unwrap(), 1);
    assert_eq!(call(&app, &ada, Method::GET, &path, None, &[]).await.status, StatusCode::NOT_FOUND);
    let kinds =
        ["created", "deleted", "restored", "purged"].map(|k| format!("domain_events WHERE kind = 'person.{k}'"));
    for kind in kinds {
        assert!(app.count(&kind).await >= 1, "{kind}");
    }
}

#[tokio::test]
async fn pages_follow_the_cursor_newest_first_and_filter_by_lifecycle_stage() {
    let app = TestApp::new().await;
    let ada = caller(&app, "Acme").await;
    for n in 0..5 {
        let stage = if n % 2 == 0 { "lead" } else { "customer" };
        create(&app, &ada, json!({"first_name": format!("P{n}"), "lifecycle_stage": stage})).await;
    }
    let first = call(&app, &ada, Method::GET, "/api/v1/people?limit=2", None, &[]).await.json();
    assert_eq!(first["count"], 5);
    let names =
        |page: &Value| page["data"].as_array().unwrap().iter().map(|p| p["first_name"].clone()).collect::<Vec<_>>();
    assert_eq!(names(&first), [json!("P4"), json!("P3")]);
    let second = call(
        &app,
        &ada,
        Method::GET,
        &format!("/api/v1/people?limit=2&cursor={}", first["next"].as_str().unwrap()),
        None,
        &[],
    )
    .await
    .json();
    assert_eq!(names(&second), [json!("P2"), json!("P1")]);
    let leads = call(&app, &ada, Method::GET, "/api/v1/people?lifecycle_stage=lead", None, &[]).await.json();
    assert_eq!((leads["count"].clone(), names(&leads).len()), (json!(3), 3));
    assert!(leads["next"].is_null());
}

#[tokio::test]
async fn lists_filter_by_tag_and_owner_together() {
    let app = TestApp::new().await;
    let ada = caller(&app, "Acme").await;
    create(&app, &ada, json!({"first_name": "Owned VIP", "tags": ["vip"], "owner": ada.owner})).await;
    create(&app, &ada, json!({"first_name": "Unowned VIP", "tags": ["vip", "press"]})).await;
    create(&app, &ada, json!({"first_name": "Owned", "owner": ada.owner})).await;
    let vips = call(&app, &ada, Method::GET, "/api/v1/people?tag=vip", None, &[]).await.json();
    assert_eq!(vips["count"], 2);
    let path = format!("/api/v1/people?tag=vip&owner={}", ada.owner);
    let owned = call(&app, &ada, Method::GET, &path, None, &[]).await.json();
    assert_eq!((owned["count"].clone(), owned["data"][0]["first_name"].clone()), (json!(1), json!("Owned VIP")));
}

#[tokio::test]
async fn another_workspace_gets_the_same_404_as_for_a_missing_person() {
    let app = TestApp::new().await;
    let ada = caller(&app, "Acme").await;
    let eve = caller(&app, "Globex").await;
    let id = create(&app, &ada, json!({"first_name": "Ada"})).await.json()["id"].clone();
    let path = format!("/api/v1/people/{id}");
    let missing = call(&app, &eve, Method::GET, "/api/v1/people/999999", None, &[]).await;
    for (method, body) in
        [(Method::GET, None), (Method::PATCH, Some(json!({"first_name": "Eve"}))), (Method::DELETE, None)]
    {
        let response = call(&app, &eve, method.clone(), &path, body, &[]).await;
        assert_eq!((response.status, response.json()), (missing.status, missing.json()), "{method}");
    }
    assert_eq!(call(&app, &eve, Method::GET, "/api/v1/people", None, &[]).await.json()["count"], 0);
    assert_eq!(call(&app, &ada, Method::GET, &path, None, &[]).await.json()["first_name"], "Ada");
}

#[tokio::test]
async fn a_read_only_token_cannot_create_people() {
    let app = TestApp::new().await;
    let created = app.with_workspace("Acme", "owner@acme.example").await;
    let token = identity::create_token(
        app.db(),
        created.workspace_id,
        created.owner_id,
        "ro",
        vec![Scope::parse("people:read").unwrap()],
        None,
    )
    .await
    .unwrap();
    let reader = Caller { token: token.secret.expose().clone(), owner: created.owner_id.get() };
    assert_eq!(create(&app, &reader, json!({"first_name": "Ada"})).await.status, StatusCode::FORBIDDEN);
    assert_eq!(call(&app, &reader, Method::GET, "/api/v1/people", None, &[]).await.status, StatusCode::OK);
}

#[tokio::test]
async fn every_people_route_is_in_the_openapi_document() {
    let app = TestApp::new().await;
    let document = app.get("/api/v1/openapi.json").await.json();
    for (path, method) in [
        ("/api/v1/people", "get"),
        ("/api/v1/people", "post"),
        ("/api/v1/people/{id}", "get"),
        ("/api/v1/people/{id}", "patch"),
        ("/api/v1/people/{id}", "delete"),
        ("/api/v1/people/{id}/restore", "post"),
        ("/api/v1/people/fields", "get"),
        ("/api/v1/people/{id}/timeline", "get"),
    ] {
        assert!(document["paths"][path][method].is_object(), "{method} {path} is not documented");
    }
}

#[tokio::test]
async fn the_timeline_shows_each_change_newest_first_a_page_at_a_time() {
    let app = TestApp::new().await;
    let ada = caller(&app, "Acme").await;
    let eve = caller(&app, "Globex").await;
    let id = create(&app, &ada, json!({"first_name": "Ada"})).await.json()["id"].clone();
    let path = format!("/api/v1/people/{id}");
    call(&app, &ada, Method::PATCH, &path, Some(json!({"address": {"city": "London"}})), &[]).await;
    call(&app, &ada, Method::DELETE, &path, None, &[]).await;

    let first = call(&app, &ada, Method::GET, &format!("{path}/timeline?limit=2"), None, &[]).await.json();
    let kinds = |page: &Value| page["data"].as_array().unwrap().iter().map(|e| e["kind"].clone()).collect::<Vec<_>>();
    assert_eq!(kinds(&first), [json!("person.deleted"), json!("person.updated")]);
    assert_eq!(first["data"][1]["changes"], json!([{"field": "address.city", "old": null, "new": "London"}]));
    let rest =
        call(&app, &ada, Method::GET, &format!("{path}/timeline?limit=2&cursor={}", first["next"]), None, &[]).await;
    assert_eq!(kinds(&rest.json()), [json!("person.created")]);
    assert!(rest.json()["next"].is_null());

    let foreign = call(&app, &eve, Method::GET, &format!("{path}/timeline"), None, &[]).await;
    assert_eq!(foreign.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_people_pages_list_and_show_a_person_of_the_callers_workspace_only() {
    let app = TestApp::new().await;
    let ada = caller(&app, "Acme").await;
    let eve = caller(&app, "Globex").await;
    let body = json!({"first_name": "Ada", "last_name": "Lovelace", "email": "ada@example.com", "address": {"city": "London"}});
    let id = create(&app, &ada, body).await.json()["id"].clone();
    let list = call(&app, &ada, Method::GET, "/people", None, &[]).await;
    assert_eq!(list.status, StatusCode::OK);
    assert!(list.text().contains("Ada Lovelace") && list.text().contains("ada@example.com"), "{}", list.text());
    let detail = call(&app, &ada, Method::GET, &format!("/people/{id}"), None, &[]).await;
    assert!(detail.text().contains("London"), "{}", detail.text());
    assert!(!call(&app, &eve, Method::GET, "/people", None, &[]).await.text().contains("Ada Lovelace"));
    assert_eq!(call(&app, &eve, Method::GET, &format!("/people/{id}"), None, &[]).await.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_create_form_shows_an_invalid_phone_inline_and_saves_once_it_is_fixed() {
    let app = TestApp::new().await;
    app.with_workspace("Acme", "owner@acme.example").await;
    let login =
        app.post_form("/login", &[("email", "owner@acme.example"), ("password", "correct horse battery")]).await;
    let cookie = login.header("set-cookie").split(';').next().unwrap().to_owned();
    let form = app.request(Request::get("/people/new").header("cookie", &cookie).body(Body::empty()).unwrap()).await;
    let csrf = form.text().split("name=\"csrf_token\" value=\"").nth(1).unwrap().split('"').next().unwrap().to_owned();

    let fields = [("csrf_token", csrf.as_str()), ("first_name", "Ada"), ("phone", "12")];
    let invalid = app.post_form_as(&cookie, "/people/new", &fields).await;
    assert_eq!(invalid.status, StatusCode::UNPROCESSABLE_ENTITY);
    let html = invalid.text();
    assert!(html.contains("id=\"phone-error\"") && html.contains("value=\"Ada\""), "{html}");
    assert_eq!(app.count("people").await, 0);

    let fields = [("csrf_token", csrf.as_str()), ("first_name", "Ada"), ("phone", "+44 20 7946 0958")];
    let saved = app.post_form_as(&cookie, "/people/new", &fields).await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.text());
    assert!(saved.header("location").starts_with("/people/"));
    let forged = app.post_form_as(&cookie, "/people/new", &[("csrf_token", "forged"), ("first_name", "Eve")]).await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    assert_eq!(app.count("people").await, 1);
}

#[tokio::test]
async fn every_change_to_a_person_is_in_the_audit_trail_with_old_and_new_values() {
    let app = TestApp::new().await;
    let ada = caller(&app, "Acme").await;
    let created = create(&app, &ada, json!({"first_name": "Ada", "last_name": "Lovelace"})).await;
    let id = created.json()["id"].as_i64().unwrap();
    let path = format!("/api/v1/people/{id}");
    let patched = call(&app, &ada, Method::PATCH, &path, Some(json!({"last_name": "King"})), &[]).await;
    assert_eq!(patched.status, StatusCode::OK, "{}", patched.text());
    assert_eq!(call(&app, &ada, Method::DELETE, &path, None, &[]).await.status, StatusCode::NO_CONTENT);

    let trail = call(&app, &ada, Method::GET, &format!("/api/v1/audit?entity=person&entity_id={id}"), None, &[]).await;
    assert_eq!(trail.status, StatusCode::OK, "{}", trail.text());
    let rows = trail.json()["items"].as_array().unwrap().clone();
    let actions: Vec<&str> = rows.iter().map(|r| r["action"].as_str().unwrap()).collect();
    assert_eq!(actions, ["delete", "update", "create"]);
    let change = &rows[1]["changes"][0];
    assert_eq!(
        (change["field"].as_str(), change["old"].as_str(), change["new"].as_str()),
        (Some("last_name"), Some("Lovelace"), Some("King"))
    );
    assert!(rows[0]["actor"].as_str().unwrap().starts_with("token:"), "{}", rows[0]);
}
