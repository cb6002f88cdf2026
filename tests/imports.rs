//! Imports through the API and the job that runs them: a file is uploaded and its columns
//! suggested, a dry run reports what would be refused and writes nothing, the import writes
//! every good row (with its audit row and search document) and reports every bad one by row and
//! column; create refuses existing people, upsert updates them; an import interrupted after a
//! batch resumes with no row lost or doubled; undo erases what was created and puts back what
//! was changed; permissions and field rules are checked before anything runs; other workspaces
//! see nothing.

#![allow(clippy::unwrap_used)]

mod util;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use rapport::access::{self, FieldRule};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;
use util::{BOUNDARY, TestApp, TestResponse, multipart};

struct Shop {
    app: TestApp,
    created: rapport::workspace::Created,
    owner: String,
}

/// Rows per batch: a handful of rows takes several.
const BATCH: usize = 2;

async fn shop() -> Shop {
    let app = TestApp::configured(|config| config.imports.batch_rows = BATCH).await;
    let created = app.with_workspace("Acme", "owner@example.com").await;
    let owner = app.token_for(&created, created.owner_id).await;
    Shop { app, created, owner }
}

const PEOPLE: &str = "First Name,Last Name,E-mail,Phone Number,Birthday,Plan,Tags\n\
    Ada,Lovelace,ada@example.com,+44 20 7946 0001,1815-12-10,gold,vip;early\n\
    Grace,Hopper,grace@example.com,,1906-12-09,silver,\n\
    Bad,Email,not-an-email,,,,\n\
    Alan,Turing,alan@example.com,12,,,\n\
    \"Hedy\",\"Lamarr, Markey\",hedy@example.com,,1914-11-09,,\"film\"\n";

impl Shop {
    async fn upload_as(&self, token: &str, name: &str, bytes: &[u8]) -> TestResponse {
        let request = Request::post("/api/v1/imports")
            .header("authorization", format!("Bearer {token}"))
            .header("content-type", format!("multipart/form-data; boundary={BOUNDARY}"))
            .body(Body::from(multipart(&[("object", "people")], name, "text/csv", bytes)))
            .unwrap();
        self.app.request(request).await
    }

    async fn upload(&self, name: &str, bytes: &[u8]) -> Value {
        let uploaded = self.upload_as(&self.owner, name, bytes).await;
        assert_eq!(uploaded.status, StatusCode::CREATED, "{}", uploaded.text());
        uploaded.json()
    }

    async fn start_as(&self, token: &str, id: i64, body: Value) -> TestResponse {
        self.app.call(token, Method::POST, &format!("/api/v1/imports/{id}/start"), Some(body)).await
    }

    /// Starts a run, runs the jobs, and answers the finished import.
    async fn run(&self, id: i64, body: Value) -> Value {
        let started = self.start_as(&self.owner, id, body).await;
        assert_eq!(started.status, StatusCode::ACCEPTED, "{}", started.text());
        self.app.run_pending_jobs().await;
        self.read(&format!("/api/v1/imports/{id}")).await
    }

    async fn read(&self, path: &str) -> Value {
        let read = self.app.call(&self.owner, Method::GET, path, None).await;
        assert_eq!(read.status, StatusCode::OK, "{}", read.text());
        read.json()
    }

    async fn people(&self) -> Vec<Value> {
        self.read("/api/v1/people?limit=100").await["data"].as_array().unwrap().clone()
    }

    async fn person_by_email(&self, email: &str) -> Option<Value> {
        self.people().await.into_iter().find(|p| p["email"] == email)
    }

    async fn report(&self, id: i64) -> String {
        let report = self.app.call(&self.owner, Method::GET, &format!("/api/v1/imports/{id}/errors"), None).await;
        assert_eq!(report.status, StatusCode::OK);
        assert!(report.header("content-type").starts_with("text/csv"), "{}", report.header("content-type"));
        report.text()
    }
}

