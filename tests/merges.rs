//! Reviewing and merging duplicates end to end, on SQLite and (with `RAPPORT_TEST_DATABASE_URL`)
//! PostgreSQL: the queue lists what a scan found; a merge gives the survivor the chosen values
//! and every email, phone and tag of both, moves notes, tasks, attachments and company links,
//! trashes the other marked merged and is audited; its undo brings everything back (keeping
//! edits made since) and returns the pair to the queue; a bulk merge above a score runs as a
//! job; reach, other workspaces and the 30 days are respected.

#![allow(clippy::unwrap_used)]

mod util;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use rapport_core::WorkspaceId;
use serde_json::{Value, json};
use util::{BOUNDARY, TestApp, multipart};

struct Shop {
    app: TestApp,
    workspace: WorkspaceId,
    created: rapport::workspace::Created,
    owner: String,
}

async fn shop() -> Shop {
    let app = TestApp::new().await;
    let created = app.with_workspace("Acme", "owner@example.com").await;
    let owner = app.token_for(&created, created.owner_id).await;
    Shop { workspace: created.workspace_id, app, created, owner }
}

impl Shop {
    async fn call(&self, method: Method, path: &str, body: Option<Value>) -> util::TestResponse {
        self.app.call(&self.owner, method, path, body).await
    }

    async fn create(&self, body: Value) -> i64 {
        let created = self.call(Method::POST, "/api/v1/people", Some(body)).await;
        assert_eq!(created.status, StatusCode::CREATED, "{}", created.text());
        created.json()["id"].as_i64().unwrap()
    }

    /// Different people for the model to learn what non-duplicates look like.
    async fn crowd(&self, people: usize) {
        for n in 0..people {
            let first = ["Mary", "Peter", "Anna", "James"][n % 4];
            let person = json!({
                "first_name": first, "last_name": format!("Crowd{n}"), "email": format!("crowd{n}@example.com"),
                "address": {"street": format!("{n} Mill Lane"), "postal_code": format!("{}", 5000 + n)}
            });
            self.create(person).await;
        }
    }

    async fn person(&self, id: i64) -> Value {
        let found = self.call(Method::GET, &format!("/api/v1/people/{id}"), None).await;
        assert_eq!(found.status, StatusCode::OK, "{}", found.text());
        found.json()
    }

    async fn scan(&self) {
        rapport::dedup::scan(self.app.db(), self.workspace, rapport::dedup::DEFAULT_THRESHOLD).await.unwrap();
    }

    async fn queue(&self) -> Vec<(i64, i64)> {
        let page = self.call(Method::GET, "/api/v1/duplicates", None).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.text());
        let pairs = page.json()["pairs"].as_array().unwrap().clone();
        pairs.iter().map(|p| (p["a"]["id"].as_i64().unwrap(), p["b"]["id"].as_i64().unwrap())).collect()
    }

    async fn ids(&self, path: &str, key: &str) -> Vec<i64> {
        let found = self.call(Method::GET, path, None).await;
        assert_eq!(found.status, StatusCode::OK, "{path}: {}", found.text());
        let json = found.json();
        let items =
            if key.is_empty() { json.as_array().unwrap().clone() } else { json[key].as_array().unwrap().clone() };
        items.iter().map(|item| item["id"].as_i64().unwrap()).collect()
    }
}

fn robert() -> Value {
    json!({
        "first_name": "Robert", "last_name": "Fairweather", "email": "robert@fairweather.example",
        "birthday": "1971-05-14", "tags": ["vip"],
        "address": {"street": "12 Tullaroop Street", "city": "St James", "postal_code": "4011"}
    })
}

fn bob() -> Value {
    json!({
        "first_name": "Bob", "last_name": "Fairweather", "email": "bob.f@mail.example", "phone": "+61 7 3123 4567",
        "birthday": "1971-05-14", "tags": ["newsletter"], "external_id": "shop-77", "lifecycle_stage": "customer",
        "address": {"street": "12 Tullaroop St", "city": "St James", "postal_code": "4011"}
    })
}

fn png() -> Vec<u8> {
    let mut bytes = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0".to_vec();
    bytes.extend((0..=255_u8).cycle().take(500));
    bytes
}

