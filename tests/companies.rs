//! Companies over the JSON API and the pages, on SQLite or on PostgreSQL when
//! `RAPPORT_TEST_DATABASE_URL` is set: validation, domain normalisation, ETag and If-Match,
//! idempotent creates, the trash, lists, links between people and companies on both
//! timelines, field rules and tenant isolation; the pages' create and edit forms (inline
//! errors, custom fields, a stale edit refused) and the list page's builder and saved views.

#![allow(clippy::unwrap_used)]

mod util;

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};
use util::{TestApp, TestResponse};

struct Caller {
    token: String,
    workspace: rapport::workspace::Created,
}

async fn caller(app: &TestApp, name: &str) -> Caller {
    let workspace = app.with_workspace(name, &format!("owner@{}.example", name.to_lowercase())).await;
    let token = app.token_for(&workspace, workspace.owner_id).await;
    Caller { token, workspace }
}

impl Caller {
    async fn call(&self, app: &TestApp, method: Method, path: &str, body: Option<Value>) -> TestResponse {
        app.call(&self.token, method, path, body).await
    }

    async fn company(&self, app: &TestApp, body: Value) -> Value {
        let created = self.call(app, Method::POST, "/api/v1/companies", Some(body)).await;
        assert_eq!(created.status, StatusCode::CREATED, "{}", created.text());
        created.json()["id"].clone()
    }

    async fn person(&self, app: &TestApp, first_name: &str) -> Value {
        let created = self.call(app, Method::POST, "/api/v1/people", Some(json!({"first_name": first_name}))).await;
        assert_eq!(created.status, StatusCode::CREATED, "{}", created.text());
        created.json()["id"].clone()
    }
}

#[tokio::test]
async fn creating_a_company_normalises_its_domain_and_contacts_and_records_a_created_event() {
    let app = TestApp::new().await;
    let acme = caller(&app, "Acme").await;
    let body = json!({
        "name": " Initech ", "domain": "https://www.Initech.example/about", "phone": "(415) 555-0132",
        "email": "Sales@Initech.example", "address": {"city": "Austin", "region": "TX", "country": "us"},
        "industry": "Software", "employees": 120, "lifecycle_stage": "customer", "tags": ["b2b", "B2B"],
        "external_id": "acct-1"
    });
    let created = acme.call(&app, Method::POST, "/api/v1/companies", Some(body)).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text());
    let company = created.json();
    assert_eq!(company["name"], "Initech");
    assert_eq!(company["domain"], "initech.example");
    assert_eq!(company["phone"], "+14155550132");
    assert_eq!(company["email"], "Sales@initech.example");
    assert_eq!(company["address"]["country"], "US");
    assert_eq!(company["tags"], json!(["b2b"]));
    assert_eq!(created.header("etag"), "\"1\"");
    assert_eq!(app.count("domain_events WHERE kind = 'company.created'").await, 1);
    assert_eq!(app.count("audit_rows WHERE entity = 'company'").await, 1);
}

#[tokio::test]
async fn a_company_without_a_name_or_with_bad_fields_is_refused_naming_each_and_nothing_is_saved() {
    let app = TestApp::new().await;
    let acme = caller(&app, "Acme").await;
    let body = json!({"domain": "not a domain", "employees": -3, "phone": "12", "lifecycle_stage": "king"});
    let refused = acme.call(&app, Method::POST, "/api/v1/companies", Some(body)).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    let fields = refused.json()["error"]["fields"].clone();
    for field in ["name", "domain", "employees", "phone", "lifecycle_stage"] {
        assert!(fields.get(field).is_some(), "{field} missing from {fields}");
    }
    acme.company(&app, json!({"name": "Initech", "external_id": "acct-1"})).await;
    let taken = acme
        .call(&app, Method::POST, "/api/v1/companies", Some(json!({"name": "Other", "external_id": "acct-1"})))
        .await;
    assert_eq!(taken.json()["error"]["fields"]["external_id"][0], "is taken by another record");
    assert_eq!(app.count("companies").await, 1);
}

