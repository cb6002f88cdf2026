//! Exports of the people and companies lists: every format carries the fields back out, CSV
//! cells cannot run as formulas, a hidden field is absent from every format, reach decides the
//! rows, only roles with the export permission may export, the link is the requester's and
//! expires (410) and the sweep removes the file, each export is in the security log, and the
//! pages offer it. Exported vCards are read back with Python's `vobject` when it is installed
//! (`RAPPORT_REQUIRE_VOBJECT=1` makes its absence a failure).

#![allow(clippy::unwrap_used)]

mod util;

use axum::http::{Method, StatusCode};
use rapport::access::{self, FieldRule};
use rapport::identity::{self, Grant};
use serde_json::{Value, json};
use util::{TestApp, TestResponse};

struct Shop {
    app: TestApp,
    created: rapport::workspace::Created,
    owner: String,
}

async fn shop() -> Shop {
    let app = TestApp::new().await;
    let created = app.with_workspace("Acme", "owner@example.com").await;
    let owner = app.token_for(&created, created.owner_id).await;
    Shop { app, created, owner }
}

impl Shop {
    async fn person(&self, body: Value) -> i64 {
        let created = self.app.call(&self.owner, Method::POST, "/api/v1/people", Some(body)).await;
        assert_eq!(created.status, StatusCode::CREATED, "{}", created.text());
        created.json()["id"].as_i64().unwrap()
    }

    /// A member with `role` and their token.
    async fn member(&self, email: &str, role: &'static str) -> (rapport_core::UserId, String) {
        let id = self.app.add_member(self.created.workspace_id, email, role).await;
        (id, self.app.token_for(&self.created, id).await)
    }

    async fn owner_principal(&self) -> identity::Principal {
        identity::token_principal(self.app.db(), &self.owner).await.unwrap()
    }

    /// Asks for an export as `token`, runs the job and answers the finished export.
    async fn export(&self, token: &str, body: Value) -> Value {
        let asked = self.app.call(token, Method::POST, "/api/v1/exports", Some(body)).await;
        assert_eq!(asked.status, StatusCode::ACCEPTED, "{}", asked.text());
        assert_eq!(asked.json()["status"], "queued");
        self.app.run_pending_jobs().await;
        let id = asked.json()["id"].as_i64().unwrap();
        let done = self.app.call(token, Method::GET, &format!("/api/v1/exports/{id}"), None).await;
        assert_eq!(done.status, StatusCode::OK, "{}", done.text());
        let done = done.json();
        assert_eq!(done["status"], "done", "{done}");
        done
    }

    async fn download(&self, token: &str, export: &Value) -> TestResponse {
        let url = export["download_url"].as_str().unwrap_or_else(|| panic!("no download link: {export}"));
        self.app.call(token, Method::GET, url, None).await
    }

    /// The file of a finished export, as its requester downloads it.
    async fn file(&self, token: &str, body: Value) -> Vec<u8> {
        let export = self.export(token, body).await;
        let file = self.download(token, &export).await;
        assert_eq!(file.status, StatusCode::OK, "{}", file.text());
        file.body
    }
}

fn ada() -> Value {
    json!({
        "first_name": "Ada", "last_name": "Lovelace",
        "emails": [{"value": "ada@example.com", "label": "work", "primary": true}, {"value": "ada@home.example", "label": "home"}],
        "phones": [{"value": "+442071234567", "label": "mobile", "primary": true}],
        "birthday": "1815-12-10",
        "address": {"street": "12 St James's Square", "city": "London", "postal_code": "SW1Y 4JH", "country": "GB"},
        "lifecycle_stage": "customer", "tags": ["vip", "math"], "external_id": "crm-1",
        "social": {"x": "https://x.example/ada"}
    })
}

fn csv_rows(bytes: &[u8]) -> (Vec<String>, Vec<Vec<String>>) {
    let mut reader = csv::Reader::from_reader(bytes);
    let header = reader.headers().unwrap().iter().map(str::to_owned).collect();
    let rows = reader.records().map(|r| r.unwrap().iter().map(str::to_owned).collect()).collect();
    (header, rows)
}

