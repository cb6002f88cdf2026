//! Behaviour tracking over the Segment-compatible endpoints: the exact requests the official
//! Segment and RudderStack clients send are accepted and stored once each, replays change
//! nothing, bad input is refused with a reason and nothing stored, and a sender over its budget
//! is told when to come back.

#![allow(clippy::unwrap_used)]

mod util;

use std::io::Write;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use base64::Engine;
use rapport::identity::{self, Scope};
use serde_json::{Value, json};
use util::{TestApp, TestResponse};

const CAPTURES: &str = include_str!("../../shared/data/segment/captured_requests.jsonl");

struct Tracked {
    app: TestApp,
    workspace: rapport::workspace::Created,
    write_key: String,
    token: String,
}

async fn tracked(app: TestApp) -> Tracked {
    let created = app.with_workspace("Acme", "owner@example.com").await;
    let source = rapport::tracking::create_source(
        app.db(),
        (created.workspace_id, &rapport_core::Actor::System("test".into())),
        "website",
    )
    .await
    .unwrap();
    let token = identity::create_token(app.db(), created.workspace_id, created.owner_id, "t", vec![Scope::All], None)
        .await
        .unwrap();
    Tracked {
        app,
        workspace: created,
        write_key: source.write_key.expose().clone(),
        token: token.secret.expose().clone(),
    }
}