#[tokio::test]
async fn a_stale_if_match_is_refused_and_a_retried_create_makes_one_company() {
    let app = TestApp::new().await;
    let acme = caller(&app, "Acme").await;
    let id = acme.company(&app, json!({"name": "Initech"})).await;
    let path = format!("/api/v1/companies/{id}");
    let changed = acme.call(&app, Method::PATCH, &path, Some(json!({"industry": "Software"}))).await;
    assert_eq!(changed.header("etag"), "\"2\"");
    let stale = app
        .request(
            axum::http::Request::patch(&path)
                .header("authorization", format!("Bearer {}", acme.token))
                .header("content-type", "application/json")
                .header("if-match", "\"1\"")
                .body(axum::body::Body::from(json!({"industry": "Paper"}).to_string()))
                .unwrap(),
        )
        .await;
    assert_eq!(stale.status, StatusCode::PRECONDITION_FAILED);
    assert_eq!(acme.call(&app, Method::GET, &path, None).await.json()["industry"], "Software");

    let retried = || {
        axum::http::Request::post("/api/v1/companies")
            .header("authorization", format!("Bearer {}", acme.token))
            .header("content-type", "application/json")
            .header("idempotency-key", "k-1")
            .body(axum::body::Body::from(json!({"name": "Globex"}).to_string()))
            .unwrap()
    };
    let first = app.request(retried()).await;
    let second = app.request(retried()).await;
    assert_eq!((first.status, second.status), (StatusCode::CREATED, StatusCode::CREATED));
    assert_eq!(second.header("idempotent-replayed"), "true");
    assert_eq!(first.json()["id"], second.json()["id"]);
    assert_eq!(app.count("companies WHERE name = 'Globex'").await, 1);
}

#[tokio::test]
async fn a_deleted_company_waits_in_the_trash_and_lists_filter_by_domain_and_tag() {
    let app = TestApp::new().await;
    let acme = caller(&app, "Acme").await;
    let initech = acme.company(&app, json!({"name": "Initech", "domain": "initech.example", "tags": ["b2b"]})).await;
    acme.company(&app, json!({"name": "Globex", "domain": "globex.example"})).await;
    let by_domain = acme.call(&app, Method::GET, "/api/v1/companies?domain=WWW.Initech.example", None).await.json();
    assert_eq!((by_domain["count"].clone(), by_domain["data"][0]["id"].clone()), (json!(1), initech.clone()));
    let by_tag = acme.call(&app, Method::GET, "/api/v1/companies?tag=b2b", None).await.json();
    assert_eq!(by_tag["count"], 1);

    let path = format!("/api/v1/companies/{initech}");
    assert_eq!(acme.call(&app, Method::DELETE, &path, None).await.status, StatusCode::NO_CONTENT);
    assert_eq!(acme.call(&app, Method::GET, "/api/v1/companies", None).await.json()["count"], 1);
    let trash = acme.call(&app, Method::GET, "/api/v1/companies?trash=true", None).await.json();
    assert_eq!(trash["data"][0]["id"], initech);
    let restored = acme.call(&app, Method::POST, &format!("{path}/restore"), None).await;
    assert!(restored.json()["deleted_at"].is_null(), "{}", restored.text());
    assert_eq!(rapport::company::purge_trash(app.db()).await.unwrap(), 0);
}

