//! Bulk actions on people and companies: each action reaches exactly the selected records
//! (by ids, or everything matching a filter, over several batches), through the records' own
//! use cases, so field rules refuse up front, reach and other workspaces fail records without
//! changing them, a cancel stops the job after its batch, and a job interrupted after one batch
//! finishes on a new server with every record changed exactly once. Each request is in the
//! security log, and the list page offers it.

#![allow(clippy::unwrap_used)]

mod util;

use axum::http::{Method, StatusCode};
use rapport::access::{self, FieldRule};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;
use util::TestApp;

struct Shop {
    app: TestApp,
    created: rapport::workspace::Created,
    owner: String,
}

/// Batches of two, so a handful of records takes several.
const BATCH: i64 = 2;

async fn shop() -> Shop {
    let app = TestApp::configured(|config| config.jobs.bulk_batch_size = BATCH).await;
    let created = app.with_workspace("Acme", "owner@example.com").await;
    let owner = app.token_for(&created, created.owner_id).await;
    Shop { app, created, owner }
}

impl Shop {
    async fn create(&self, token: &str, path: &str, body: Value) -> i64 {
        let created = self.app.call(token, Method::POST, path, Some(body)).await;
        assert_eq!(created.status, StatusCode::CREATED, "{}", created.text());
        created.json()["id"].as_i64().unwrap()
    }

    async fn person(&self, body: Value) -> i64 {
        self.create(&self.owner, "/api/v1/people", body).await
    }

    async fn read(&self, path: &str) -> Value {
        let read = self.app.call(&self.owner, Method::GET, path, None).await;
        assert_eq!(read.status, StatusCode::OK, "{}", read.text());
        read.json()
    }

    async fn member(&self, email: &str, role: &'static str) -> (rapport_core::UserId, String) {
        let id = self.app.add_member(self.created.workspace_id, email, role).await;
        (id, self.app.token_for(&self.created, id).await)
    }

    /// Asks for a bulk action as `token`; answers the queued job.
    async fn ask(&self, token: &str, object: &str, body: Value) -> Value {
        let asked = self.app.call(token, Method::POST, &format!("/api/v1/{object}/bulk"), Some(body)).await;
        assert_eq!(asked.status, StatusCode::ACCEPTED, "{}", asked.text());
        asked.json()
    }

    /// Asks, runs the jobs, and answers the finished job.
    async fn bulk(&self, token: &str, object: &str, body: Value) -> Value {
        let asked = self.ask(token, object, body).await;
        self.app.run_pending_jobs().await;
        self.job(token, &asked).await
    }

    async fn job(&self, token: &str, job: &Value) -> Value {
        let read = self.app.call(token, Method::GET, &format!("/api/v1/bulk/{}", job["id"]), None).await;
        assert_eq!(read.status, StatusCode::OK, "{}", read.text());
        read.json()
    }

    /// How many update rows the audit trail holds for people.
    async fn person_updates(&self) -> i64 {
        rapport_db::sql!(self.app.db().exec(), c => sqlx::query_scalar(
            "SELECT count(*) FROM audit_rows WHERE workspace_id = $1 AND entity = 'person' AND action = 'update'"
        ).bind(self.created.workspace_id).fetch_one(c).await)
        .unwrap()
    }
}

fn tags(record: &Value) -> Vec<String> {
    serde_json::from_value(record["tags"].clone()).unwrap()
}

#[tokio::test]
async fn tagging_people_by_ids_tags_exactly_those_people() {
    let shop = shop().await;
    let ada = shop.person(json!({"first_name": "Ada", "tags": ["math"]})).await;
    let grace = shop.person(json!({"first_name": "Grace"})).await;
    let other = shop.person(json!({"first_name": "Other"})).await;
    let job = shop.bulk(&shop.owner, "people", json!({"action": "add_tag", "value": "vip", "ids": [ada, grace]})).await;
    assert_eq!((job["status"].as_str(), job["total"].as_i64(), job["done"].as_i64()), (Some("done"), Some(2), Some(2)));
    assert_eq!(tags(&shop.read(&format!("/api/v1/people/{ada}")).await), ["math", "vip"]);
    assert_eq!(tags(&shop.read(&format!("/api/v1/people/{grace}")).await), ["vip"]);
    assert!(tags(&shop.read(&format!("/api/v1/people/{other}")).await).is_empty());
    let untag = json!({"action": "remove_tag", "value": "VIP", "ids": [ada]});
    assert_eq!(shop.bulk(&shop.owner, "people", untag).await["done"], 1);
    assert_eq!(tags(&shop.read(&format!("/api/v1/people/{ada}")).await), ["math"], "tags compare without case");
    let history = shop.read(&format!("/api/v1/people/{grace}/history")).await;
    assert!(history.to_string().contains("vip"), "the change is in the person's history: {history}");
}

