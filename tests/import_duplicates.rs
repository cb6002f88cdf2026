//! Possible duplicates during an import, on SQLite and (with `RAPPORT_TEST_DATABASE_URL`)
//! PostgreSQL: a file holding people already in the workspace under a nickname or a typo, and
//! rows that repeat earlier rows of the same file (in the same batch and in an earlier one).
//! With `flag` every row is created and each duplicate is named with its id, score and reasons
//! on the import, its page and its error report, once, however often the run was interrupted;
//! with `skip` the duplicates are refused into the error report and the rest created; with
//! `merge` they fill in the people already there (undone with the import); off changes
//! nothing. The command line takes the same policy.

#![allow(clippy::unwrap_used)]

mod util;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;
use util::{BOUNDARY, TestApp, multipart};

/// Rows per batch: rows 1–2, 3–4, 5–6 and 7 are written in four transactions.
const BATCH: usize = 2;

const HEADER: &str = "First Name,Last Name,E-mail,Birthday,Street,City,Postal Code\n";

/// Row 1 is Robert Fairweather under his nickname; row 3 Katarzyna Nowak as Kasia; row 4
/// repeats row 2 (an earlier batch) with a nickname and the street abbreviated; row 6 repeats
/// row 5 (the same batch) with a typo in the last name. Rows 2, 5 and 7 are new people.
const ROWS: &str = "Bob,Fairweather,,1971-05-14,12 Tullaroop St,St James,4011\n\
    Ann,Clarke,ann@clarke.example,1990-01-21,5 High Street,Cressbrook,3051\n\
    Kasia,Nowak,,1985-03-02,7 Mill Ln,Bittern,2040\n\
    Annie,Clarke,,1990-01-21,5 High St,Cressbrook,3051\n\
    Liam,Okafor,liam@okafor.example,1979-09-09,1 Quay Road,Portland,5007\n\
    Liam,Okafr,,1979-09-09,1 Quay Rd,Portland,5007\n\
    Zoe,Quinn,zoe@quinn.example,2000-02-02,9 Elm Avenue,Leafield,6000\n";

const MAPPING: [(&str, &str); 7] = [
    ("First Name", "first_name"),
    ("Last Name", "last_name"),
    ("E-mail", "email"),
    ("Birthday", "birthday"),
    ("Street", "address.street"),
    ("City", "address.city"),
    ("Postal Code", "address.postal_code"),
];

const LAST: [&str; 5] = ["Smith", "Jones", "Brown", "Taylor", "Wilson"];

fn file() -> String {
    format!("{HEADER}{ROWS}")
}

fn mapping() -> Value {
    MAPPING.iter().map(|(column, field)| json!({"column": column, "field": field})).collect()
}

struct Shop {
    app: TestApp,
    created: rapport::workspace::Created,
    owner: String,
    robert: i64,
    katarzyna: i64,
}

/// A workspace holding a crowd of different people, Robert Fairweather and Katarzyna Nowak.
async fn shop() -> Shop {
    let app = TestApp::configured(|config| config.imports.batch_rows = BATCH).await;
    let created = app.with_workspace("Acme", "owner@example.com").await;
    let owner = app.token_for(&created, created.owner_id).await;
    let region = rapport::profile::phone_region(app.db(), created.workspace_id).await.unwrap();
    let crowd: Vec<rapport::person::NewPerson> = (0..60)
        .map(|n| {
            let (first, last) = (["Mary", "John", "Peter", "Laura", "James", "Sofia"][n % 6], LAST[n % 5]);
            let input = json!({
                "first_name": first,
                "last_name": last,
                "email": format!("crowd{n}@example.com"),
                "birthday": format!("19{:02}-{:02}-{:02}", 40 + n % 50, 1 + n % 12, 1 + n % 28),
                "address": {"street": format!("{} Station Road", n + 1), "city": "Town", "postal_code": format!("{}", 7000 + n)}
            });
            rapport::person::NewPerson::parse(&serde_json::from_value(input).unwrap(), region).unwrap()
        })
        .collect();
    rapport::person::insert_many(app.db(), created.workspace_id, crowd).await.unwrap();
    let mut shop = Shop { app, created, owner, robert: 0, katarzyna: 0 };
    shop.robert = shop
        .create(json!({
            "first_name": "Robert", "last_name": "Fairweather", "email": "robert@fairweather.example",
            "birthday": "1971-05-14",
            "address": {"street": "12 Tullaroop Street", "city": "St James", "postal_code": "4011"}
        }))
        .await;
    shop.katarzyna = shop
        .create(json!({
            "first_name": "Katarzyna", "last_name": "Nowak", "birthday": "1985-03-02",
            "address": {"street": "7 Mill Lane", "city": "Bittern", "postal_code": "2040"}
        }))
        .await;
    shop
}