#[tokio::test]
async fn linking_a_person_to_a_company_shows_on_both_sides_and_on_both_timelines() {
    let app = TestApp::new().await;
    let acme = caller(&app, "Acme").await;
    let company = acme.company(&app, json!({"name": "Initech"})).await;
    let ada = acme.person(&app, "Ada").await;
    let link = format!("/api/v1/companies/{company}/people/{ada}");

    let linked = acme.call(&app, Method::PUT, &link, Some(json!({"title": "CTO"}))).await;
    assert_eq!(linked.status, StatusCode::NO_CONTENT, "{}", linked.text());
    let people = acme.call(&app, Method::GET, &format!("/api/v1/companies/{company}/people"), None).await.json();
    assert_eq!(
        (people["data"][0]["person_name"].clone(), people["data"][0]["title"].clone()),
        (json!("Ada"), json!("CTO"))
    );
    let companies = acme.call(&app, Method::GET, &format!("/api/v1/people/{ada}/companies"), None).await.json();
    assert_eq!(companies["data"][0]["company_name"], "Initech");

    acme.call(&app, Method::PUT, &link, Some(json!({"title": "CEO"}))).await;
    acme.call(&app, Method::PUT, &link, Some(json!({"title": "CEO"}))).await;
    assert_eq!(app.count("company_people").await, 1);
    let timeline = acme.call(&app, Method::GET, &format!("/api/v1/people/{ada}/timeline"), None).await.json();
    let field = format!("companies.{company}");
    let link_changes: Vec<&Value> =
        timeline["data"].as_array().unwrap().iter().filter(|e| e["changes"][0]["field"] == field.as_str()).collect();
    assert_eq!(link_changes.len(), 2, "linked, then retitled; the repeat changed nothing: {timeline}");
    assert_eq!(link_changes[0]["changes"][0]["new"]["title"], "CEO");
    let company_timeline =
        acme.call(&app, Method::GET, &format!("/api/v1/companies/{company}/timeline"), None).await.json();
    assert_eq!(company_timeline["data"][0]["changes"][0]["field"], format!("people.{ada}"));

    assert_eq!(acme.call(&app, Method::DELETE, &link, None).await.status, StatusCode::NO_CONTENT);
    assert_eq!(acme.call(&app, Method::DELETE, &link, None).await.status, StatusCode::NOT_FOUND);
    assert_eq!(app.count("company_people").await, 0);
}

#[tokio::test]
async fn another_workspaces_person_cannot_be_linked_and_its_company_answers_404() {
    let app = TestApp::new().await;
    let acme = caller(&app, "Acme").await;
    let globex = caller(&app, "Globex").await;
    let company = acme.company(&app, json!({"name": "Initech"})).await;
    let stranger = globex.person(&app, "Eve").await;
    let refused = acme.call(&app, Method::PUT, &format!("/api/v1/companies/{company}/people/{stranger}"), None).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", refused.text());
    assert_eq!(app.count("company_people").await, 0);
    for path in [
        format!("/api/v1/companies/{company}"),
        format!("/api/v1/companies/{company}/people"),
        format!("/companies/{company}"),
    ] {
        assert_eq!(globex.call(&app, Method::GET, &path, None).await.status, StatusCode::NOT_FOUND, "{path}");
    }
}

#[tokio::test]
async fn a_viewer_reads_companies_but_cannot_change_them_and_a_hidden_field_is_absent() {
    let app = TestApp::new().await;
    let acme = caller(&app, "Acme").await;
    let company = acme.company(&app, json!({"name": "Initech", "industry": "Software"})).await;
    let viewer = app.add_member(acme.workspace.workspace_id, "viewer@acme.example", "viewer").await;
    let token = app.token_for(&acme.workspace, viewer).await;
    let read = app.call(&token, Method::GET, &format!("/api/v1/companies/{company}"), None).await;
    assert_eq!(read.json()["industry"], "Software");
    let write =
        app.call(&token, Method::PATCH, &format!("/api/v1/companies/{company}"), Some(json!({"name": "X"}))).await;
    assert_eq!(write.status, StatusCode::FORBIDDEN);

    let owner = rapport::identity::token_principal(app.db(), &acme.token).await.unwrap();
    let rule = Some(rapport::access::FieldRule::Hidden);
    rapport::access::set_field_rule(app.db(), &owner, ("viewer", "company", "industry"), rule, None).await.unwrap();
    let hidden = app.call(&token, Method::GET, &format!("/api/v1/companies/{company}"), None).await.json();
    assert!(hidden.get("industry").is_none(), "{hidden}");
    let listed = app.call(&token, Method::GET, "/api/v1/companies", None).await.json();
    assert!(listed["data"][0].get("industry").is_none(), "{listed}");
}

