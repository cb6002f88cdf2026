//! Duplicate detection end to end, on SQLite and (with `RAPPORT_TEST_DATABASE_URL`) PostgreSQL:
//! a scan of a workspace finds the people entered twice (a nickname, a typo, swapped names) and
//! says why, keeps its pairs for review, leaves other workspaces and the trash out; a single
//! record is checked through the keys stored when people are created and updated; the command
//! line writes the pairs as JSON Lines.

#![allow(clippy::unwrap_used)]

mod util;

use axum::http::{Method, StatusCode};
use rapport::dedup::{self, DEFAULT_THRESHOLD};
use rapport::person::{NewPerson, PersonInput};
use rapport::profile::AddressInput;
use rapport_core::WorkspaceId;
use serde_json::{Value, json};
use util::TestApp;

const FIRST: [&str; 12] =
    ["Robert", "Mary", "John", "Anna", "Peter", "Laura", "James", "Sofia", "Liam", "Emma", "Noah", "Olivia"];
const LAST: [&str; 10] =
    ["Smith", "Jones", "Brown", "Taylor", "Wilson", "Davies", "Evans", "Thomas", "Roberts", "Walker"];
const STREETS: [&str; 8] = ["Main", "High", "Station", "Church", "Mill", "Park", "Victoria", "Green"];

fn spread(n: u64, k: u64) -> usize {
    let x = n.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ k.wrapping_mul(0xBF58_476D_1CE4_E5B9);
    (x.rotate_left(29).wrapping_mul(0x94D0_49BB_1331_11EB) >> 33) as usize
}

/// The `n`th of a crowd of different people, some of whom share names, streets or towns.
fn someone(n: u64) -> PersonInput {
    let postal = 2000 + spread(n, 6) % 40;
    PersonInput {
        first_name: Some(FIRST[spread(n, 1) % 12].into()),
        last_name: Some(LAST[spread(n, 2) % 10].into()),
        email: Some(format!("person{n}@example.com")),
        birthday: Some(format!(
            "{}-{:02}-{:02}",
            1940 + spread(n, 5) % 60,
            1 + spread(n, 7) % 12,
            1 + spread(n, 8) % 28
        )),
        address: AddressInput {
            street: Some(format!("{} {} Street", 1 + spread(n, 3) % 200, STREETS[spread(n, 4) % 8])),
            city: Some(format!("Town {postal}")),
            postal_code: Some(postal.to_string()),
            ..AddressInput::default()
        },
        external_id: Some(format!("crowd-{n}")),
        ..PersonInput::default()
    }
}

struct Shop {
    app: TestApp,
    workspace: WorkspaceId,
    owner: String,
}

async fn shop_with_a_crowd(people: u64) -> Shop {
    let app = TestApp::new().await;
    let created = app.with_workspace("Acme", "owner@example.com").await;
    let owner = app.token_for(&created, created.owner_id).await;
    let region = rapport::profile::phone_region(app.db(), created.workspace_id).await.unwrap();
    let crowd: Vec<NewPerson> = (0..people).map(|n| NewPerson::parse(&someone(n), region).unwrap()).collect();
    rapport::person::insert_many(app.db(), created.workspace_id, crowd).await.unwrap();
    Shop { app, workspace: created.workspace_id, owner }
}

impl Shop {
    async fn create(&self, body: Value) -> i64 {
        let created = self.app.call(&self.owner, Method::POST, "/api/v1/people", Some(body)).await;
        assert_eq!(created.status, StatusCode::CREATED, "{}", created.text());
        created.json()["id"].as_i64().unwrap()
    }
}

fn robert() -> Value {
    json!({
        "first_name": "Robert", "last_name": "Fairweather", "email": "robert@fairweather.example",
        "birthday": "1971-05-14",
        "address": {"street": "12 Tullaroop Street", "city": "St James", "postal_code": "4011"}
    })
}

#[tokio::test]
async fn a_scan_finds_people_entered_twice_and_says_why() {
    let shop = shop_with_a_crowd(400).await;
    let original = shop.create(robert()).await;
    let nickname = shop
        .create(json!({
            "first_name": "Bob", "last_name": "Fairweather", "birthday": "1971-05-14",
            "address": {"street": "12 Tullaroop St", "city": "St James", "postal_code": "4011"}
        }))
        .await;
    let swapped = shop
        .create(json!({
            "first_name": "Fairwether", "last_name": "Robert", "email": "robert@fairweather.example",
            "address": {"street": "12 Tullaroop Street", "city": "St James", "postal_code": "4011"}
        }))
        .await;

    let scan = dedup::scan(shop.app.db(), shop.workspace, DEFAULT_THRESHOLD).await.unwrap();
    assert_eq!(scan.people, 403);
    let pair = |a: i64, b: i64| scan.pairs.iter().find(|p| (p.a.id, p.b.id) == (a.min(b), a.max(b)));
    let nick = pair(original, nickname).expect("the nickname pair");
    assert!(nick.score >= DEFAULT_THRESHOLD && nick.score <= 1.0, "{nick:?}");
    assert!(nick.reasons.iter().any(|r| r == "first names are nicknames: robert / bob"), "{:?}", nick.reasons);
    let crossed = pair(original, swapped).expect("the swapped pair");
    assert!(crossed.reasons.iter().any(|r| r == "first and last names swapped"), "{:?}", crossed.reasons);
    assert!(crossed.reasons.iter().any(|r| r == "same email"), "{:?}", crossed.reasons);
    let crowd_pairs = scan.pairs.iter().filter(|p| p.a.external_id.is_some() && p.b.external_id.is_some()).count();
    assert_eq!(crowd_pairs, 0, "the crowd are all different people: {:?}", scan.pairs);

    let kept = dedup::pairs(shop.app.db(), shop.workspace, None, 100).await.unwrap();
    assert_eq!(kept, scan.pairs, "the review queue lists what the scan found");
    assert_eq!(shop.app.count_in("dedup_models", shop.workspace).await, 1);
}