fn mapping(import: &Value, overrides: &[(&str, Value)]) -> Value {
    let mut columns = import["mapping"].as_array().unwrap().clone();
    for column in &mut columns {
        if let Some((_, field)) = overrides.iter().find(|(name, _)| column["column"] == *name) {
            column["field"] = field.clone();
            if field.as_str() == Some("plan") {
                column["create"] = json!(true);
            }
        }
    }
    Value::Array(columns)
}

#[tokio::test]
async fn a_file_is_suggested_a_mapping_dry_run_then_imported_with_every_bad_row_reported() {
    let shop = shop().await;
    let import = shop.upload("people.csv", PEOPLE.as_bytes()).await;
    assert_eq!(import["status"], "draft");
    assert_eq!(import["format"], "csv");
    assert_eq!(import["rows"], 5);
    let suggested: Vec<(String, Value)> = import["mapping"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["column"].as_str().unwrap().to_owned(), c["field"].clone()))
        .collect();
    for (column, field) in [
        ("First Name", "first_name"),
        ("Last Name", "last_name"),
        ("E-mail", "email"),
        ("Phone Number", "phone"),
        ("Birthday", "birthday"),
        ("Tags", "tags"),
    ] {
        assert!(suggested.contains(&(column.to_owned(), json!(field))), "{column} → {field} in {suggested:?}");
    }
    assert!(suggested.contains(&("Plan".to_owned(), Value::Null)), "{suggested:?}");
    let id = import["id"].as_i64().unwrap();
    let preview = shop.read(&format!("/api/v1/imports/{id}/preview?rows=2")).await;
    assert_eq!(preview["rows"][0]["cells"][0], "Ada");
    assert_eq!(preview["rows"][1]["row"], 2);

    let with_plan = mapping(&import, &[("Plan", json!("plan"))]);
    let dry = shop.run(id, json!({"mapping": with_plan, "dry_run": true})).await;
    assert_eq!(dry["status"], "done", "{dry}");
    assert_eq!(dry["dry_run"], true);
    assert_eq!(dry["counts"], json!({"created": 3, "updated": 0, "unchanged": 0, "rejected": 2}), "{dry}");
    assert!(shop.people().await.is_empty(), "a dry run writes no one");
    let report = shop.report(id).await;
    assert!(report.starts_with("row,column,reason\n"), "{report}");
    assert!(report.contains("3,E-mail,"), "{report}");
    assert!(report.contains("4,Phone Number,"), "{report}");

    let done = shop.run(id, json!({"mapping": with_plan})).await;
    assert_eq!(done["status"], "done", "{done}");
    assert_eq!(done["dry_run"], false);
    assert_eq!(done["rows_done"], 5);
    assert_eq!(done["counts"], json!({"created": 3, "updated": 0, "unchanged": 0, "rejected": 2}), "{done}");
    let ada = shop.person_by_email("ada@example.com").await.unwrap();
    assert_eq!(ada["first_name"], "Ada");
    assert_eq!(ada["phone"], "+442079460001");
    assert_eq!(ada["birthday"], "1815-12-10");
    assert_eq!(ada["tags"], json!(["vip", "early"]));
    assert_eq!(ada["plan"], "gold", "a column mapped onto a created field: {ada}");
    let hedy = shop.person_by_email("hedy@example.com").await.unwrap();
    assert_eq!(hedy["last_name"], "Lamarr, Markey");
    let report = shop.report(id).await;
    assert_eq!(report.lines().count(), 3, "the dry run's lines were replaced: {report}");

    let found = shop.read("/api/v1/search?q=lovelace").await;
    assert_eq!(found["data"][0]["id"], ada["id"], "imported people are searchable: {found}");
    let audited: i64 = rapport_db::sql!(shop.app.db().exec(), c => sqlx::query_scalar(
        "SELECT count(*) FROM audit_rows WHERE workspace_id = $1 AND entity = 'person' AND action = 'create'"
    ).bind(shop.created.workspace_id).fetch_one(c).await)
    .unwrap();
    assert_eq!(audited, 3);
    let chain = rapport::audit::verify(shop.app.db(), Some(shop.created.workspace_id)).await.unwrap();
    assert!(chain.problems.is_empty(), "rows appended in a batch chain as single ones do: {:?}", chain.problems);
    let timeline = shop.read(&format!("/api/v1/people/{}/timeline", ada["id"])).await;
    assert!(!timeline["data"].as_array().unwrap().is_empty(), "{timeline}");

    let again = shop.start_as(&shop.owner, id, json!({})).await;
    assert_eq!(again.status, StatusCode::CONFLICT, "{}", again.text());
    let second = shop.upload("people.csv", PEOPLE.as_bytes()).await;
    let second_id = second["id"].as_i64().unwrap();
    let refused = shop.run(second_id, json!({})).await;
    assert_eq!(refused["counts"]["created"], 0, "{refused}");
    assert_eq!(refused["counts"]["rejected"], 5, "{refused}");
    assert!(shop.report(second_id).await.contains("already has this email"));
    assert_eq!(shop.people().await.len(), 3);
}