fn cell<'a>(header: &[String], row: &'a [String], column: &str) -> &'a str {
    let at = header.iter().position(|h| h == column).unwrap_or_else(|| panic!("no column {column} in {header:?}"));
    &row[at]
}

#[tokio::test]
async fn a_csv_export_carries_every_field_under_its_vocabulary_key() {
    let shop = shop().await;
    let id = shop.person(ada()).await;
    let (header, rows) = csv_rows(&shop.file(&shop.owner, json!({"object": "people", "format": "csv"})).await);
    let vocabulary: Vec<String> = rapport::person::fields().iter().map(|f| f.key.to_owned()).collect();
    assert_eq!(header[0], "id");
    assert_eq!(header[1..], vocabulary[..], "the header is the field vocabulary");
    assert_eq!(rows.len(), 1);
    let row = &rows[0];
    let id = id.to_string();
    let expected = [
        ("id", id.as_str()),
        ("first_name", "Ada"),
        ("last_name", "Lovelace"),
        ("email", "ada@example.com"),
        ("emails", "ada@example.com; ada@home.example"),
        ("birthday", "1815-12-10"),
        ("address.street", "12 St James's Square"),
        ("address.city", "London"),
        ("address.postal_code", "SW1Y 4JH"),
        ("address.country", "GB"),
        ("lifecycle_stage", "customer"),
        ("tags", "vip; math"),
        ("social", "x: https://x.example/ada"),
        ("external_id", "crm-1"),
        ("language", ""),
    ];
    for (column, value) in expected {
        assert_eq!(cell(&header, row, column), value, "column {column}");
    }
    assert_eq!(cell(&header, row, "phone"), "'+442071234567", "a leading + is neutralised like any formula start");
}

#[tokio::test]
async fn csv_cells_that_a_spreadsheet_would_run_are_neutralised() {
    let shop = shop().await;
    for (first, last) in [("=HYPERLINK(\"http://evil.example\")", "+1+1"), ("-2", "@SUM(A1)"), ("Plain", "=1")] {
        shop.person(json!({"first_name": first, "last_name": last})).await;
    }
    let (header, rows) = csv_rows(&shop.file(&shop.owner, json!({"object": "people", "format": "csv"})).await);
    let mut names: Vec<(String, String)> = rows
        .iter()
        .map(|row| (cell(&header, row, "first_name").to_owned(), cell(&header, row, "last_name").to_owned()))
        .collect();
    names.sort();
    for (first, last) in &names {
        for value in [first, last] {
            assert!(value == "Plain" || value.starts_with('\''), "{value:?} could run as a formula");
        }
    }
    assert!(names.contains(&("'=HYPERLINK(\"http://evil.example\")".into(), "'+1+1".into())), "{names:?}");
    assert!(names.contains(&("Plain".into(), "'=1".into())), "{names:?}");
}

#[tokio::test]
async fn a_jsonl_export_holds_one_record_per_line_for_the_filter_only() {
    let shop = shop().await;
    let ada = shop.person(ada()).await;
    shop.person(json!({"first_name": "Grace", "tags": ["navy"]})).await;
    let file = shop.file(&shop.owner, json!({"object": "people", "format": "jsonl", "filter": {"tag": "vip"}})).await;
    let lines: Vec<Value> =
        String::from_utf8(file).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 1, "only the tagged person: {lines:?}");
    assert_eq!((lines[0]["id"].as_i64(), lines[0]["first_name"].as_str()), (Some(ada), Some("Ada")));
    assert_eq!(lines[0]["address"]["city"], "London");
    assert_eq!(lines[0]["emails"][1]["label"], "home");
}