#[tokio::test]
async fn a_scan_leaves_the_trash_and_other_workspaces_out() {
    let shop = shop_with_a_crowd(100).await;
    let original = shop.create(robert()).await;
    let copy = shop.create(robert()).await;
    let other = shop.app.with_workspace("Beta", "owner@beta.example").await;
    let beta = shop.app.token_for(&other, other.owner_id).await;
    let elsewhere = shop.app.call(&beta, Method::POST, "/api/v1/people", Some(robert())).await;
    assert_eq!(elsewhere.status, StatusCode::CREATED);

    let scan = dedup::scan(shop.app.db(), shop.workspace, DEFAULT_THRESHOLD).await.unwrap();
    assert_eq!(scan.pairs.iter().map(|p| (p.a.id, p.b.id)).collect::<Vec<_>>(), [(original, copy)]);

    let trashed = shop.app.call(&shop.owner, Method::DELETE, &format!("/api/v1/people/{copy}"), None).await;
    assert_eq!(trashed.status, StatusCode::NO_CONTENT, "{}", trashed.text());
    assert!(
        dedup::pairs(shop.app.db(), shop.workspace, None, 100).await.unwrap().is_empty(),
        "a trashed person leaves the queue"
    );
    let again = dedup::scan(shop.app.db(), shop.workspace, DEFAULT_THRESHOLD).await.unwrap();
    assert!(again.pairs.is_empty(), "{:?}", again.pairs);
    assert_eq!(again.people, 101);
}

#[tokio::test]
async fn a_single_record_is_checked_against_the_people_sharing_its_keys() {
    let shop = shop_with_a_crowd(200).await;
    let region = rapport::profile::phone_region(shop.app.db(), shop.workspace).await.unwrap();
    let original = shop.create(robert()).await;
    let probe = |input: Value| NewPerson::parse(&serde_json::from_value(input).unwrap(), region).unwrap();
    let typo = probe(json!({
        "first_name": "Robret", "last_name": "Fairweather", "birthday": "1971-05-14",
        "address": {"street": "12 Tullaroop Street", "city": "St James", "postal_code": "4011"}
    }));

    let found = dedup::candidates(shop.app.db(), shop.workspace, &typo, None).await.unwrap();
    assert_eq!(found.iter().map(|p| p.b.id.max(p.a.id)).collect::<Vec<_>>(), [original], "{found:?}");
    let itself = dedup::candidates(shop.app.db(), shop.workspace, &typo, Some(rapport_core::PersonId::new(original)))
        .await
        .unwrap();
    assert!(itself.is_empty(), "a person is no duplicate of themselves: {itself:?}");

    // Moved house and renamed: the old keys go, the new ones find them.
    let path = format!("/api/v1/people/{original}");
    let moved = json!({"last_name": "Okonkwo", "email": null, "address": {"street": "3 Mill Lane", "city": "Bittern", "postal_code": "4814"}});
    let changed = shop.app.call(&shop.owner, Method::PATCH, &path, Some(moved)).await;
    assert_eq!(changed.status, StatusCode::OK, "{}", changed.text());
    assert!(dedup::candidates(shop.app.db(), shop.workspace, &typo, None).await.unwrap().is_empty());
    let newcomer = probe(json!({
        "first_name": "Bob", "last_name": "Okonkwo", "birthday": "1971-05-14",
        "address": {"street": "3 Mill Ln", "city": "Bittern", "postal_code": "4814"}
    }));
    let found = dedup::candidates(shop.app.db(), shop.workspace, &newcomer, None).await.unwrap();
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(found[0].reasons.iter().any(|r| r == "first names are nicknames: bob / robert"), "{:?}", found[0].reasons);
}

#[tokio::test]
async fn the_command_line_writes_one_json_pair_a_line() {
    let shop = shop_with_a_crowd(50).await;
    let original = shop.create(robert()).await;
    let copy = shop.create(robert()).await;
    let dir = tempfile::tempdir().unwrap();
    let output = dir.path().join("pairs.jsonl");
    let mut binary = util::Binary::new();
    binary.env.push(("RAPPORT_DATABASE_URL".into(), shop.app.test_db.options().url.expose().clone()));
    let workspace = shop.workspace.to_string();
    let ran =
        binary.run(&["dedup", "scan", "--workspace", &workspace, "--output", output.to_str().unwrap()], None).await;
    assert!(ran.status.success(), "{}", String::from_utf8_lossy(&ran.stderr));
    let text = std::fs::read_to_string(&output).unwrap();
    let lines: Vec<Value> = text.lines().map(|line| serde_json::from_str(line).unwrap()).collect();
    assert_eq!(lines.len(), 1, "{text}");
    assert_eq!((lines[0]["a"]["id"].as_i64(), lines[0]["b"]["id"].as_i64()), (Some(original), Some(copy)));
    assert!(lines[0]["a"].as_object().unwrap().contains_key("external_id"));
    assert!(lines[0]["score"].as_f64().is_some_and(|s| s >= DEFAULT_THRESHOLD));
    assert!(lines[0]["reasons"].as_array().is_some_and(|r| !r.is_empty()));
}
