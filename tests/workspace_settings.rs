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

#[tokio::test]
async fn an_admin_saves_valid_settings_on_the_settings_page() {
    let app = TestApp::new().await;
    let created = app.with_workspace("Acme", "owner@example.com").await;
    let owner = app.token_for(&created, created.owner_id).await;
    let (cookie, csrf) = app.sign_in("owner@example.com").await;
    let page = app.get_as(&cookie, "/settings").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text());
    assert!(page.text().contains("value=\"UTC\"") && page.text().contains("/account/two-factor"), "{}", page.text());

    let fields = [
        ("csrf_token", csrf.as_str()),
        ("name", "Acme Europe"),
        ("default_currency", "eur"),
        ("time_zone", "Europe/Paris"),
        ("locale", "fr_FR"),
        ("country", "fr"),
    ];
    let saved = app.post_form_as(&cookie, "/settings", &fields).await;
    assert_eq!((saved.status, saved.header("location")), (StatusCode::SEE_OTHER, "/settings?saved=1"));
    let now = app.call(&owner, Method::GET, "/api/v1/workspace", None).await.json();
    assert_eq!(
        (&now["name"], &now["default_currency"], &now["time_zone"], &now["locale"], &now["country"]),
        (&json!("Acme Europe"), &json!("EUR"), &json!("Europe/Paris"), &json!("fr-FR"), &json!("FR"))
    );
    let shown = app.get_as(&cookie, "/settings?saved=1").await.text();
    assert!(shown.contains("Settings saved") && shown.contains("value=\"Europe/Paris\""), "{shown}");
    let trail = app.call(&owner, Method::GET, "/api/v1/audit?entity=workspace", None).await.json();
    assert_eq!(trail["items"].as_array().unwrap().len(), 1, "one audit row for the change: {trail}");
}

#[tokio::test]
async fn an_invalid_time_zone_on_the_settings_page_is_shown_beside_the_field_and_nothing_is_saved() {
    let app = TestApp::new().await;
    let created = app.with_workspace("Acme", "owner@example.com").await;
    let owner = app.token_for(&created, created.owner_id).await;
    let (cookie, csrf) = app.sign_in("owner@example.com").await;
    let fields = [
        ("csrf_token", csrf.as_str()),
        ("name", "Acme"),
        ("default_currency", "USD"),
        ("time_zone", "Mars/Olympus"),
        ("locale", "en-US"),
        ("country", "GB"),
    ];
    let refused = app.post_form_as(&cookie, "/settings", &fields).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    let html = refused.text();
    assert!(html.contains("id=\"time_zone-error\">must be an IANA time zone"), "the error is beside the field: {html}");
    assert!(html.contains("value=\"Mars/Olympus\"") && html.contains("Nothing was saved"), "{html}");
    let now = app.call(&owner, Method::GET, "/api/v1/workspace", None).await.json();
    assert_eq!(
        (&now["country"], &now["time_zone"]),
        (&json!("US"), &json!("UTC")),
        "the valid country was not saved either"
    );
}

#[tokio::test]
async fn a_member_gets_403_on_the_settings_page_and_the_navigation_offers_only_what_they_may_open() {
    let app = TestApp::new().await;
    let created = app.with_workspace("Acme", "owner@example.com").await;
    app.add_member(created.workspace_id, "member@example.com", "member").await;
    let (cookie, csrf) = app.sign_in("member@example.com").await;
    assert_eq!(app.get_as(&cookie, "/settings").await.status, StatusCode::FORBIDDEN);
    let post = app.post_form_as(&cookie, "/settings", &[("csrf_token", &csrf), ("name", "Mine now")]).await;
    assert_eq!(post.status, StatusCode::FORBIDDEN);

    let nav = |html: &str| {
        let nav = html.split("<nav").nth(1).unwrap().split("</nav>").next().unwrap().to_owned();
        ["/people", "/settings", "/roles", "/audit", "/api/docs"].map(|link| nav.contains(&format!("href=\"{link}\"")))
    };
    assert_eq!(nav(&app.get_as(&cookie, "/").await.text()), [true, false, false, false, true]);
    let (owner, _) = app.sign_in("owner@example.com").await;
    for page in ["/", "/people", "/settings", "/roles", "/audit"] {
        assert_eq!(nav(&app.get_as(&owner, page).await.text()), [true; 5], "{page}");
    }
}