#[tokio::test]
async fn an_xlsx_export_opens_with_its_header_and_rows() {
    use calamine::Reader;
    let shop = shop().await;
    shop.person(ada()).await;
    shop.person(json!({"first_name": "Grace", "last_name": "Hopper"})).await;
    let file = shop.file(&shop.owner, json!({"object": "people", "format": "xlsx"})).await;
    let mut workbook = calamine::Xlsx::new(std::io::Cursor::new(file)).unwrap();
    let range = workbook.worksheet_range("People").unwrap();
    let rows: Vec<Vec<String>> = range.rows().map(|row| row.iter().map(|c| c.to_string()).collect()).collect();
    assert_eq!(rows.len(), 3, "a header and two people: {rows:?}");
    let header = &rows[0];
    assert_eq!(&header[..3], ["id", "first_name", "last_name"]);
    let names: Vec<&str> = rows[1..].iter().map(|row| cell(header, row, "first_name")).collect();
    assert!(names.contains(&"Ada") && names.contains(&"Grace"), "{names:?}");
    let ada = rows[1..].iter().find(|row| cell(header, row, "first_name") == "Ada").unwrap();
    assert_eq!(cell(header, ada, "phone"), "+442071234567", "XLSX cells are text, never formulas");
    assert_eq!(cell(header, ada, "address.city"), "London");
}

#[tokio::test]
async fn companies_export_with_their_own_vocabulary_and_not_as_vcards() {
    let shop = shop().await;
    let body = json!({"name": "Analytical Engines", "domain": "engines.example", "employees": 12});
    let created = shop.app.call(&shop.owner, Method::POST, "/api/v1/companies", Some(body)).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text());
    let (header, rows) = csv_rows(&shop.file(&shop.owner, json!({"object": "companies", "format": "csv"})).await);
    assert_eq!(&header[..3], ["id", "name", "domain"]);
    assert_eq!((cell(&header, &rows[0], "name"), cell(&header, &rows[0], "employees")), ("Analytical Engines", "12"));
    let refused = shop
        .app
        .call(&shop.owner, Method::POST, "/api/v1/exports", Some(json!({"object": "companies", "format": "vcard"})))
        .await;
    assert_eq!(
        (refused.status, refused.error_code().as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, "validation_failed")
    );
    let unknown = json!({"object": "people", "format": "csv", "filter": {"domain": "engines.example"}});
    let refused = shop.app.call(&shop.owner, Method::POST, "/api/v1/exports", Some(unknown)).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "a filter the list does not know is refused");
}

#[tokio::test]
async fn a_hidden_field_is_absent_from_every_format() {
    let shop = shop().await;
    let owner = shop.owner_principal().await;
    for field in ["email", "address.city", "birthday"] {
        access::set_field_rule(shop.app.db(), &owner, ("manager", "person", field), Some(FieldRule::Hidden), None)
            .await
            .unwrap();
    }
    shop.person(ada()).await;
    let (_, manager) = shop.member("manager@example.com", "manager").await;
    for format in ["csv", "jsonl", "xlsx", "vcard"] {
        let file = shop.file(&manager, json!({"object": "people", "format": format})).await;
        let text = if format == "xlsx" { xlsx_text(file) } else { String::from_utf8(file).unwrap() };
        assert!(text.contains("Lovelace"), "{format}: the visible fields are there: {text}");
        for hidden in ["ada@example.com", "ada@home.example", "London", "1815"] {
            assert!(!text.contains(hidden), "{format} shows the hidden {hidden}: {text}");
        }
        if format == "csv" || format == "xlsx" {
            let header = text.lines().next().unwrap_or_default();
            assert!(!header.contains("email") && !header.contains("address.city"), "{format} header: {header}");
        }
    }
    let owners = shop.file(&shop.owner, json!({"object": "people", "format": "csv"})).await;
    assert!(String::from_utf8(owners).unwrap().contains("ada@example.com"), "the owner's role sees the email");
}