#[tokio::test]
async fn setting_the_owner_of_everything_matching_a_filter_reaches_each_match_over_several_batches() {
    let shop = shop().await;
    let (seller, _) = shop.member("seller@example.com", "member").await;
    let mut leads = Vec::new();
    for i in 0..5 {
        leads.push(shop.person(json!({"first_name": format!("Lead {i}"), "lifecycle_stage": "lead"})).await);
    }
    let customer = shop.person(json!({"first_name": "Customer", "lifecycle_stage": "customer"})).await;
    // The action takes each record out of the filter (owner is empty): the next batch must
    // neither skip nor repeat a record.
    let filter = json!({"and": [
        {"field": "lifecycle_stage", "op": "is", "value": "lead"},
        {"field": "owner", "op": "is_empty"}
    ]});
    let asked =
        shop.ask(&shop.owner, "people", json!({"action": "set_owner", "value": seller.get(), "filter": filter})).await;
    assert_eq!((asked["status"].as_str(), asked["total"].as_i64()), (Some("queued"), Some(5)), "counted at start");
    let before = shop.person_updates().await;
    shop.app.run_pending_jobs().await;
    let job = shop.job(&shop.owner, &asked).await;
    assert_eq!(
        (job["status"].as_str(), job["done"].as_i64(), job["failed"].as_i64()),
        (Some("done"), Some(5), Some(0))
    );
    for id in &leads {
        assert_eq!(shop.read(&format!("/api/v1/people/{id}")).await["owner"], seller.get());
    }
    assert!(shop.read(&format!("/api/v1/people/{customer}")).await["owner"].is_null());
    assert_eq!(shop.person_updates().await - before, 5, "one audit row per person");
}

#[tokio::test]
async fn setting_a_custom_field_writes_it_and_an_empty_value_clears_it() {
    let shop = shop().await;
    let spec =
        json!({"object": "person", "key": "tier", "label": "Tier", "kind": "select", "options": ["gold", "silver"]});
    let created = shop.app.call(&shop.owner, Method::POST, "/api/v1/custom-fields", Some(spec)).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text());
    let ada = shop.person(json!({"first_name": "Ada"})).await;
    let grace = shop.person(json!({"first_name": "Grace"})).await;
    let set = json!({"action": "set_field", "field": "tier", "value": "gold", "ids": [ada, grace]});
    assert_eq!(shop.bulk(&shop.owner, "people", set).await["done"], 2);
    assert_eq!(shop.read(&format!("/api/v1/people/{grace}")).await["tier"], "gold");
    let wrong = json!({"action": "set_field", "field": "tier", "value": "bronze", "ids": [ada]});
    let job = shop.bulk(&shop.owner, "people", wrong).await;
    assert_eq!((job["failed"].as_i64(), job["errors"][0]["code"].as_str()), (Some(1), Some("invalid")), "{job}");
    let cleared = json!({"action": "set_field", "field": "tier", "value": "", "ids": [ada]});
    assert_eq!(shop.bulk(&shop.owner, "people", cleared).await["done"], 1);
    assert!(shop.read(&format!("/api/v1/people/{ada}")).await.get("tier").is_none_or(Value::is_null));
    let unknown = json!({"action": "set_field", "field": "shoe_size", "value": "9", "ids": [ada]});
    let refused = shop.app.call(&shop.owner, Method::POST, "/api/v1/people/bulk", Some(unknown)).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", refused.text());
}