fn basic(key: &str) -> String {
    format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{key}:")))
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

impl Tracked {
    async fn post(&self, path: &str, headers: &[(&str, &str)], body: Vec<u8>) -> TestResponse {
        let mut request = Request::post(path).header("host", "localhost");
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        self.app.request(request.body(Body::from(body)).unwrap()).await
    }

    async fn batch(&self, body: &Value) -> TestResponse {
        let auth = basic(&self.write_key);
        let headers = [("authorization", auth.as_str()), ("content-type", "application/json")];
        self.post("/v1/batch", &headers, body.to_string().into_bytes()).await
    }

    /// A captured request as its client sent it, with this workspace's write key in place of
    /// the one used when it was recorded.
    async fn replay(&self, capture: &Value) -> TestResponse {
        let mut body = capture["body"].clone();
        if body.get("writeKey").is_some() {
            body["writeKey"] = self.write_key.clone().into();
        }
        let headers = capture["headers"].as_object().unwrap();
        let gzipped = headers.get("Content-Encoding").and_then(Value::as_str) == Some("gzip");
        let raw = body.to_string().into_bytes();
        let bytes = if gzipped { gzip(&raw) } else { raw };
        let auth = basic(&self.write_key);
        let mut sent: Vec<(&str, &str)> = vec![("authorization", auth.as_str())];
        for name in ["Content-Type", "Content-Encoding", "User-Agent"] {
            if let Some(value) = headers.get(name).and_then(Value::as_str) {
                sent.push((name, value));
            }
        }
        self.post("/v1/batch", &sent, bytes).await
    }

    async fn events(&self, query: &str) -> Value {
        let request = Request::get(format!("/api/v1/events?limit=500{query}"))
            .header("authorization", format!("Bearer {}", self.token))
            .body(Body::empty())
            .unwrap();
        let response = self.app.request(request).await;
        assert_eq!(response.status, StatusCode::OK, "{}", response.text());
        response.json()
    }

    async fn stored(&self) -> usize {
        self.events("").await["events"].as_array().unwrap().len()
    }
}

fn captures() -> Vec<Value> {
    CAPTURES.lines().map(|line| serde_json::from_str(line).unwrap()).collect()
}

#[tokio::test]
async fn the_official_clients_requests_are_stored_once_each_and_a_replay_changes_nothing() {
    let t = tracked(TestApp::new().await).await;
    for capture in captures() {
        let response = t.replay(&capture).await;
        assert_eq!(response.status, StatusCode::OK, "{}: {}", capture["path"], response.text());
        assert_eq!(response.json()["success"], true);
    }
    // The three Python captures share their message ids; Node and RudderStack Node have their own.
    assert_eq!(t.stored().await, 7 + 6 + 6);
    for capture in captures() {
        assert_eq!(t.replay(&capture).await.status, StatusCode::OK);
    }
    assert_eq!(t.stored().await, 19);
    let order = t.events("&user_id=user-1").await["events"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["message_id"] == "m-track")
        .cloned()
        .unwrap();
    assert_eq!((order["type"].as_str(), order["name"].as_str()), (Some("track"), Some("Order Completed")));
    assert_eq!(order["properties"]["revenue"], 42.5);
    let anonymous = t.events("&anonymous_id=anon-123").await;
    assert_eq!(anonymous["events"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn the_write_key_may_come_in_the_body_and_a_wrong_or_missing_key_is_401() {
    let t = tracked(TestApp::new().await).await;
    let call = |key: &str| json!({"writeKey": key, "userId": "u1", "event": "Signed Up", "messageId": key});
    let in_body = t.post("/v1/track", &[], call(&t.write_key).to_string().into_bytes()).await;
    assert_eq!(in_body.status, StatusCode::OK, "{}", in_body.text());
    let forged = t.write_key.replacen(&t.write_key[t.write_key.len() - 6..], "000000", 1);
    let wrong = t.post("/v1/track", &[], call(&forged).to_string().into_bytes()).await;
    assert_eq!((wrong.status, wrong.error_code().as_str()), (StatusCode::UNAUTHORIZED, "unauthorized"));
    let none = json!({"userId": "u1", "event": "Signed Up"}).to_string().into_bytes();
    assert_eq!(t.post("/v1/track", &[], none).await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(t.stored().await, 1);
}

#[tokio::test]
async fn the_client_clock_is_corrected_with_sent_at() {
    let t = tracked(TestApp::new().await).await;
    let now = chrono::Utc::now();
    let fast = |minutes: i64| (now + chrono::Duration::minutes(minutes)).to_rfc3339();
    let body = json!({"sentAt": fast(60), "batch": [
        {"type": "track", "event": "Viewed", "userId": "u", "messageId": "skew", "timestamp": fast(55)}
    ]});
    assert_eq!(t.batch(&body).await.status, StatusCode::OK);
    let event = t.events("").await["events"][0].clone();
    let occurred = chrono::DateTime::parse_from_rfc3339(event["occurred_at"].as_str().unwrap()).unwrap();
    let received = chrono::DateTime::parse_from_rfc3339(event["received_at"].as_str().unwrap()).unwrap();
    assert_eq!((received - occurred).num_minutes(), 5, "five minutes before it was received: {event}");
}

#[tokio::test]
async fn malformed_and_oversized_requests_are_refused_with_a_reason_and_nothing_is_stored() {
    let t = tracked(TestApp::new().await).await;
    let call = |properties: Value| json!({"batch": [{"type": "track", "event": "E", "userId": "u", "properties": properties}]});
    let mut deep = json!(1);
    for _ in 0..100 {
        deep = json!([deep]);
    }
    let cases = [
        (call(json!({"s": "x".repeat(1_000_000)})).to_string().into_bytes(), StatusCode::PAYLOAD_TOO_LARGE),
        (call(json!({"s": "x".repeat(40_000)})).to_string().into_bytes(), StatusCode::PAYLOAD_TOO_LARGE),
        (call(deep).to_string().into_bytes(), StatusCode::BAD_REQUEST),
        (b"{\"batch\": [\"\xff\xfe\"]}".to_vec(), StatusCode::BAD_REQUEST),
        (b"not json".to_vec(), StatusCode::BAD_REQUEST),
        (json!({"batch": [{"type": "track", "userId": "u"}]}).to_string().into_bytes(), StatusCode::BAD_REQUEST),
    ];
    let auth = basic(&t.write_key);
    for (body, expected) in cases {
        let response = t.post("/v1/batch", &[("authorization", auth.as_str())], body).await;
        assert_eq!(response.status, expected, "{}", response.text());
        assert!(!response.json()["error"]["message"].as_str().unwrap().is_empty());
    }
    let bomb = gzip(&vec![b' '; 3_000_000]);
    let headers = [("authorization", auth.as_str()), ("content-encoding", "gzip")];
    assert_eq!(t.post("/v1/batch", &headers, bomb).await.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(t.post("/v1/batch", &headers, b"not gzip".to_vec()).await.status, StatusCode::BAD_REQUEST);
    assert_eq!(t.stored().await, 0);
}

#[tokio::test]
async fn a_source_over_its_budget_gets_429_with_retry_after() {
    let app = TestApp::configured(|config| {
        config.tracking.events_per_second_per_source = 1;
        config.tracking.event_burst_per_source = 3;
    })
    .await;
    let t = tracked(app).await;
    let calls = |from: usize| {
        let batch: Vec<Value> =
            (from..from + 3).map(|i| json!({"type": "track", "event": "E", "userId": "u", "messageId": i})).collect();
        json!({ "batch": batch })
    };
    assert_eq!(t.batch(&calls(0)).await.status, StatusCode::OK);
    let limited = t.batch(&calls(3)).await;
    assert_eq!(limited.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(limited.header("retry-after").parse::<i64>().unwrap() >= 1);
    assert_eq!(t.stored().await, 3);
}

#[tokio::test]
async fn a_revoked_source_is_refused_at_once_and_leaves_the_list() {
    let t = tracked(TestApp::new().await).await;
    let call = json!({"type": "track", "userId": "u1", "event": "Signed Up", "messageId": "before"});
    assert_eq!(t.batch(&json!({"batch": [call]})).await.status, StatusCode::OK);
    let listed = t.app.call(&t.token, Method::GET, "/api/v1/sources", None).await.json();
    let id = listed[0]["id"].as_i64().unwrap();

    let revoked = t.app.call(&t.token, Method::DELETE, &format!("/api/v1/sources/{id}"), None).await;
    assert_eq!(revoked.status, StatusCode::NO_CONTENT, "{}", revoked.text());
    let call = json!({"type": "track", "userId": "u1", "event": "Signed Up", "messageId": "after"});
    let refused = t.batch(&json!({"batch": [call]})).await;
    assert_eq!((refused.status, refused.error_code().as_str()), (StatusCode::UNAUTHORIZED, "unauthorized"));
    assert_eq!(t.stored().await, 1, "the source's earlier events stay");
    assert_eq!(t.app.call(&t.token, Method::GET, "/api/v1/sources", None).await.json(), json!([]));
    let again = t.app.call(&t.token, Method::DELETE, &format!("/api/v1/sources/{id}"), None).await;
    assert_eq!(again.status, StatusCode::NOT_FOUND);
    let logged = "audit_rows WHERE log = 'security' AND entity = 'source'";
    assert_eq!(t.app.count(&format!("{logged} AND action = 'token_created'")).await, 1, "the key's creation is logged");
    assert_eq!(t.app.count(&format!("{logged} AND action = 'token_revoked'")).await, 1, "its revocation once");
}

#[tokio::test]
async fn revoking_a_source_needs_write_access_to_the_workspace() {
    let t = tracked(TestApp::new().await).await;
    let listed = t.app.call(&t.token, Method::GET, "/api/v1/sources", None).await.json();
    let id = listed[0]["id"].as_i64().unwrap();
    let (workspace, owner) = (t.workspace.workspace_id, t.workspace.owner_id);
    let reader = identity::create_token(t.app.db(), workspace, owner, "r", vec![Scope::Read("events".into())], None);
    let reader = reader.await.unwrap().secret.expose().clone();
    assert_eq!(t.app.call(&reader, Method::GET, "/api/v1/sources", None).await.status, StatusCode::OK);
    let refused = t.app.call(&reader, Method::DELETE, &format!("/api/v1/sources/{id}"), None).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.text());
    let call = json!({"type": "track", "userId": "u1", "event": "Signed Up"});
    assert_eq!(t.batch(&json!({"batch": [call]})).await.status, StatusCode::OK, "the key still works");
}