/// Every cell of every sheet, a row a line, tab-separated.
fn xlsx_text(file: Vec<u8>) -> String {
    use calamine::Reader;
    let mut workbook = calamine::Xlsx::new(std::io::Cursor::new(file)).unwrap();
    let mut text = String::new();
    for (_, range) in workbook.worksheets() {
        for row in range.rows() {
            text.push_str(&row.iter().map(|c| c.to_string()).collect::<Vec<_>>().join("\t"));
            text.push('\n');
        }
    }
    text
}

#[tokio::test]
async fn a_role_exports_only_the_records_its_reach_lets_it_read() {
    let shop = shop().await;
    let owner = shop.owner_principal().await;
    let grants = ["people:read:own", "people:create:all", "people:export:own"].map(|g| Grant::parse(g).unwrap());
    let name = access::Name::parse("Field sales").unwrap();
    let role = access::create_role(shop.app.db(), &owner, name, grants.to_vec(), None).await.unwrap();
    let (seller, token) = shop.member("seller@example.com", "member").await;
    access::assign_role(shop.app.db(), &owner, seller, Some(role), None).await.unwrap();
    shop.person(json!({"first_name": "Mine", "owner": seller.get()})).await;
    shop.person(json!({"first_name": "Theirs"})).await;
    let file = shop.file(&token, json!({"object": "people", "format": "jsonl"})).await;
    let text = String::from_utf8(file).unwrap();
    assert!(text.contains("Mine") && !text.contains("Theirs"), "{text}");
}

#[tokio::test]
async fn roles_without_the_export_permission_are_refused() {
    let shop = shop().await;
    shop.person(ada()).await;
    for (email, role) in [("viewer@example.com", "viewer"), ("member@example.com", "member")] {
        let (_, token) = shop.member(email, role).await;
        let asked =
            shop.app.call(&token, Method::POST, "/api/v1/exports", Some(json!({"object": "people", "format": "csv"})));
        let asked = asked.await;
        assert_eq!((asked.status, asked.error_code().as_str()), (StatusCode::FORBIDDEN, "forbidden"), "{role}");
    }
    assert_eq!(shop.app.count("exports").await, 0, "nothing was queued");
}

#[tokio::test]
async fn only_the_requester_with_the_signed_link_downloads_the_file() {
    let shop = shop().await;
    shop.person(ada()).await;
    let export = shop.export(&shop.owner, json!({"object": "people", "format": "csv"})).await;
    let id = export["id"].as_i64().unwrap();
    let (_, admin) = shop.member("admin@example.com", "admin").await;
    let theirs = shop.app.call(&admin, Method::GET, &format!("/api/v1/exports/{id}"), None).await;
    assert_eq!(theirs.status, StatusCode::NOT_FOUND, "another member's export is missing, even for an admin");
    assert_eq!(shop.download(&admin, &export).await.status, StatusCode::NOT_FOUND);
    let forged = format!("/api/v1/exports/{id}/download?token={}", "0".repeat(64));
    assert_eq!(shop.app.call(&shop.owner, Method::GET, &forged, None).await.status, StatusCode::NOT_FOUND);
    let file = shop.download(&shop.owner, &export).await;
    assert_eq!(file.status, StatusCode::OK);
    assert!(file.header("content-disposition").starts_with("attachment; filename=\"people-"), "{:?}", file.headers);
    assert!(file.header("content-type").starts_with("text/csv"));
}

