//! Workspace settings over the API: sensible defaults, canonical values, every bad field named
//! with nothing changed, owners and admins only, each change in the audit trail, and the country
//! setting deciding how national phone numbers are read.

#![allow(clippy::unwrap_used)]

mod util;

use axum::http::{Method, StatusCode};
use serde_json::json;
use util::TestApp;

#[tokio::test]
async fn an_owner_changes_the_settings_and_each_change_is_audited() {
    let app = TestApp::new().await;
    let created = app.with_workspace("Acme", "owner@example.com").await;
    let owner = app.token_for(&created, created.owner_id).await;
    let defaults = app.call(&owner, Method::GET, "/api/v1/workspace", None).await.json();
    assert_eq!(
        (&defaults["default_currency"], &defaults["time_zone"], &defaults["locale"], &defaults["country"]),
        (&json!("USD"), &json!("UTC"), &json!("en-US"), &json!("US"))
    );

    let patch = json!({"country": "gb", "time_zone": "Europe/London", "default_currency": "gbp", "locale": "en_gb"});
    let changed = app.call(&owner, Method::PATCH, "/api/v1/workspace", Some(patch)).await;
    assert_eq!(changed.status, StatusCode::OK, "{}", changed.text());
    let changed = changed.json();
    assert_eq!(
        (&changed["country"], &changed["default_currency"], &changed["locale"]),
        (&json!("GB"), &json!("GBP"), &json!("en-GB"))
    );
    assert_eq!(changed["name"], "Acme");

    let trail = app.call(&owner, Method::GET, "/api/v1/audit?entity=workspace", None).await.json();
    let fields: Vec<&str> =
        trail["items"][0]["changes"].as_array().unwrap().iter().map(|c| c["field"].as_str().unwrap()).collect();
    assert_eq!(fields, ["default_currency", "time_zone", "locale", "country"]);
}

#[tokio::test]
async fn bad_settings_are_all_named_and_nothing_changes() {
    let app = TestApp::new().await;
    let created = app.with_workspace("Acme", "owner@example.com").await;
    let owner = app.token_for(&created, created.owner_id).await;
    let patch = json!({"country": "XX", "time_zone": "Mars/Olympus", "default_currency": "EURO",
                       "locale": "english", "colour": "red", "name": " "});
    let refused = app.call(&owner, Method::PATCH, "/api/v1/workspace", Some(patch)).await;
    assert_eq!(
        (refused.status, refused.error_code().as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, "validation_failed")
    );
    let named: Vec<String> = refused.json()["error"]["fields"].as_object().unwrap().keys().cloned().collect();
    assert_eq!(named, ["colour", "country", "default_currency", "locale", "name", "time_zone"]);
    let now = app.call(&owner, Method::GET, "/api/v1/workspace", None).await.json();
    assert_eq!((&now["country"], &now["name"]), (&json!("US"), &json!("Acme")));
}

#[tokio::test]
async fn members_read_the_settings_but_only_owners_and_admins_change_them() {
    let app = TestApp::new().await;
    let created = app.with_workspace("Acme", "owner@example.com").await;
    let member_id = app.add_member(created.workspace_id, "member@example.com", "member").await;
    let member = app.token_for(&created, member_id).await;
    assert_eq!(app.call(&member, Method::GET, "/api/v1/workspace", None).await.status, StatusCode::OK);
    let refused = app.call(&member, Method::PATCH, "/api/v1/workspace", Some(json!({"country": "FR"}))).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.text());
}

#[tokio::test]
async fn national_phone_numbers_are_read_in_the_workspace_country() {
    let app = TestApp::new().await;
    let created = app.with_workspace("Acme", "owner@example.com").await;
    let owner = app.token_for(&created, created.owner_id).await;
    let patch = Some(json!({"country": "GB"}));
    assert_eq!(app.call(&owner, Method::PATCH, "/api/v1/workspace", patch).await.status, StatusCode::OK);
    let person = json!({"first_name": "Ada", "phone": "020 7946 0958"});
    let created = app.call(&owner, Method::POST, "/api/v1/people", Some(person)).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text());
    assert_eq!(created.json()["phone"], "+442079460958");
}