#[tokio::test]
async fn the_company_pages_list_show_and_create_with_inline_errors() {
    let app = TestApp::new().await;
    let acme = caller(&app, "Acme").await;
    let company = acme.company(&app, json!({"name": "Initech", "domain": "initech.example"})).await;
    let ada = acme.person(&app, "Ada").await;
    acme.call(&app, Method::PUT, &format!("/api/v1/companies/{company}/people/{ada}"), Some(json!({"title": "CTO"})))
        .await;

    let (cookie, csrf) = app.sign_in("owner@acme.example").await;
    let list = app.get_as(&cookie, "/companies").await;
    assert!(list.text().contains("Initech") && list.text().contains("initech.example"), "{}", list.text());
    let detail = app.get_as(&cookie, &format!("/companies/{company}")).await.text();
    assert!(detail.contains("Ada") && detail.contains("CTO"), "{detail}");

    let invalid = app.post_form_as(&cookie, "/companies/new", &[("csrf_token", &csrf), ("domain", "nope")]).await;
    assert_eq!(invalid.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(invalid.text().contains("id=\"name-error\"") && invalid.text().contains("value=\"nope\""));
    let saved = app.post_form_as(&cookie, "/companies/new", &[("csrf_token", &csrf), ("name", "Globex")]).await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.text());
    assert_eq!(app.count("companies").await, 2);
}

impl Caller {
    /// Defines a select custom field `tier` (gold, silver) on companies.
    async fn tier_field(&self, app: &TestApp) {
        let spec = json!({"object": "company", "key": "tier", "label": "Tier", "kind": "select", "options": ["gold", "silver"]});
        let defined = self.call(app, Method::POST, "/api/v1/custom-fields", Some(spec)).await;
        assert_eq!(defined.status, StatusCode::CREATED, "{}", defined.text());
    }
}

/// The value of the hidden `version` input of an edit form.
fn form_version(html: &str) -> String {
    html.split("name=\"version\" value=\"").nth(1).unwrap().split('"').next().unwrap().to_owned()
}

#[tokio::test]
async fn the_create_form_shows_an_invalid_custom_value_inline_saves_nothing_then_saves_a_valid_one() {
    let app = TestApp::new().await;
    let acme = caller(&app, "Acme").await;
    acme.tier_field(&app).await;
    let (cookie, csrf) = app.sign_in("owner@acme.example").await;
    let form = app.get_as(&cookie, "/companies/new").await.text();
    for input in ["name=\"name\"", "name=\"lifecycle_stage\"", "name=\"custom.tier\"", ">silver<"] {
        assert!(form.contains(input), "the form has {input}: {form}");
    }

    let fields = [("csrf_token", csrf.as_str()), ("name", "Initech"), ("email", "nope"), ("custom.tier", "bronze")];
    let invalid = app.post_form_as(&cookie, "/companies/new", &fields).await;
    assert_eq!(invalid.status, StatusCode::UNPROCESSABLE_ENTITY);
    let html = invalid.text();
    assert!(html.contains("id=\"email-error\"") && html.contains("id=\"custom.tier-error\""), "{html}");
    assert!(html.contains("must be one of gold, silver") && html.contains("value=\"Initech\""), "{html}");
    assert_eq!(app.count("companies").await, 0, "nothing saved");

    let fields =
        [("csrf_token", csrf.as_str()), ("name", "Initech"), ("lifecycle_stage", "customer"), ("custom.tier", "gold")];
    let saved = app.post_form_as(&cookie, "/companies/new", &fields).await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.text());
    let id = saved.header("location").trim_start_matches("/companies/").to_owned();
    let company = acme.call(&app, Method::GET, &format!("/api/v1/companies/{id}"), None).await.json();
    assert_eq!((company["tier"].as_str(), company["lifecycle_stage"].as_str()), (Some("gold"), Some("customer")));
    let detail = app.get_as(&cookie, saved.header("location")).await.text();
    assert!(detail.contains("<dt>Tier</dt><dd>gold</dd>"), "the detail page lists the custom field: {detail}");
    assert!(detail.contains(&format!("/companies/{id}/edit")), "the owner may edit: {detail}");
}