#[tokio::test]
async fn an_expired_link_answers_410_and_the_sweep_removes_the_file() {
    let shop = shop().await;
    shop.person(ada()).await;
    let export = shop.export(&shop.owner, json!({"object": "people", "format": "jsonl"})).await;
    let id = export["id"].as_i64().unwrap();
    let data_dir = shop.app.state.config.data_dir.clone();
    let path = rapport::export::file_path(&data_dir, shop.created.workspace_id, id, rapport::export::Format::Jsonl);
    assert!(path.exists(), "the file is in the data directory");
    shop.app.set_time("UPDATE exports SET expires_at = $1", chrono::Utc::now() - chrono::Duration::minutes(1)).await;

    let gone = shop.download(&shop.owner, &export).await;
    assert_eq!((gone.status, gone.error_code().as_str()), (StatusCode::GONE, "export_expired"));
    let now = shop.app.call(&shop.owner, Method::GET, &format!("/api/v1/exports/{id}"), None).await.json();
    assert!(now["download_url"].is_null(), "an expired export offers no link: {now}");

    assert_eq!(rapport::export::sweep(shop.app.db(), &data_dir).await.unwrap(), 1);
    assert!(!path.exists(), "the sweep removed the file");
    let swept = shop.app.call(&shop.owner, Method::GET, &format!("/api/v1/exports/{id}"), None).await.json();
    assert_eq!(swept["status"], "expired");
    assert_eq!(shop.download(&shop.owner, &export).await.status, StatusCode::GONE);
    assert_eq!(rapport::export::sweep(shop.app.db(), &data_dir).await.unwrap(), 0, "nothing is swept twice");
}

#[tokio::test]
async fn each_export_is_in_the_security_log() {
    let shop = shop().await;
    shop.export(&shop.owner, json!({"object": "people", "format": "csv", "filter": {"tag": "vip"}})).await;
    let log = shop.app.call(&shop.owner, Method::GET, "/api/v1/security-log", None).await;
    assert_eq!(log.status, StatusCode::OK, "{}", log.text());
    let rows = log.json();
    let export = rows["items"].as_array().unwrap().iter().find(|row| row["action"] == "export");
    let export = export.unwrap_or_else(|| panic!("no export row in {rows}"));
    assert_eq!(export["entity"], "export");
    assert!(export["changes"].to_string().contains("vip"), "the filter is recorded: {export}");
}

#[tokio::test]
async fn the_list_pages_offer_an_export_and_the_exports_page_shows_its_progress() {
    let shop = shop().await;
    shop.person(ada()).await;
    let (cookie, csrf) = shop.app.sign_in("owner@example.com").await;
    let list = shop.app.get_as(&cookie, "/people?tag=vip").await.text();
    assert!(list.contains("/exports/new?object=people&#38;tag=vip"), "{list}");
    let form = shop.app.get_as(&cookie, "/exports/new?object=people&tag=vip").await;
    assert_eq!(form.status, StatusCode::OK, "{}", form.text());
    assert!(form.text().contains("value=\"vcard\""));
    let posted = shop
        .app
        .post_form_as(
            &cookie,
            "/exports",
            &[("csrf_token", &csrf), ("object", "people"), ("format", "csv"), ("tag", "vip")],
        )
        .await;
    assert_eq!(posted.status, StatusCode::SEE_OTHER, "{}", posted.text());
    let queued = shop.app.get_as(&cookie, "/exports").await.text();
    assert!(queued.contains("queued") && queued.contains("http-equiv=\"refresh\""), "{queued}");
    shop.app.run_pending_jobs().await;
    let done = shop.app.get_as(&cookie, "/exports").await.text();
    assert!(done.contains("done") && done.contains("1 / 1 rows") && !done.contains("http-equiv"), "{done}");
    let link = done.split("href=\"/api/v1/exports/").nth(1).unwrap().split('"').next().unwrap().replace("&amp;", "&");
    let file = shop.app.get_as(&cookie, &format!("/api/v1/exports/{link}")).await;
    assert_eq!(file.status, StatusCode::OK, "the page's link downloads in the session");
    assert!(String::from_utf8(file.body).unwrap().contains("Lovelace"));

    let forged = shop.app.post_form_as(&cookie, "/exports", &[("object", "people"), ("format", "csv")]).await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN, "no CSRF token, no export");
    let (viewer_cookie, _) = {
        shop.member("viewer@example.com", "viewer").await;
        shop.app.sign_in("viewer@example.com").await
    };
    let viewer_list = shop.app.get_as(&viewer_cookie, "/people").await.text();
    assert!(!viewer_list.contains("/exports/new"), "no button for a role that may not export");
}