#[tokio::test]
async fn a_merge_moves_everything_to_the_survivor_and_its_undo_puts_it_back() {
    let shop = shop().await;
    shop.crowd(40).await;
    let robert = shop.create(robert()).await;
    let bob = shop.create(bob()).await;
    let note = shop
        .call(Method::POST, &format!("/api/v1/people/{bob}/notes"), Some(json!({"body": "<p>Asked about returns</p>"})))
        .await;
    assert_eq!(note.status, StatusCode::CREATED, "{}", note.text());
    let note = note.json()["id"].as_i64().unwrap();
    let task =
        shop.call(Method::POST, &format!("/api/v1/people/{bob}/tasks"), Some(json!({"title": "Call back"}))).await;
    assert_eq!(task.status, StatusCode::CREATED, "{}", task.text());
    let upload = Request::post(format!("/api/v1/people/{bob}/attachments"))
        .header("authorization", format!("Bearer {}", shop.owner))
        .header("content-type", format!("multipart/form-data; boundary={BOUNDARY}"))
        .body(Body::from(multipart(&[], "receipt.png", "image/png", &png())))
        .unwrap();
    let attached = shop.app.request(upload).await;
    assert_eq!(attached.status, StatusCode::CREATED, "{}", attached.text());
    let company = shop.call(Method::POST, "/api/v1/companies", Some(json!({"name": "Fairweather Farms"}))).await;
    let company = company.json()["id"].as_i64().unwrap();
    let linked = shop
        .call(Method::PUT, &format!("/api/v1/companies/{company}/people/{bob}"), Some(json!({"title": "Owner"})))
        .await;
    assert_eq!(linked.status, StatusCode::NO_CONTENT, "{}", linked.text());

    shop.scan().await;
    assert_eq!(shop.queue().await, [(robert, bob)]);
    let compared = shop.call(Method::GET, &format!("/api/v1/duplicates/{robert}/{bob}"), None).await;
    assert_eq!(compared.status, StatusCode::OK, "{}", compared.text());
    let compared = compared.json();
    assert!(compared["score"].as_f64().unwrap() >= 0.9, "{compared}");
    let field = |key: &str| compared["fields"].as_array().unwrap().iter().find(|f| f["key"] == key).unwrap().clone();
    assert_eq!(field("first_name")["b"], "Bob");
    assert_eq!(field("external_id")["default"], "merged", "the survivor has none, so the other's fills the gap");
    assert_eq!(compared["related_b"]["notes"], 1);
    assert_eq!(compared["related_b"]["companies"], 1);

    let merged = shop
        .call(
            Method::POST,
            "/api/v1/merges",
            Some(json!({"survivor": robert, "merged": bob, "fields": {"email": "merged"}})),
        )
        .await;
    assert_eq!(merged.status, StatusCode::CREATED, "{}", merged.text());
    let merge = merged.json();
    let merge_id = merge["id"].as_i64().unwrap();
    assert_eq!(merge["moved"]["notes"], json!([note]));
    assert_eq!(merge["moved"]["companies"], json!([company]));
    assert!(merge["score"].as_f64().is_some(), "the queued pair is kept: {merge}");

    let survivor = shop.person(robert).await;
    assert_eq!(survivor["first_name"], "Robert");
    assert_eq!(survivor["email"], "bob.f@mail.example", "the primary email chosen from the other");
    let emails: Vec<&str> =
        survivor["emails"].as_array().unwrap().iter().map(|e| e["value"].as_str().unwrap()).collect();
    assert_eq!(emails, ["robert@fairweather.example", "bob.f@mail.example"]);
    assert_eq!(survivor["phone"], "+61731234567");
    assert_eq!(survivor["tags"], json!(["vip", "newsletter"]));
    assert_eq!(survivor["external_id"], "shop-77", "the external id moves with the person");
    assert_eq!(survivor["lifecycle_stage"], "customer");
    let gone = shop.person(bob).await;
    assert!(gone["deleted_at"].is_string(), "{gone}");
    assert_eq!(gone["merged_into"], robert);
    assert!(gone["external_id"].is_null());
    assert_eq!(shop.ids(&format!("/api/v1/people/{robert}/notes"), "data").await, [note]);
    assert_eq!(shop.ids(&format!("/api/v1/people/{robert}/tasks"), "data").await.len(), 1);
    assert_eq!(shop.ids(&format!("/api/v1/people/{robert}/attachments"), "data").await.len(), 1);
    let companies = shop.call(Method::GET, &format!("/api/v1/people/{robert}/companies"), None).await;
    assert!(companies.text().contains("Fairweather Farms"), "{}", companies.text());
    assert!(shop.queue().await.is_empty(), "the pair left the queue");
    let restored = shop.call(Method::POST, &format!("/api/v1/people/{bob}/restore"), None).await;
    assert_eq!((restored.status, restored.error_code()), (StatusCode::CONFLICT, "merged".to_owned()));
    let timeline = shop.call(Method::GET, &format!("/api/v1/people/{robert}/timeline"), None).await;
    let kinds: Vec<String> =
        timeline.json()["data"].as_array().unwrap().iter().map(|e| e["kind"].as_str().unwrap().to_owned()).collect();
    assert_eq!(kinds.first().map(String::as_str), Some("person.merged"), "{kinds:?}");
    let found = shop.call(Method::GET, "/api/v1/search?q=bob.f%40mail.example", None).await;
    let hits: Vec<i64> = found.json()["data"].as_array().unwrap().iter().map(|r| r["id"].as_i64().unwrap()).collect();
    assert_eq!(hits, [robert], "search finds the survivor by the merged email");

    // Edited after the merge: the undo keeps that edit.
    let edited =
        shop.call(Method::PATCH, &format!("/api/v1/people/{robert}"), Some(json!({"first_name": "Rob"}))).await;
    assert_eq!(edited.status, StatusCode::OK, "{}", edited.text());
    let undone = shop.call(Method::POST, &format!("/api/v1/merges/{merge_id}/undo"), None).await;
    assert_eq!(undone.status, StatusCode::OK, "{}", undone.text());
    assert!(undone.json()["undone_at"].is_string());
    let survivor = shop.person(robert).await;
    assert_eq!(survivor["first_name"], "Rob");
    assert_eq!(survivor["email"], "robert@fairweather.example");
    assert_eq!(survivor["emails"].as_array().unwrap().len(), 1);
    assert_eq!(survivor["tags"], json!(["vip"]));
    assert!(survivor["external_id"].is_null());
    let back = shop.person(bob).await;
    assert!(back["deleted_at"].is_null() && back.get("merged_into").is_none(), "{back}");
    assert_eq!(back["external_id"], "shop-77");
    assert_eq!(shop.ids(&format!("/api/v1/people/{bob}/notes"), "data").await, [note]);
    assert!(shop.ids(&format!("/api/v1/people/{robert}/notes"), "data").await.is_empty());
    assert_eq!(shop.ids(&format!("/api/v1/people/{bob}/attachments"), "data").await.len(), 1);
    let companies = shop.call(Method::GET, &format!("/api/v1/people/{bob}/companies"), None).await;
    assert!(companies.text().contains("Fairweather Farms"), "{}", companies.text());
    assert_eq!(shop.queue().await, [(robert, bob)], "the pair is back for review");
    let again = shop.call(Method::POST, &format!("/api/v1/merges/{merge_id}/undo"), None).await;
    assert_eq!((again.status, again.error_code()), (StatusCode::CONFLICT, "merge_undone".to_owned()));

    let actions: Vec<String> = {
        let history = shop.call(Method::GET, &format!("/api/v1/people/{bob}/history"), None).await;
        history.json()["items"].as_array().unwrap().iter().map(|r| r["action"].as_str().unwrap().to_owned()).collect()
    };
    assert!(actions.contains(&"merge".to_owned()) && actions.contains(&"restore".to_owned()), "{actions:?}");
}

