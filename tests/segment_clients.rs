//! The official Segment and RudderStack libraries, installed from their registries by
//! `tests/clients/` (npm and pip manifests, never vendored), run against the real server: each
//! sends identify, track (an `Order Completed` with its products among them), page, screen,
//! group and alias, flushes, and every call is stored exactly once, even though clients retry;
//! a second run with the same message ids stores nothing new.
//!
//! What a client's calls should have produced is checked in one place, [`assert_arrived`],
//! which is given the client's name and the ids it sent.
//!
//! When the clients are not installed the test says why and passes, unless
//! `RAPPORT_REQUIRE_CLIENTS=1` (set in CI) makes that a failure.

#![allow(clippy::unwrap_used)]

mod util;

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Serialize;
use serde_json::{Value, json};
use util::Binary;

/// One official library, the interpreter that runs its script, and how to tell it is installed.
struct Client {
    name: &'static str,
    program: &'static str,
    script: &'static str,
    installed: fn(&Path) -> Result<(), String>,
}

const CLIENTS: [Client; 4] = [
    Client {
        name: "segment-analytics-python",
        program: "python3",
        script: "segment_python.py",
        installed: |_| python_module("segment.analytics"),
    },
    Client {
        name: "rudder-sdk-python",
        program: "python3",
        script: "rudder_python.py",
        installed: |_| python_module("rudderstack.analytics"),
    },
    Client {
        name: "@segment/analytics-node",
        program: "node",
        script: "segment_node.js",
        installed: |dir| node_module(dir, "@segment/analytics-node"),
    },
    Client {
        name: "@rudderstack/rudder-sdk-node",
        program: "node",
        script: "rudder_node.js",
        installed: |dir| node_module(dir, "@rudderstack/rudder-sdk-node"),
    },
];

fn clients_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests").join("clients")
}

fn python_module(module: &str) -> Result<(), String> {
    let status = std::process::Command::new("python3").args(["-c", &format!("import {module}")]).output();
    match status {
        Ok(output) if output.status.success() => Ok(()),
        Ok(_) => Err(format!("the Python module {module} is missing (pip3 install -r tests/clients/requirements.txt)")),
        Err(err) => Err(format!("python3 does not run: {err}")),
    }
}

fn node_module(dir: &Path, package: &str) -> Result<(), String> {
    if std::process::Command::new("node").arg("--version").output().is_err() {
        return Err("node is not installed".into());
    }
    if !dir.join("node_modules").join(package).join("package.json").exists() {
        return Err(format!("the npm package {package} is missing (npm ci --prefix tests/clients)"));
    }
    Ok(())
}

/// Everything a client script is told to send: where, with which key, and every id, so that
/// the test knows what to look for.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Sent {
    host: String,
    write_key: String,
    user_id: String,
    previous_id: String,
    email: String,
    first_name: String,
    last_name: String,
    sku: String,
    group_id: String,
    group_name: String,
    order: Value,
    message_ids: MessageIds,
}

#[derive(Serialize)]
struct MessageIds {
    identify: String,
    viewed: String,
    order: String,
    page: String,
    screen: String,
    group: String,
    alias: String,
}

impl Sent {
    fn of(client: &str, host: &str, write_key: &str) -> Self {
        let tag: String = client.chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '-' }).collect();
        let tag = tag.trim_matches('-').to_owned();
        let id = |what: &str| format!("{tag}-{what}");
        Self {
            host: host.to_owned(),
            write_key: write_key.to_owned(),
            user_id: id("user"),
            previous_id: id("visitor"),
            email: format!("{tag}@shop.example"),
            first_name: "Ada".into(),
            last_name: "Lovelace".into(),
            sku: "TR-1".into(),
            group_id: id("company"),
            group_name: format!("{tag} Ltd"),
            order: json!({
                "order_id": id("order"),
                "total": 58.9,
                "currency": "EUR",
                "products": [
                    {"product_id": "p-1", "sku": "TR-1", "name": "Trail shoe", "category": "Shoes", "price": 49.9, "quantity": 1},
                    {"product_id": "p-2", "sku": "SK-2", "name": "Socks", "category": "Apparel", "price": 4.5, "quantity": 2}
                ]
            }),
            message_ids: MessageIds {
                identify: id("identify"),
                viewed: id("viewed"),
                order: id("order-completed"),
                page: id("page"),
                screen: id("screen"),
                group: id("group"),
                alias: id("alias"),
            },
        }
    }
}