#[tokio::test]
async fn exported_vcards_parse_with_vobject_and_round_trip_the_contact_details() {
    let python = std::process::Command::new("python3").args(["-c", "import vobject"]).output();
    if !python.is_ok_and(|out| out.status.success()) {
        assert!(
            std::env::var("RAPPORT_REQUIRE_VOBJECT").is_err(),
            "RAPPORT_REQUIRE_VOBJECT is set but python3 cannot import vobject (pip install vobject)"
        );
        eprintln!("skipped: python3 with the vobject package is not available (pip install vobject)");
        return;
    }
    let shop = shop().await;
    let id = shop.person(ada()).await;
    let long = "Ünïcödé ".repeat(12);
    shop.person(json!({"first_name": "Grace", "last_name": long.trim(), "email": "grace@navy.example",
                       "address": {"street": "1 Main St, Apt 2; rear", "city": "Arlington"}}))
        .await;
    let company = json!({"name": "Analytical Engines, Ltd"});
    let company = shop.app.call(&shop.owner, Method::POST, "/api/v1/companies", Some(company)).await.json();
    let link = format!("/api/v1/companies/{}/people/{id}", company["id"]);
    let linked = shop.app.call(&shop.owner, Method::PUT, &link, Some(json!({"title": "Countess"}))).await;
    assert!(linked.status.is_success(), "{}", linked.text());

    let file = shop.file(&shop.owner, json!({"object": "people", "format": "vcard"})).await;
    let text = String::from_utf8(file.clone()).unwrap();
    assert!(text.split("\r\n").all(|line| line.len() <= 75), "lines fold at 75 octets: {text}");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("people.vcf");
    std::fs::write(&path, &file).unwrap();
    let script = r#"
import json, sys, vobject
cards = []
for card in vobject.readComponents(open(sys.argv[1], encoding="utf-8").read()):
    n = card.n.value if hasattr(card, "n") else None
    adr = card.adr.value if hasattr(card, "adr") else None
    cards.append({
        "version": card.version.value,
        "fn": card.fn.value,
        "given": n.given if n else None,
        "family": n.family if n else None,
        "emails": [e.value for e in card.contents.get("email", [])],
        "phones": [t.value for t in card.contents.get("tel", [])],
        "street": adr.street if adr else None,
        "city": adr.city if adr else None,
        "code": adr.code if adr else None,
        "country": adr.country if adr else None,
        "org": [o.value for o in card.contents.get("org", [])],
        "title": [t.value for t in card.contents.get("title", [])],
    })
print(json.dumps(cards))
"#;
    let out = std::process::Command::new("python3").arg("-c").arg(script).arg(&path).output().unwrap();
    assert!(out.status.success(), "vobject failed: {}", String::from_utf8_lossy(&out.stderr));
    let cards: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(cards.len(), 2, "{cards:?}");
    let ada = cards.iter().find(|c| c["given"] == "Ada").unwrap_or_else(|| panic!("{cards:?}"));
    assert_eq!(ada["version"], "4.0");
    assert_eq!((ada["fn"].as_str(), ada["family"].as_str()), (Some("Ada Lovelace"), Some("Lovelace")));
    assert_eq!(ada["emails"], json!(["ada@example.com", "ada@home.example"]));
    assert_eq!(ada["phones"], json!(["tel:+442071234567"]));
    assert_eq!(
        (ada["street"].as_str(), ada["city"].as_str(), ada["code"].as_str(), ada["country"].as_str()),
        (Some("12 St James's Square"), Some("London"), Some("SW1Y 4JH"), Some("GB"))
    );
    assert_eq!(ada["org"], json!([["Analytical Engines, Ltd"]]));
    assert_eq!(ada["title"], json!(["Countess"]));
    let grace = cards.iter().find(|c| c["given"] == "Grace").unwrap();
    assert_eq!(grace["family"], long.trim(), "a folded line reads back whole");
    assert_eq!(grace["street"], "1 Main St, Apt 2; rear", "escaped separators read back");
    assert_eq!(grace["emails"], json!(["grace@navy.example"]));
}