impl Shop {
    async fn create(&self, body: Value) -> i64 {
        let created = self.app.call(&self.owner, Method::POST, "/api/v1/people", Some(body)).await;
        assert_eq!(created.status, StatusCode::CREATED, "{}", created.text());
        created.json()["id"].as_i64().unwrap()
    }

    async fn upload(&self) -> i64 {
        let request = Request::post("/api/v1/imports")
            .header("authorization", format!("Bearer {}", self.owner))
            .header("content-type", format!("multipart/form-data; boundary={BOUNDARY}"))
            .body(Body::from(multipart(&[("object", "people")], "people.csv", "text/csv", file().as_bytes())))
            .unwrap();
        let uploaded = self.app.request(request).await;
        assert_eq!(uploaded.status, StatusCode::CREATED, "{}", uploaded.text());
        uploaded.json()["id"].as_i64().unwrap()
    }

    async fn start(&self, id: i64, body: Value) {
        let path = format!("/api/v1/imports/{id}/start");
        let started = self.app.call(&self.owner, Method::POST, &path, Some(body)).await;
        assert_eq!(started.status, StatusCode::ACCEPTED, "{}", started.text());
    }

    async fn read(&self, path: &str) -> Value {
        let read = self.app.call(&self.owner, Method::GET, path, None).await;
        assert_eq!(read.status, StatusCode::OK, "{}", read.text());
        read.json()
    }

    async fn import(&self, id: i64) -> Value {
        self.read(&format!("/api/v1/imports/{id}")).await
    }

    async fn report(&self, id: i64) -> String {
        let report = self.app.call(&self.owner, Method::GET, &format!("/api/v1/imports/{id}/errors"), None).await;
        assert_eq!(report.status, StatusCode::OK);
        report.text()
    }

    /// The people of the workspace outside the crowd, by first name, with their ids.
    async fn newcomers(&self) -> Vec<(String, i64)> {
        let people = self.read("/api/v1/people?limit=200").await["data"].as_array().unwrap().clone();
        let mut found: Vec<(String, i64)> = people
            .iter()
            .filter(|p| !p["email"].as_str().is_some_and(|e| e.starts_with("crowd")))
            .map(|p| (p["first_name"].as_str().unwrap().to_owned(), p["id"].as_i64().unwrap()))
            .collect();
        found.sort();
        found
    }

    async fn id_of(&self, first_name: &str) -> i64 {
        let found = self.newcomers().await;
        found.iter().find(|(name, _)| name == first_name).map(|(_, id)| *id).unwrap()
    }
}

/// The report's lines after the header, as (row, column, reason).
fn lines(report: &str) -> Vec<(i64, String, String)> {
    let mut reader = csv::Reader::from_reader(report.as_bytes());
    reader.records().map(|r| r.unwrap()).map(|r| (r[0].parse().unwrap(), r[1].to_owned(), r[2].to_owned())).collect()
}

fn duplicate_of(line: &str) -> i64 {
    let id = line.strip_prefix("possible duplicate of #").unwrap_or_else(|| panic!("a duplicate warning: {line}"));
    id.split(' ').next().unwrap().parse().unwrap()
}

fn score_of(line: &str) -> f64 {
    line.split("(score ").nth(1).unwrap().split(')').next().unwrap().parse().unwrap()
}

#[tokio::test]
async fn flagged_duplicates_are_created_and_named_with_their_ids_even_across_an_interruption() {
    let shop = shop().await;
    let id = shop.upload().await;
    shop.start(id, json!({"mapping": mapping(), "duplicates": {"policy": "flag"}})).await;
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
    let halfway = shop.import(id).await;
    assert_eq!((halfway["rows_done"].as_i64(), halfway["possible_duplicates"].as_i64()), (Some(2), Some(1)));
    shop.app.run_pending_jobs().await;

    let done = shop.import(id).await;
    assert_eq!(done["status"], "done", "{done}");
    assert_eq!(done["duplicates"], json!({"policy": "flag", "threshold": 0.9}));
    assert_eq!(done["counts"], json!({"created": 7, "updated": 0, "unchanged": 0, "rejected": 0}), "{done}");
    assert_eq!(done["possible_duplicates"], 4, "{done}");
    let (ann, liam) = (shop.id_of("Ann").await, shop.id_of("Liam").await);
    let report = shop.report(id).await;
    let warned: Vec<(i64, i64)> = lines(&report).iter().map(|(row, _, reason)| (*row, duplicate_of(reason))).collect();
    assert_eq!(warned, [(1, shop.robert), (3, shop.katarzyna), (4, ann), (6, liam)], "{report}");
    for (_, column, reason) in lines(&report) {
        assert!(column.is_empty());
        assert!(score_of(&reason) >= 0.9 && score_of(&reason) <= 1.0, "{reason}");
    }
    assert!(report.contains(&format!("possible duplicate of #{} Robert Fairweather (score ", shop.robert)), "{report}");
    assert!(report.contains("first names are nicknames: bob / robert"), "{report}");
    assert!(report.contains("same birthday"), "{report}");
    assert_eq!(shop.app.count_in("import_duplicates", shop.created.workspace_id).await, 4);
    assert_eq!(shop.newcomers().await.len(), 9, "seven rows created beside Robert and Katarzyna");

    let (cookie, _) = shop.app.sign_in("owner@example.com").await;
    let page = shop.app.get_as(&cookie, &format!("/imports/{id}")).await.text();
    assert!(page.contains("<dd id=\"count-duplicates\">4</dd>"), "{page}");
    assert!(page.contains(&format!("Row 6: possible duplicate of #{liam} Liam Okafor (score ")), "{page}");
    assert!(page.contains(&format!("href=\"/people/{}\"", shop.katarzyna)), "{page}");
}