struct Api {
    url: String,
    token: String,
}

impl Api {
    async fn get(&self, path: &str) -> Value {
        let response =
            reqwest::Client::new().get(format!("{}{path}", self.url)).bearer_auth(&self.token).send().await.unwrap();
        assert!(response.status().is_success(), "{path} answers: {}", response.status());
        response.json().await.unwrap()
    }

    /// What resolution made of the client's calls, once it has: the order with its person, and
    /// the company of the group call.
    async fn resolved(&self, sent: &Sent) -> Option<(Value, Value, Value)> {
        let orders = self.get(&format!("/api/v1/orders?order_id={}", sent.order["order_id"].as_str()?)).await;
        let order = orders["orders"].get(0)?.clone();
        let person = self.get(&format!("/api/v1/people/{}", order["person_id"].as_i64()?)).await;
        let companies = self.get("/api/v1/companies?limit=100").await;
        let company =
            companies["data"].as_array()?.iter().find(|c| c["external_id"] == sent.group_id.as_str())?.clone();
        let people = self.get(&format!("/api/v1/companies/{}/people", company["id"])).await;
        let linked = people["data"].as_array()?.iter().any(|l| l["person_id"] == person["id"]);
        linked.then_some((order, person, company))
    }

    /// The user's events, oldest first.
    async fn events_of(&self, user_id: &str) -> Vec<Value> {
        let response = reqwest::Client::new()
            .get(format!("{}/api/v1/events?limit=500&user_id={user_id}", self.url))
            .bearer_auth(&self.token)
            .send()
            .await
            .unwrap();
        assert!(response.status().is_success(), "the events API answers: {}", response.status());
        let body: Value = response.json().await.unwrap();
        let mut events = body["events"].as_array().cloned().unwrap();
        events.reverse();
        events
    }
}