#[tokio::test]
async fn upsert_updates_matched_people_and_undo_takes_the_import_back() {
    let shop = shop().await;
    let made = shop
        .app
        .call(
            &shop.owner,
            Method::POST,
            "/api/v1/people",
            Some(json!({"first_name": "Ada", "external_id": "crm-1", "address": {"city": "London"}, "source": "fair"})),
        )
        .await;
    assert_eq!(made.status, StatusCode::CREATED, "{}", made.text());
    let ada = made.json();
    let file = "Id,City,First,Email\ncrm-1,Paris,,\ncrm-2,Berlin,Grace,grace@example.com\ncrm-2,Rome,,\n\
        crm-3,Oslo,,not-an-email\n";
    let import = shop.upload("crm.csv", file.as_bytes()).await;
    let id = import["id"].as_i64().unwrap();
    let columns = json!([
        {"column": "Id", "field": "external_id"},
        {"column": "City", "field": "address.city"},
        {"column": "First", "field": "first_name"},
        {"column": "Email", "field": "email"},
    ]);
    let done = shop.run(id, json!({"mapping": columns, "mode": "upsert", "match": "external_id"})).await;
    assert_eq!(done["counts"], json!({"created": 1, "updated": 2, "unchanged": 0, "rejected": 1}), "{done}");
    assert!(shop.report(id).await.contains("4,Email,"), "{}", shop.report(id).await);
    let after = shop.read(&format!("/api/v1/people/{}", ada["id"])).await;
    assert_eq!(after["address"]["city"], "Paris");
    assert_eq!(after["first_name"], "Ada", "an empty cell leaves the field as it was");
    assert_eq!(after["source"], "fair");
    let grace = shop.person_by_email("grace@example.com").await.unwrap();
    assert_eq!(grace["address"]["city"], "Rome", "a repeated key meets what its earlier row wrote: {grace}");

    let undo = shop.app.call(&shop.owner, Method::POST, &format!("/api/v1/imports/{id}/undo"), None).await;
    assert_eq!(undo.status, StatusCode::ACCEPTED, "{}", undo.text());
    shop.app.run_pending_jobs().await;
    let undone = shop.read(&format!("/api/v1/imports/{id}")).await;
    assert_eq!(undone["status"], "undone", "{undone}");
    let people = shop.people().await;
    assert_eq!(people.len(), 1, "the created person is gone: {people:?}");
    let restored = shop.read(&format!("/api/v1/people/{}", ada["id"])).await;
    assert_eq!(restored["address"]["city"], "London");
    assert!(shop.read("/api/v1/search?q=grace").await["data"].as_array().unwrap().is_empty());
    let twice = shop.app.call(&shop.owner, Method::POST, &format!("/api/v1/imports/{id}/undo"), None).await;
    assert_eq!(twice.status, StatusCode::CONFLICT);
}