#[tokio::test]
async fn the_edit_form_saves_a_change_and_refuses_a_stale_one_with_a_clear_message() {
    let app = TestApp::new().await;
    let acme = caller(&app, "Acme").await;
    acme.tier_field(&app).await;
    let id = acme.company(&app, json!({"name": "Initech", "email": "sales@initech.example", "tier": "gold"})).await;
    let (cookie, csrf) = app.sign_in("owner@acme.example").await;
    let edit = format!("/companies/{id}/edit");

    let form = app.get_as(&cookie, &edit).await.text();
    assert!(
        form.contains("value=\"sales@initech.example\"") && form.contains("<option value=\"gold\" selected>"),
        "{form}"
    );
    let version = form_version(&form);
    let fields = [
        ("csrf_token", csrf.as_str()),
        ("version", &version),
        ("name", "Initech Corp"),
        ("email", "sales@initech.example"),
        ("custom.tier", "silver"),
    ];
    let saved = app.post_form_as(&cookie, &edit, &fields).await;
    assert_eq!((saved.status, saved.header("location")), (StatusCode::SEE_OTHER, format!("/companies/{id}").as_str()));
    let company = acme.call(&app, Method::GET, &format!("/api/v1/companies/{id}"), None).await.json();
    assert_eq!((company["name"].as_str(), company["tier"].as_str()), (Some("Initech Corp"), Some("silver")));
    assert_eq!(company["email"], "sales@initech.example", "an unchanged field stays");

    let opened = form_version(&app.get_as(&cookie, &edit).await.text());
    let meanwhile =
        acme.call(&app, Method::PATCH, &format!("/api/v1/companies/{id}"), Some(json!({"industry": "Paper"}))).await;
    assert_eq!(meanwhile.status, StatusCode::OK);
    let fields = [("csrf_token", csrf.as_str()), ("version", &opened), ("name", "Lost Update Ltd")];
    let stale = app.post_form_as(&cookie, &edit, &fields).await;
    assert_eq!(stale.status, StatusCode::PRECONDITION_FAILED);
    assert!(
        stale.text().contains("Someone changed this record") && stale.text().contains("value=\"Lost Update Ltd\""),
        "{}",
        stale.text()
    );
    let after = acme.call(&app, Method::GET, &format!("/api/v1/companies/{id}"), None).await.json();
    assert_eq!((after["name"].as_str(), after["industry"].as_str()), (Some("Initech Corp"), Some("Paper")));
}

#[tokio::test]
async fn the_list_page_filters_by_a_custom_field_shows_chosen_columns_and_saves_the_view() {
    let app = TestApp::new().await;
    let acme = caller(&app, "Acme").await;
    acme.tier_field(&app).await;
    acme.company(&app, json!({"name": "Initech", "domain": "initech.example", "tier": "gold"})).await;
    acme.company(&app, json!({"name": "Globex", "domain": "globex.example", "tier": "silver"})).await;
    let (cookie, csrf) = app.sign_in("owner@acme.example").await;

    let all = app.get_as(&cookie, "/companies").await.text();
    assert!(all.contains("(2)") && all.contains("Initech") && all.contains("Globex"), "{all}");
    assert!(all.contains("<option value=\"tier\">Tier</option>"), "the builder offers the custom field: {all}");
    let filtered = app.get_as(&cookie, "/companies?f0=tier&o0=is&v0=gold&columns=domain,tier&sort=name").await;
    assert_eq!(filtered.status, StatusCode::OK, "{}", filtered.text());
    let html = filtered.text();
    assert!(html.contains("(1)") && html.contains("Initech") && !html.contains("Globex"), "{html}");
    assert!(html.contains("<th scope=\"col\">Tier</th>") && html.contains("<td>gold</td>"), "{html}");
    let bad = app.get_as(&cookie, "/companies?f0=tier&o0=gt&v0=gold").await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.text().contains("The filter needs a fix"), "{}", bad.text());

    let filter = json!({"field": "tier", "op": "is", "value": "gold"}).to_string();
    let view = [
        ("csrf_token", csrf.as_str()),
        ("name", "Gold"),
        ("filter", &filter),
        ("sort", "name"),
        ("columns", "domain,tier"),
    ];
    let saved = app.post_form_as(&cookie, "/companies/views", &view).await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.text());
    assert!(saved.header("location").starts_with("/companies?view="), "{}", saved.header("location"));
    let reopened = app.get_as(&cookie, saved.header("location")).await.text();
    assert!(
        reopened.contains("Initech") && !reopened.contains("Globex") && reopened.contains("<td>gold</td>"),
        "{reopened}"
    );
    assert!(reopened.contains(">Gold</a>"), "the saved view is listed: {reopened}");
    let people =
        app.get_as(&cookie, &format!("/people?{}", saved.header("location").trim_start_matches("/companies?"))).await;
    assert_eq!(people.status, StatusCode::NOT_FOUND, "a companies view does not open on the people list");
}