async fn run(client: &Client, sent: &Sent) {
    let spec = serde_json::to_string(sent).unwrap();
    let command = tokio::process::Command::new(client.program)
        .arg(client.script)
        .arg(spec)
        .current_dir(clients_dir())
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(Duration::from_secs(60), command)
        .await
        .unwrap_or_else(|_| panic!("{} did not finish within a minute", client.name))
        .unwrap_or_else(|err| panic!("{} cannot run: {err}", client.program));
    assert!(
        output.status.success(),
        "{} failed: {}{}",
        client.name,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// What one client's calls must have left in Rapport: each call stored once, with what it
/// carried. Checks of what is built from the events go here too, so that every client is held
/// to them.
async fn assert_arrived(api: &Api, client: &str, sent: &Sent) {
    let events = api.events_of(&sent.user_id).await;
    let ids = &sent.message_ids;
    let expected = [
        ("identify", None, &ids.identify),
        ("track", Some("Product Viewed"), &ids.viewed),
        ("track", Some("Order Completed"), &ids.order),
        ("page", Some("Pricing"), &ids.page),
        ("screen", Some("Home"), &ids.screen),
        ("group", None, &ids.group),
        ("alias", None, &ids.alias),
    ];
    let stored: Vec<(&str, Option<&str>, &str)> = events
        .iter()
        .map(|e| (e["type"].as_str().unwrap(), e["name"].as_str(), e["message_id"].as_str().unwrap()))
        .collect();
    for (kind, name, message_id) in expected {
        let matching = stored.iter().filter(|(k, n, m)| *k == kind && *n == name && m == message_id).count();
        assert_eq!(matching, 1, "{client}: the {kind} {name:?} call {message_id} is stored once: {stored:?}");
    }
    assert_eq!(stored.len(), expected.len(), "{client}: nothing else is stored: {stored:?}");

    let by_id = |id: &str| events.iter().find(|e| e["message_id"] == id).unwrap();
    let identify = by_id(&ids.identify);
    assert_eq!(identify["traits"]["email"], sent.email.as_str(), "{client}: identify carries the email: {identify}");
    assert_eq!(identify["traits"]["firstName"], sent.first_name.as_str(), "{client}: {identify}");
    assert_eq!(identify["traits"]["lastName"], sent.last_name.as_str(), "{client}: {identify}");
    let order = &by_id(&ids.order)["properties"];
    assert_eq!(order["order_id"], sent.order["order_id"], "{client}: {order}");
    assert_eq!((order["total"].as_f64(), order["currency"].as_str()), (Some(58.9), Some("EUR")), "{client}: {order}");
    assert_eq!(order["products"], sent.order["products"], "{client}: the products arrive whole");
    assert_eq!(by_id(&ids.page)["properties"]["category"], "Docs", "{client}: the page's category");
    assert_eq!(by_id(&ids.group)["traits"]["name"], sent.group_name.as_str(), "{client}: the group's traits");
    assert!(events.iter().all(|e| e["user_id"] == sent.user_id.as_str()), "{client}: one user");

    // Resolution runs in the server's worker after the acknowledgement.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let (order, person, company) = loop {
        if let Some(found) = api.resolved(sent).await {
            break found;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{client}: the order, its person and the company exist within 30 s"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    };
    assert_eq!(person["external_id"], sent.user_id.as_str(), "{client}: {person}");
    assert_eq!(person["email"].as_str().map(str::to_lowercase), Some(sent.email.to_lowercase()), "{client}: {person}");
    assert_eq!(
        (person["first_name"].as_str(), person["last_name"].as_str()),
        (Some(sent.first_name.as_str()), Some(sent.last_name.as_str())),
        "{client}"
    );
    assert_eq!((order["total"].as_i64(), order["currency"].as_str()), (Some(5890), Some("EUR")), "{client}: {order}");
    assert_eq!(company["name"], sent.group_name.as_str(), "{client}: {company}");
}

#[tokio::test]
async fn the_official_clients_calls_are_stored_exactly_once_and_a_rerun_stores_nothing_new() {
    let required = std::env::var("RAPPORT_REQUIRE_CLIENTS").is_ok_and(|v| v == "1");
    let dir = clients_dir();
    let mut available = Vec::new();
    for client in &CLIENTS {
        match (client.installed)(&dir) {
            Ok(()) => available.push(client),
            Err(why) if required => panic!("{}: {why}, and RAPPORT_REQUIRE_CLIENTS=1", client.name),
            Err(why) => eprintln!("skipping {}: {why}", client.name),
        }
    }
    if available.is_empty() {
        return;
    }

    let (binary, _database) = Binary::on_test_database().await;
    let (workspace, token) = binary.workspace_with_token("Shop", "owner@shop.example").await;
    let source = binary.run(&["admin", "create-source", "--workspace", &workspace, "--name", "clients"], None).await;
    assert!(source.status.success(), "{}", String::from_utf8_lossy(&source.stderr));
    let write_key = String::from_utf8_lossy(&source.stdout).trim().to_owned();
    let server = binary.serve().await;
    let api = Api { url: server.url.clone(), token };

    for client in available {
        let sent = Sent::of(client.name, &server.url, &write_key);
        run(client, &sent).await;
        assert_arrived(&api, client.name, &sent).await;
        // Every one of these clients takes the message id it is given: the same calls again,
        // as a client's retry after a lost answer would send them, store nothing new.
        run(client, &sent).await;
        assert_arrived(&api, client.name, &sent).await;
    }
    server.stop().await;
}