#[tokio::test]
async fn an_interrupted_import_resumes_from_the_first_uncommitted_row() {
    let shop = shop().await;
    let mut file = String::from("first_name,email,external_id\n");
    for n in 1..=7 {
        file.push_str(&format!("P{n},p{n}@example.com,x-{n}\n"));
    }
    let import = shop.upload("seven.csv", file.as_bytes()).await;
    let id = import["id"].as_i64().unwrap();
    let started = shop.start_as(&shop.owner, id, json!({})).await;
    assert_eq!(started.status, StatusCode::ACCEPTED);
    let stop = CancellationToken::new();
    let after_first = stop.clone();
    let ran = rapport::import::run(
        shop.app.db(),
        &shop.app.state.config.data_dir,
        (shop.created.workspace_id, id),
        (BATCH, 1),
        &stop,
        &move |_| after_first.cancel(),
    )
    .await;
    assert!(matches!(ran, Err(rapport::import::ImportError::Interrupted)), "{ran:?}");
    let halfway = shop.read(&format!("/api/v1/imports/{id}")).await;
    assert_eq!(halfway["status"], "running");
    assert_eq!(halfway["rows_done"], 2, "{halfway}");
    assert_eq!(shop.people().await.len(), 2);

    shop.app.run_pending_jobs().await;
    let done = shop.read(&format!("/api/v1/imports/{id}")).await;
    assert_eq!(done["status"], "done", "{done}");
    assert_eq!(done["counts"]["created"], 7);
    let people = shop.people().await;
    let mut ids: Vec<&str> = people.iter().map(|p| p["external_id"].as_str().unwrap()).collect();
    ids.sort_unstable();
    assert_eq!(ids, ["x-1", "x-2", "x-3", "x-4", "x-5", "x-6", "x-7"]);
    assert_eq!(shop.app.count_in("import_records", shop.created.workspace_id).await, 7);
}

