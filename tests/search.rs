//! Search across people and companies, on SQLite or on PostgreSQL when
//! `RAPPORT_TEST_DATABASE_URL` is set: typos, prefixes, substrings, diacritics, emails, phone
//! digits, tags and company names find their records, ranked and highlighted; the index follows
//! every write in its transaction (update, trash, restore) and forgets words no record holds;
//! hidden fields neither find nor show a record, reach and workspaces bound what is found; the
//! page highlights matches; an index emptied (an upgrade from before search) fills itself again.

#![allow(clippy::unwrap_used)]

mod util;

use axum::http::{Method, StatusCode};
use rapport::access::{self, FieldRule, Name};
use rapport::identity::{self, Grant};
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
    raw.bytes().map(|b| if b.is_ascii_alphanumeric() { (b as char).to_string() } else { format!("%{b:02X}") }).collect()
}

impl Workspace {
    async fn create(&self, object: &str, body: Value) -> i64 {
        let created = self.app.call(&self.owner, Method::POST, &format!("/api/v1/{object}"), Some(body)).await;
        assert_eq!(created.status, StatusCode::CREATED, "{}", created.text());
        created.json()["id"].as_i64().unwrap()
    }

    async fn search_as(&self, token: &str, q: &str) -> Value {
        let response = self.app.call(token, Method::GET, &format!("/api/v1/search?q={}", encoded(q)), None).await;
        assert_eq!(response.status, StatusCode::OK, "{q}: {}", response.text());
        response.json()
    }

    async fn search(&self, q: &str) -> Value {
        self.search_as(&self.owner, q).await
    }