#[tokio::test]
async fn a_job_whose_filter_stops_applying_fails_with_the_reason_instead_of_retrying() {
    let shop = shop().await;
    let spec = json!({"object": "person", "key": "tier", "kind": "select", "options": ["gold"]});
    let field = shop.app.call(&shop.owner, Method::POST, "/api/v1/custom-fields", Some(spec)).await.json();
    shop.person(json!({"first_name": "Ada", "tier": "gold"})).await;
    let filter = json!({"field": "tier", "op": "is", "value": "gold"});
    let asked = shop.ask(&shop.owner, "people", json!({"action": "add_tag", "value": "vip", "filter": filter})).await;
    let path = format!("/api/v1/custom-fields/{}", field["id"]);
    let retired = shop.app.call(&shop.owner, Method::PATCH, &path, Some(json!({"retired": true}))).await;
    assert_eq!(retired.status, StatusCode::OK, "{}", retired.text());
    shop.app.run_pending_jobs().await;
    let job = shop.job(&shop.owner, &asked).await;
    assert_eq!(job["status"], "failed", "{job}");
    assert!(job["error"].as_str().unwrap().contains("tier"), "the reason names the field: {job}");
}

#[tokio::test]
async fn deleting_by_ids_moves_the_people_to_the_trash() {
    let shop = shop().await;
    let ada = shop.person(json!({"first_name": "Ada"})).await;
    let grace = shop.person(json!({"first_name": "Grace"})).await;
    let kept = shop.person(json!({"first_name": "Kept"})).await;
    let job = shop.bulk(&shop.owner, "people", json!({"action": "delete", "ids": [ada, grace]})).await;
    assert_eq!(job["done"], 2, "{job}");
    let trash = shop.read("/api/v1/people?trash=true").await;
    let trashed: Vec<i64> = trash["data"].as_array().unwrap().iter().map(|p| p["id"].as_i64().unwrap()).collect();
    assert_eq!(trashed.len(), 2);
    assert!(trashed.contains(&ada) && trashed.contains(&grace) && !trashed.contains(&kept));
    let log = shop.read("/api/v1/security-log").await;
    let asked = log["items"].as_array().unwrap().iter().find(|row| row["entity"] == "bulk_job");
    let asked = asked.unwrap_or_else(|| panic!("no bulk row in {log}"));
    assert_eq!(
        (asked["entity_id"].as_i64(), asked["action"].as_str()),
        (job["id"].as_i64(), Some("delete")),
        "{asked}"
    );
}

#[tokio::test]
async fn a_field_the_role_may_not_write_or_an_action_it_may_not_do_is_refused_before_any_job() {
    let shop = shop().await;
    let ada = shop.person(json!({"first_name": "Ada"})).await;
    let (_, member) = shop.member("member@example.com", "member").await;
    let (_, viewer) = shop.member("viewer@example.com", "viewer").await;
    let owner = rapport::identity::token_principal(shop.app.db(), &shop.owner).await.unwrap();
    access::set_field_rule(shop.app.db(), &owner, ("member", "person", "source"), Some(FieldRule::ReadOnly), None)
        .await
        .unwrap();
    let jobs = shop.app.count("bulk_jobs").await;
    let body = json!({"action": "set_field", "field": "source", "value": "fair", "ids": [ada]});
    let refused = shop.app.call(&member, Method::POST, "/api/v1/people/bulk", Some(body)).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.text());
    assert_eq!(refused.error_code(), "field_read_only");
    let tag = json!({"action": "add_tag", "value": "vip", "ids": [ada]});
    let refused = shop.app.call(&viewer, Method::POST, "/api/v1/people/bulk", Some(tag)).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.text());
    let both = json!({"action": "delete", "ids": [ada], "filter": {}});
    let refused = shop.app.call(&shop.owner, Method::POST, "/api/v1/people/bulk", Some(both)).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", refused.text());
    assert_eq!(shop.app.count("bulk_jobs").await, jobs, "no job was stored");
}

#[tokio::test]
async fn ids_of_another_workspace_are_failed_as_not_found_and_left_alone() {
    let shop = shop().await;
    let ours = shop.person(json!({"first_name": "Ours"})).await;
    let other = shop.app.with_workspace("Globex", "owner@globex.example").await;
    let other_token = shop.app.token_for(&other, other.owner_id).await;
    let theirs = shop.create(&other_token, "/api/v1/people", json!({"first_name": "Theirs"})).await;
    let job =
        shop.bulk(&shop.owner, "people", json!({"action": "add_tag", "value": "vip", "ids": [ours, theirs]})).await;
    assert_eq!((job["done"].as_i64(), job["failed"].as_i64()), (Some(1), Some(1)), "{job}");
    assert_eq!(job["errors"][0], json!({"id": theirs, "code": "not_found", "reason": "no such person"}));
    let read = shop.app.call(&other_token, Method::GET, &format!("/api/v1/people/{theirs}"), None).await;
    assert!(tags(&read.json()).is_empty(), "the other workspace's person is untouched");
    let peek = shop.app.call(&other_token, Method::GET, &format!("/api/v1/bulk/{}", job["id"]), None).await;
    assert_eq!(peek.status, StatusCode::NOT_FOUND, "another workspace does not see the job");
}