#[tokio::test]
async fn roles_and_field_rules_are_checked_before_anything_runs_and_imports_stay_private() {
    let shop = shop().await;
    let viewer_id = shop.app.add_member(shop.created.workspace_id, "viewer@example.com", "viewer").await;
    let viewer = shop.app.token_for(&shop.created, viewer_id).await;
    let refused = shop.upload_as(&viewer, "people.csv", PEOPLE.as_bytes()).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.text());

    let member_id = shop.app.add_member(shop.created.workspace_id, "member@example.com", "member").await;
    let member = shop.app.token_for(&shop.created, member_id).await;
    let owner = rapport::identity::token_principal(shop.app.db(), &shop.owner).await.unwrap();
    access::set_field_rule(shop.app.db(), &owner, ("member", "person", "email"), Some(FieldRule::ReadOnly), None)
        .await
        .unwrap();
    let uploaded = shop.upload_as(&member, "people.csv", PEOPLE.as_bytes()).await;
    assert_eq!(uploaded.status, StatusCode::CREATED, "{}", uploaded.text());
    let id = uploaded.json()["id"].as_i64().unwrap();
    let jobs = shop.app.count("jobs").await;
    let started = shop.start_as(&member, id, json!({})).await;
    assert_eq!(started.status, StatusCode::FORBIDDEN, "{}", started.text());
    assert_eq!(started.error_code(), "field_read_only");
    assert_eq!(shop.app.count("jobs").await, jobs, "nothing was queued");

    let other = shop.app.with_workspace("Other", "other@example.com").await;
    let stranger = shop.app.token_for(&other, other.owner_id).await;
    for path in [format!("/api/v1/imports/{id}"), format!("/api/v1/imports/{id}/errors")] {
        let hidden = shop.app.call(&stranger, Method::GET, &path, None).await;
        assert_eq!(hidden.status, StatusCode::NOT_FOUND, "{path}");
    }
    let listed = shop.app.call(&stranger, Method::GET, "/api/v1/imports", None).await;
    assert!(listed.json()["data"].as_array().unwrap().is_empty());
    let foreign = shop.start_as(&stranger, id, json!({})).await;
    assert_eq!(foreign.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_mapping_or_date_format_that_cannot_work_is_refused_naming_the_problem() {
    let shop = shop().await;
    let import = shop.upload("dates.csv", b"name,born\nAda,03/04/1990\nGrace,05/06/1991\n").await;
    let id = import["id"].as_i64().unwrap();
    let unknown = shop.start_as(&shop.owner, id, json!({"mapping": [{"column": "name", "field": "nickname"}]})).await;
    assert_eq!(unknown.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(unknown.text().contains("nickname is not a field"), "{}", unknown.text());
    let missing =
        shop.start_as(&shop.owner, id, json!({"mapping": [{"column": "surname", "field": "last_name"}]})).await;
    assert!(missing.text().contains("the file has no column"), "{}", missing.text());
    let columns = json!([{"column": "name", "field": "first_name"}, {"column": "born", "field": "birthday"}]);
    let ambiguous = shop.start_as(&shop.owner, id, json!({"mapping": columns})).await;
    assert_eq!(ambiguous.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(ambiguous.text().contains("date_format"), "{}", ambiguous.text());
    let done = shop.run(id, json!({"mapping": columns, "date_format": "dd/mm/yyyy"})).await;
    assert_eq!(done["counts"]["created"], 2, "{done}");
    let people = shop.people().await;
    assert!(people.iter().any(|p| p["birthday"] == "1990-04-03"), "{people:?}");
}

#[tokio::test]
async fn semicolons_and_windows_1252_are_read_as_a_spreadsheet_wrote_them() {
    let shop = shop().await;
    let mut bytes = b"Vorname;Nachname;E-Mail\n".to_vec();
    bytes.extend(b"J\xfcrgen;M\xfcller;jurgen@example.com\n");
    let import = shop.upload("kontakte.csv", &bytes).await;
    let id = import["id"].as_i64().unwrap();
    let columns = json!([
        {"column": "Vorname", "field": "first_name"},
        {"column": "Nachname", "field": "last_name"},
        {"column": "E-Mail", "field": "email"},
    ]);
    let done = shop.run(id, json!({"mapping": columns})).await;
    assert_eq!(done["counts"]["created"], 1, "{done}");
    let jurgen = shop.person_by_email("jurgen@example.com").await.unwrap();
    assert_eq!(jurgen["first_name"], "Jürgen");
    assert_eq!(jurgen["last_name"], "Müller");
}

#[tokio::test]
async fn vcards_import_with_their_emails_phones_address_and_birthday() {
    let shop = shop().await;
    let cards = "BEGIN:VCARD\r\nVERSION:4.0\r\nFN:Simon Perreault\r\nN:Perreault;Simon;;;\r\nBDAY:19700203\r\n\
        ADR;TYPE=work:;Suite D2-630;2875 Laurier;Quebec;QC;G1V 2M2;Canada\r\n\
        TEL;VALUE=uri;TYPE=\"work,voice\";PREF=1:tel:+1-418-656-9254\r\n\
        EMAIL;TYPE=work:simon.perreault@viagenie.ca\r\nEMAIL;TYPE=home:simon@example.com\r\nUID:urn:uuid:simon\r\n\
        END:VCARD\r\nBEGIN:VCARD\r\nVERSION:3.0\r\nN:Berger;Meister\r\nFN:Meister Berger\r\n\
        EMAIL;TYPE=internet:mb@goerlitz.de\r\nEND:VCARD\r\n";
    let import = shop.upload("contacts.vcf", cards.as_bytes()).await;
    assert_eq!(import["format"], "vcard", "{import}");
    assert_eq!(import["rows"], 2);
    let id = import["id"].as_i64().unwrap();
    let done = shop.run(id, json!({})).await;
    assert_eq!(done["counts"]["created"], 2, "the suggested mapping imports the cards: {}", shop.report(id).await);
    let simon = shop.person_by_email("simon.perreault@viagenie.ca").await.unwrap();
    assert_eq!(simon["last_name"], "Perreault");
    assert_eq!(simon["birthday"], "1970-02-03");
    assert_eq!(simon["phone"], "+14186569254");
    assert_eq!(simon["address"]["city"], "Quebec", "{simon}");
    let emails: Vec<&str> = simon["emails"].as_array().unwrap().iter().map(|e| e["value"].as_str().unwrap()).collect();
    assert_eq!(emails, ["simon.perreault@viagenie.ca", "simon@example.com"]);
    assert!(shop.person_by_email("mb@goerlitz.de").await.is_some());
}