    /// The titles of a search's results, best first.
    async fn titles(&self, q: &str) -> Vec<String> {
        self.search(q).await["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|hit| hit["title"]["text"].as_str().unwrap_or_default().to_owned())
            .collect()
    }

    async fn people(&self) {
        let people = [
            json!({"first_name": "John", "last_name": "Smith", "email": "john.smith@example.com",
                   "phone": "+44 20 7946 0123", "tags": ["vip"]}),
            json!({"first_name": "Jane", "last_name": "Smithers", "email": "jane@smithers.example"}),
            json!({"first_name": "Jonas", "last_name": "Schmidt", "email": "jonas@schmidt.example"}),
            json!({"first_name": "Zoë", "last_name": "Müller", "email": "zoe@mueller.example", "tags": ["berlin"]}),
            json!({"first_name": "Mary", "last_name": "Jones", "email": "mary@jones.example"}),
        ];
        for person in people {
            self.create("people", person).await;
        }
        self.create("companies", json!({"name": "Smithfield Foods", "domain": "smithfield.example"})).await;
    }
}

#[tokio::test]
async fn a_misspelt_name_finds_the_person_ranked_first_and_highlighted() {
    let ws = workspace().await;
    ws.people().await;

    let found = ws.search("jon smyth").await;
    let first = &found["data"][0];
    assert_eq!((first["object"].as_str(), first["title"]["text"].as_str()), (Some("person"), Some("John Smith")));
    assert_eq!(first["title"]["ranges"], json!([[0, 4], [5, 10]]), "{first}");
    assert!(first["url"].as_str().unwrap().starts_with("/api/v1/people/"));

    assert_eq!(ws.titles("jhon").await[0], "John Smith", "a swap of letters is one typo");
    assert_eq!(ws.titles("Jones").await[0], "Mary Jones", "what was typed outranks a correction");
}

#[tokio::test]
async fn prefixes_substrings_diacritics_emails_phones_tags_and_company_names_match() {
    let ws = workspace().await;
    ws.people().await;

    let smi = ws.titles("smi").await;
    for name in ["John Smith", "Jane Smithers", "Smithfield Foods"] {
        assert!(smi.contains(&name.to_owned()), "prefix: {smi:?}");
    }
    assert!(ws.titles("ither").await.contains(&"Jane Smithers".to_owned()), "a substring matches");
    assert_eq!(ws.titles("muller").await, vec!["Zoë Müller"], "diacritics fold");
    let zoe = &ws.search("ZOE").await["data"][0];
    assert_eq!(zoe["title"]["ranges"], json!([[0, 3]]), "the mark covers the original letters: {zoe}");

    let by_email = ws.search("john.smith@example").await;
    assert_eq!(by_email["data"][0]["title"]["text"], "John Smith");
    assert_eq!(by_email["data"][0]["subtitle"]["field"], "email", "{by_email}");
    assert_eq!(ws.titles("7946 0123").await, vec!["John Smith"], "phone digits in pieces");
    assert_eq!(ws.titles("vip").await, vec!["John Smith"], "tags");
    let company = ws.search("smithfield").await;
    assert_eq!(company["data"][0]["object"], "company", "{company}");
    let companies_only = ws.app.call(&ws.owner, Method::GET, "/api/v1/search?q=smith&object=companies", None).await;
    let objects: Vec<Value> =
        companies_only.json()["data"].as_array().unwrap().iter().map(|h| h["object"].clone()).collect();
    assert_eq!(objects, vec![json!("company")]);
    assert_eq!(ws.titles("jo").await.len(), 3, "a short query expands to the words it begins: John, Jonas, Jones");
    assert!(ws.titles("qqqq").await.is_empty());
}

#[tokio::test]
async fn the_index_follows_every_write_and_forgets_words_no_record_holds() {
    let ws = workspace().await;
    let id = ws.create("people", json!({"first_name": "Grace", "last_name": "Hopper"})).await;
    let path = format!("/api/v1/people/{id}");
    assert_eq!(ws.titles("hopper").await, vec!["Grace Hopper"]);

    let renamed = ws.app.call(&ws.owner, Method::PATCH, &path, Some(json!({"last_name": "Brewster"}))).await;
    assert_eq!(renamed.status, StatusCode::OK, "{}", renamed.text());
    assert!(ws.titles("hopper").await.is_empty(), "the old name is gone");
    assert!(ws.titles("hoper").await.is_empty(), "and no longer corrects a typo");
    assert_eq!(ws.titles("brewstr").await, vec!["Grace Brewster"], "the new name corrects one");

    ws.app.call(&ws.owner, Method::DELETE, &path, None).await;
    assert!(ws.titles("grace").await.is_empty(), "the trash is not searched");
    let restored = ws.app.call(&ws.owner, Method::POST, &format!("{path}/restore"), None).await;
    assert_eq!(restored.status, StatusCode::OK, "{}", restored.text());
    assert_eq!(ws.titles("grace").await, vec!["Grace Brewster"]);
    assert!(ws.app.count_in("search_terms", ws.created.workspace_id).await > 0);
    ws.app.call(&ws.owner, Method::DELETE, &path, None).await;
    assert_eq!(ws.app.count_in("search_terms", ws.created.workspace_id).await, 0, "no record holds any word");
}

#[tokio::test]
async fn hidden_fields_neither_find_nor_show_a_record_and_reach_and_workspaces_bound_the_results() {
    let ws = workspace().await;
    ws.people().await;
    let admin = identity::token_principal(ws.app.db(), &ws.owner).await.unwrap();
    let member_id = ws.app.add_member(ws.created.workspace_id, "member@acme.example", "member").await;
    let member = ws.app.token_for(&ws.created, member_id).await;
    access::set_field_rule(ws.app.db(), &admin, ("member", "person", "email"), Some(FieldRule::Hidden), None)
        .await
        .unwrap();
    let hidden = ws.search_as(&member, "john.smith@example").await;
    assert!(!hidden.to_string().contains("john.smith"), "a hidden email finds nothing: {hidden}");
    let by_name = ws.search_as(&member, "john smith").await;
    assert_eq!(by_name["data"][0]["title"]["text"], "John Smith");
    assert!(!by_name.to_string().contains("example.com"), "and shows no email: {by_name}");

    let reader_id = ws.app.add_member(ws.created.workspace_id, "reader@acme.example", "member").await;
    let reader = ws.app.token_for(&ws.created, reader_id).await;
    let role = access::create_role(
        ws.app.db(),
        &admin,
        Name::parse("Own readers").unwrap(),
        vec![Grant::parse("people:read:own").unwrap()],
        None,
    )
    .await
    .unwrap();
    access::assign_role(ws.app.db(), &admin, reader_id, Some(role), None).await.unwrap();
    ws.create("people", json!({"first_name": "Johnny", "last_name": "Smithson", "owner": reader_id.get()})).await;
    let own = ws.search_as(&reader, "smith").await;
    let titles: Vec<&str> =
        own["data"].as_array().unwrap().iter().map(|h| h["title"]["text"].as_str().unwrap()).collect();
    assert_eq!(titles, vec!["Johnny Smithson"], "only their own people, and no companies: {own}");

    let other = ws.app.with_workspace("Other", "owner@other.example").await;
    let other_owner = ws.app.token_for(&other, other.owner_id).await;
    let elsewhere = ws.search_as(&other_owner, "smith").await;
    assert_eq!(elsewhere["data"], json!([]), "another workspace finds nothing");
}

#[tokio::test]
async fn bad_queries_are_refused_with_the_field_named() {
    let ws = workspace().await;
    for path in ["/api/v1/search?q=%20-%20", "/api/v1/search?q=a&limit=0", "/api/v1/search?q=a&object=deals"] {
        let refused = ws.app.call(&ws.owner, Method::GET, path, None).await;
        assert_eq!(
            (refused.status, refused.error_code().as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, "validation_failed"),
            "{path}"
        );
    }
    let missing = ws.app.call(&ws.owner, Method::GET, "/api/v1/search", None).await;
    assert!(missing.status.is_client_error(), "{}", missing.text());
    let anonymous = ws.app.get("/api/v1/search?q=smith").await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn the_search_page_highlights_matches_and_links_each_record() {
    let ws = workspace().await;
    ws.people().await;
    let (cookie, _) = ws.app.sign_in("owner@acme.example").await;
    let page = ws.app.get_as(&cookie, "/search?q=jon+smyth").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text());
    let html = page.text();
    assert!(html.contains("<mark>John</mark> <mark>Smith</mark>"), "{html}");
    assert!(html.contains("href=\"/people/"), "results open their record");
    let home = ws.app.get_as(&cookie, "/").await.text();
    assert!(home.contains("action=\"/search\""), "every page has the search box");
    let empty = ws.app.get_as(&cookie, "/search?q=%2D%2D").await;
    assert_eq!(empty.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(empty.text().contains("must contain a letter or a digit"));
}

#[tokio::test]
async fn an_emptied_index_fills_itself_again_from_the_records() {
    let ws = workspace().await;
    ws.people().await;
    for table in ["search_documents", "search_terms", "search_term_variants"] {
        ws.app.execute(&format!("DELETE FROM {table}")).await;
    }
    if ws.app.db().backend() == rapport_db::Backend::Sqlite {
        ws.app.execute("DELETE FROM search_words").await;
    }
    assert!(ws.titles("smith").await.is_empty());
    rapport::jobs::prepare(ws.app.db()).await.unwrap();
    assert!(ws.app.run_pending_jobs().await >= 1);
    assert_eq!(ws.titles("jon smyth").await[0], "John Smith");
    assert_eq!(ws.app.count_in("search_documents", ws.created.workspace_id).await, 6);
}