#[tokio::test]
async fn skipped_duplicates_go_to_the_error_report_and_the_rest_are_created() {
    let shop = shop().await;
    let id = shop.upload().await;
    let (cookie, csrf) = shop.app.sign_in("owner@example.com").await;
    let post = |threshold: &str, run: &str| {
        let mut form: Vec<(String, String)> = [
            ("csrf_token", csrf.as_str()),
            ("mode", "create"),
            ("match", "email"),
            ("duplicates", "skip"),
            ("duplicate_threshold", threshold),
            ("run", run),
        ]
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
        form.extend(MAPPING.iter().enumerate().map(|(n, (_, field))| (format!("map.{n}"), (*field).to_owned())));
        let (app, cookie, path) = (&shop.app, cookie.clone(), format!("/imports/{id}/start"));
        async move {
            let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            app.post_form_as(&cookie, &path, &pairs).await
        }
    };
    let dry = post("0.9", "dry_run").await;
    assert_eq!(dry.status, StatusCode::SEE_OTHER, "{}", dry.text());
    shop.app.run_pending_jobs().await;
    let report = shop.report(id).await;
    assert!(report.contains("6,,possible duplicate of row 5 Liam Okafor (score "), "a dry run names the row: {report}");
    assert_eq!(shop.newcomers().await.len(), 2, "a dry run writes no one");

    let refused = post("1.5", "import").await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.text().contains("the duplicate threshold must be a probability between 0 and 1"));

    let started = post("0.9", "import").await;
    assert_eq!(started.status, StatusCode::SEE_OTHER, "{}", started.text());
    shop.app.run_pending_jobs().await;
    let done = shop.import(id).await;
    assert_eq!(done["status"], "done", "{done}");
    assert_eq!(done["duplicates"]["policy"], "skip");
    assert_eq!(done["counts"], json!({"created": 3, "updated": 0, "unchanged": 0, "rejected": 4}), "{done}");
    assert_eq!(done["possible_duplicates"], 4);
    let created: Vec<String> = shop.newcomers().await.into_iter().map(|(name, _)| name).collect();
    assert_eq!(created, ["Ann", "Katarzyna", "Liam", "Robert", "Zoe"]);
    let (ann, liam) = (shop.id_of("Ann").await, shop.id_of("Liam").await);
    let report = shop.report(id).await;
    let refused: Vec<(i64, i64)> = lines(&report).iter().map(|(row, _, reason)| (*row, duplicate_of(reason))).collect();
    assert_eq!(refused, [(1, shop.robert), (3, shop.katarzyna), (4, ann), (6, liam)], "{report}");
    assert!(report.contains("first names are nicknames: kasia / katarzyna"), "{report}");
    assert_eq!(shop.app.count_in("import_duplicates", shop.created.workspace_id).await, 0);
}