#[tokio::test]
async fn a_person_outside_the_callers_reach_is_failed_not_changed() {
    let shop = shop().await;
    let (member_id, member) = shop.member("member@example.com", "member").await;
    let own = shop.person(json!({"first_name": "Own", "owner": member_id.get()})).await;
    let foreign = shop.person(json!({"first_name": "Foreign"})).await;
    let job = shop.bulk(&member, "people", json!({"action": "add_tag", "value": "vip", "ids": [own, foreign]})).await;
    assert_eq!((job["done"].as_i64(), job["failed"].as_i64()), (Some(1), Some(1)), "{job}");
    assert_eq!(
        (job["errors"][0]["id"].as_i64(), job["errors"][0]["code"].as_str()),
        (Some(foreign), Some("forbidden"))
    );
    assert!(tags(&shop.read(&format!("/api/v1/people/{foreign}")).await).is_empty());
    assert_eq!(tags(&shop.read(&format!("/api/v1/people/{own}")).await), ["vip"]);
    let (_, colleague) = shop.member("colleague@example.com", "member").await;
    let peek = shop.app.call(&colleague, Method::GET, &format!("/api/v1/bulk/{}", job["id"]), None).await;
    assert_eq!(peek.status, StatusCode::NOT_FOUND, "only the requester or an admin sees a job");
    assert_eq!(shop.job(&shop.owner, &job).await["id"], job["id"], "an admin sees it");
}

#[tokio::test]
async fn a_cancelled_job_stops_after_the_batch_it_is_in() {
    let shop = shop().await;
    for i in 0..6 {
        shop.person(json!({"first_name": format!("P{i}")})).await;
    }
    let asked = shop.ask(&shop.owner, "people", json!({"action": "add_tag", "value": "vip", "filter": {}})).await;
    let job = (shop.created.workspace_id, asked["id"].as_i64().unwrap());
    assert!(rapport::bulk::step(shop.app.db(), job, BATCH, &CancellationToken::new()).await.unwrap());
    let cancelled = shop.app.call(&shop.owner, Method::POST, &format!("/api/v1/bulk/{}/cancel", job.1), None).await;
    assert_eq!(cancelled.status, StatusCode::OK, "{}", cancelled.text());
    shop.app.run_pending_jobs().await;
    let job = shop.job(&shop.owner, &asked).await;
    assert_eq!(
        (job["status"].as_str(), job["done"].as_i64(), job["total"].as_i64()),
        (Some("cancelled"), Some(2), Some(6))
    );
    let vip = shop.read("/api/v1/people?tag=vip").await;
    assert_eq!(vip["data"].as_array().unwrap().len(), 2, "only the first batch was tagged");
}

#[tokio::test]
async fn a_job_interrupted_after_one_batch_finishes_on_a_new_server_changing_each_record_once() {
    let shop = shop().await;
    let mut ids = Vec::new();
    for i in 0..5 {
        ids.push(shop.person(json!({"first_name": format!("P{i}")})).await);
    }
    let asked = shop.ask(&shop.owner, "people", json!({"action": "add_tag", "value": "vip", "filter": {}})).await;
    let before = shop.person_updates().await;
    let job = (shop.created.workspace_id, asked["id"].as_i64().unwrap());
    assert!(rapport::bulk::step(shop.app.db(), job, BATCH, &CancellationToken::new()).await.unwrap());
    assert_eq!(shop.job(&shop.owner, &asked).await["done"], 2, "the first batch's progress is saved");
    let restarted = shop.app.sibling().await;
    restarted.run_pending_jobs().await;
    let job = shop.job(&shop.owner, &asked).await;
    assert_eq!(
        (job["status"].as_str(), job["done"].as_i64(), job["failed"].as_i64()),
        (Some("done"), Some(5), Some(0))
    );
    assert_eq!(shop.person_updates().await - before, 5, "each person changed exactly once");
    for id in ids {
        assert_eq!(tags(&shop.read(&format!("/api/v1/people/{id}")).await), ["vip"]);
    }
}