#[tokio::test]
async fn merges_are_refused_out_of_reach_in_other_workspaces_twice_and_after_30_days() {
    let shop = shop().await;
    let robert = shop.create(robert()).await;
    let bob = shop.create(bob()).await;

    let same = shop.call(Method::POST, "/api/v1/merges", Some(json!({"survivor": robert, "merged": robert}))).await;
    assert_eq!(same.status, StatusCode::UNPROCESSABLE_ENTITY);
    let unknown = shop
        .call(
            Method::POST,
            "/api/v1/merges",
            Some(json!({"survivor": robert, "merged": bob, "fields": {"shoe_size": "merged"}})),
        )
        .await;
    assert_eq!(unknown.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(unknown.text().contains("fields.shoe_size"), "{}", unknown.text());

    let viewer = shop.app.add_member(shop.workspace, "viewer@example.com", "viewer").await;
    let viewer = shop.app.token_for(&shop.created, viewer).await;
    let refused =
        shop.app.call(&viewer, Method::POST, "/api/v1/merges", Some(json!({"survivor": robert, "merged": bob}))).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.text());

    let other = shop.app.with_workspace("Beta", "owner@beta.example").await;
    let beta = shop.app.token_for(&other, other.owner_id).await;
    let stranger =
        shop.app.call(&beta, Method::POST, "/api/v1/merges", Some(json!({"survivor": robert, "merged": bob}))).await;
    assert_eq!(stranger.status, StatusCode::NOT_FOUND);
    let peek = shop.app.call(&beta, Method::GET, &format!("/api/v1/duplicates/{robert}/{bob}"), None).await;
    assert_eq!(peek.status, StatusCode::NOT_FOUND);

    let merged = shop.call(Method::POST, "/api/v1/merges", Some(json!({"survivor": robert, "merged": bob}))).await;
    assert_eq!(merged.status, StatusCode::CREATED, "{}", merged.text());
    let merge = merged.json()["id"].as_i64().unwrap();
    let twice = shop.call(Method::POST, "/api/v1/merges", Some(json!({"survivor": robert, "merged": bob}))).await;
    assert_eq!(twice.status, StatusCode::NOT_FOUND, "a person merged away is no longer live");
    let foreign = shop.app.call(&beta, Method::POST, &format!("/api/v1/merges/{merge}/undo"), None).await;
    assert_eq!(foreign.status, StatusCode::NOT_FOUND);

    shop.app.set_time("UPDATE merges SET merged_at = $1", chrono::Utc::now() - chrono::Duration::days(31)).await;
    let late = shop.call(Method::POST, &format!("/api/v1/merges/{merge}/undo"), None).await;
    assert_eq!((late.status, late.error_code()), (StatusCode::CONFLICT, "merge_expired".to_owned()));
    let shown = shop.call(Method::GET, &format!("/api/v1/merges/{merge}"), None).await;
    assert_eq!(shown.json()["undoable"], false);
}