#[tokio::test]
async fn merged_duplicates_fill_in_the_people_already_there_and_the_undo_takes_it_back() {
    let shop = shop().await;
    let robert = format!("/api/v1/people/{}", shop.robert);
    let forgotten = json!({"birthday": null});
    let changed = shop.app.call(&shop.owner, Method::PATCH, &robert, Some(forgotten)).await;
    assert_eq!(changed.status, StatusCode::OK, "{}", changed.text());
    let id = shop.upload().await;
    shop.start(id, json!({"mapping": mapping(), "duplicates": {"policy": "merge"}})).await;
    shop.app.run_pending_jobs().await;
    let done = shop.import(id).await;
    assert_eq!(done["status"], "done", "{done}");
    // Bob goes into Robert, Kasia into Katarzyna, Annie into Ann (stored by an earlier batch);
    // Liam Okafr repeats a row of his own batch, not yet stored, so he is created and flagged.
    assert_eq!(done["counts"], json!({"created": 4, "updated": 1, "unchanged": 2, "rejected": 0}), "{done}");
    assert_eq!(done["possible_duplicates"], 1);
    let names: Vec<String> = shop.newcomers().await.into_iter().map(|(name, _)| name).collect();
    assert_eq!(names, ["Ann", "Katarzyna", "Liam", "Liam", "Robert", "Zoe"]);
    let filled = shop.read(&robert).await;
    assert_eq!(filled["first_name"], "Robert", "the person's own values stay");
    assert_eq!(filled["birthday"], "1971-05-14", "the row fills what was empty");
    assert_eq!(filled["address"]["street"], "12 Tullaroop Street");

    let undo = shop.app.call(&shop.owner, Method::POST, &format!("/api/v1/imports/{id}/undo"), None).await;
    assert_eq!(undo.status, StatusCode::ACCEPTED, "{}", undo.text());
    shop.app.run_pending_jobs().await;
    assert!(shop.read(&robert).await["birthday"].is_null(), "the undo takes the filled field back");
    assert_eq!(shop.newcomers().await.len(), 2, "and the created rows");
}

#[tokio::test]
async fn without_a_policy_near_duplicates_import_as_before() {
    let shop = shop().await;
    let id = shop.upload().await;
    shop.start(id, json!({"mapping": mapping()})).await;
    shop.app.run_pending_jobs().await;
    let done = shop.import(id).await;
    assert_eq!(done["duplicates"], json!({"policy": "off", "threshold": 0.9}));
    assert_eq!(done["counts"], json!({"created": 7, "updated": 0, "unchanged": 0, "rejected": 0}), "{done}");
    assert_eq!(done["possible_duplicates"], 0);
    assert_eq!(shop.report(id).await, "row,column,reason\n");
    assert_eq!(shop.newcomers().await.len(), 9, "seven rows created beside Robert and Katarzyna");

    let other = shop.upload().await;
    let path = format!("/api/v1/imports/{other}/start");
    let body = json!({"mapping": mapping(), "duplicates": {"policy": "flag", "threshold": 2}});
    let refused = shop.app.call(&shop.owner, Method::POST, &path, Some(body)).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.text().contains("duplicates.threshold"), "{}", refused.text());
    let body = json!({"mapping": mapping(), "duplicates": {"policy": "squash"}});
    let unknown = shop.app.call(&shop.owner, Method::POST, &path, Some(body)).await;
    assert!(unknown.status.is_client_error(), "{}", unknown.text());

    let document = shop.app.get("/api/v1/openapi.json").await.json();
    let policy = &document["components"]["schemas"]["DuplicatesBody"]["properties"]["policy"];
    assert!(policy.is_object(), "the start request documents its duplicate policy: {policy}");
}

#[tokio::test]
async fn the_command_line_flags_duplicates_above_the_threshold_it_is_given() {
    let shop = shop().await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("people.csv");
    std::fs::write(&path, file()).unwrap();
    let mut binary = util::Binary::new();
    binary.env.push(("RAPPORT_DATABASE_URL".into(), shop.app.test_db.options().url.expose().clone()));
    let workspace = shop.created.workspace_id.to_string();
    let mut args = vec!["import", "--workspace", &workspace, "--file", path.to_str().unwrap()];
    let maps: Vec<String> = MAPPING.iter().map(|(column, field)| format!("{column}={field}")).collect();
    for map in &maps {
        args.extend(["--map", map.as_str()]);
    }
    args.extend(["--duplicates", "flag", "--duplicate-threshold", "0.95"]);
    let ran = binary.run(&args, None).await;
    let stdout = String::from_utf8_lossy(&ran.stdout).into_owned();
    assert!(ran.status.success(), "{}", String::from_utf8_lossy(&ran.stderr));
    assert!(stdout.contains("created 7, updated 0, unchanged 0, refused 0, possible duplicates "), "{stdout}");
    let report = stdout.lines().find_map(|l| l.strip_prefix("error report: ")).expect("the report's path");
    let report = std::fs::read_to_string(report).unwrap();
    assert!(!lines(&report).is_empty(), "{report}");
    assert!(lines(&report).iter().all(|(_, _, reason)| score_of(reason) >= 0.95), "{report}");
    let imports = shop.read("/api/v1/imports").await;
    assert_eq!(imports["data"][0]["duplicates"], json!({"policy": "flag", "threshold": 0.95}));
}