#[tokio::test]
async fn companies_are_tagged_by_filter_and_deleted_by_ids() {
    let shop = shop().await;
    let acme = shop.create(&shop.owner, "/api/v1/companies", json!({"name": "Acme", "domain": "acme.example"})).await;
    let initech = shop.create(&shop.owner, "/api/v1/companies", json!({"name": "Initech"})).await;
    let globex =
        shop.create(&shop.owner, "/api/v1/companies", json!({"name": "Globex", "domain": "globex.example"})).await;
    let filter = json!({"field": "domain", "op": "is_not_empty"});
    let job =
        shop.bulk(&shop.owner, "companies", json!({"action": "add_tag", "value": "partner", "filter": filter})).await;
    assert_eq!((job["total"].as_i64(), job["done"].as_i64()), (Some(2), Some(2)), "{job}");
    assert_eq!(tags(&shop.read(&format!("/api/v1/companies/{acme}")).await), ["partner"]);
    assert_eq!(tags(&shop.read(&format!("/api/v1/companies/{globex}")).await), ["partner"]);
    assert!(tags(&shop.read(&format!("/api/v1/companies/{initech}")).await).is_empty());
    let job = shop.bulk(&shop.owner, "companies", json!({"action": "delete", "ids": [acme, initech]})).await;
    assert_eq!(job["done"], 2, "{job}");
    assert!(shop.read(&format!("/api/v1/companies/{acme}")).await["deleted_at"].is_string());
    assert!(shop.read(&format!("/api/v1/companies/{globex}")).await["deleted_at"].is_null());
}

#[tokio::test]
async fn an_export_of_a_selection_is_handed_to_one_export_of_those_records() {
    let shop = shop().await;
    let ada = shop.person(json!({"first_name": "Ada"})).await;
    let grace = shop.person(json!({"first_name": "Grace"})).await;
    shop.person(json!({"first_name": "Left out"})).await;
    let job = shop.ask(&shop.owner, "people", json!({"action": "export", "value": "jsonl", "ids": [ada, grace]})).await;
    let export = job["export_id"].as_i64().unwrap_or_else(|| panic!("no export linked: {job}"));
    shop.app.run_pending_jobs().await;
    let export = shop.read(&format!("/api/v1/exports/{export}")).await;
    assert_eq!((export["status"].as_str(), export["rows_done"].as_i64()), (Some("done"), Some(2)), "{export}");
}

#[tokio::test]
async fn the_people_list_offers_the_action_bar_and_its_post_leads_to_the_progress_page() {
    let shop = shop().await;
    let ada = shop.person(json!({"first_name": "Ada"})).await;
    let (cookie, csrf) = shop.app.sign_in("owner@example.com").await;
    let list = shop.app.get_as(&cookie, "/people").await.text();
    assert!(list.contains(&format!("name=\"id.{ada}\"")) && list.contains("action=\"/people/bulk\""), "{list}");
    assert!(list.contains("data-select-all") && list.contains("matching this filter"));
    let id = format!("id.{ada}");
    let fields = [("csrf_token", csrf.as_str()), ("action", "add_tag"), ("value", "vip"), (id.as_str(), "on")];
    let posted = shop.app.post_form_as(&cookie, "/people/bulk", &fields).await;
    assert_eq!(posted.status, StatusCode::SEE_OTHER, "{}", posted.text());
    let progress = posted.header("location").to_owned();
    assert!(progress.starts_with("/bulk/"), "{progress}");
    assert!(
        shop.app.get_as(&cookie, &progress).await.text().contains("http-equiv=\"refresh\""),
        "refreshes while queued"
    );
    shop.app.run_pending_jobs().await;
    let page = shop.app.get_as(&cookie, &progress).await.text();
    assert!(page.contains("1 of 1") && !page.contains("http-equiv=\"refresh\""), "{page}");
    assert_eq!(tags(&shop.read(&format!("/api/v1/people/{ada}")).await), ["vip"]);
}