#[tokio::test]
async fn a_bulk_merge_merges_every_pair_above_the_score_into_the_earlier_person() {
    let shop = shop().await;
    shop.crowd(40).await;
    let originals = [shop.create(robert()).await, shop.create(json!({"first_name": "Elizabeth", "last_name": "Okafor", "email": "liz@okafor.example", "birthday": "1990-01-02"})).await];
    let copies = [shop.create(bob()).await, shop.create(json!({"first_name": "Liz", "last_name": "Okafor", "email": "liz@okafor.example", "birthday": "1990-01-02"})).await];
    shop.scan().await;
    assert_eq!(shop.queue().await.len(), 2, "{:?}", shop.queue().await);

    let started = shop.call(Method::POST, "/api/v1/merges/bulk", Some(json!({"min_score": 0.9}))).await;
    assert_eq!(started.status, StatusCode::ACCEPTED, "{}", started.text());
    let run = started.json()["id"].as_i64().unwrap();
    shop.app.run_pending_jobs().await;
    let done = shop.call(Method::GET, &format!("/api/v1/merges/bulk/{run}"), None).await.json();
    assert_eq!(
        (done["status"].as_str(), done["merged"].as_i64(), done["skipped"].as_i64()),
        (Some("done"), Some(2), Some(0)),
        "{done}"
    );
    for (original, copy) in originals.iter().zip(copies) {
        assert_eq!(shop.person(copy).await["merged_into"], *original);
        assert!(shop.person(*original).await["deleted_at"].is_null());
    }
    assert!(shop.queue().await.is_empty());
    let merges = shop.call(Method::GET, "/api/v1/merges", None).await.json();
    assert_eq!(merges["merges"].as_array().unwrap().len(), 2);
    assert!(merges["merges"].as_array().unwrap().iter().all(|m| m["run"] == run));

    let low = shop.call(Method::POST, "/api/v1/merges/bulk", Some(json!({"min_score": 0.2}))).await;
    assert_eq!(low.status, StatusCode::UNPROCESSABLE_ENTITY, "a bulk merge needs a confident score");
}
