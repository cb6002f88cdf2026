//! Field-level permissions on people through every path that exists: a role with a hidden
//! field never sees it in a record, a list or a page (nor in the list behind a primary email), and a
//! read-only field cannot be written; other roles are unaffected.

#![allow(clippy::unwrap_used)]

mod util;

use axum::http::{Method, StatusCode};
use rapport::access::{self, FieldRule};
use rapport::identity;
use serde_json::json;
use util::TestApp;

#[tokio::test]
async fn a_hidden_field_is_absent_from_records_and_lists_and_a_read_only_field_refuses_writes() {
    let app = TestApp::new().await;
    let created = app.with_workspace("Acme", "owner@example.com").await;
    let owner = app.token_for(&created, created.owner_id).await;
    let member_id = app.add_member(created.workspace_id, "member@example.com", "member").await;
    let member = app.token_for(&created, member_id).await;
    let owner_principal = identity::token_principal(app.db(), &owner).await.unwrap();
    for (field, rule) in
        [("email", FieldRule::Hidden), ("address.city", FieldRule::Hidden), ("first_name", FieldRule::ReadOnly)]
    {
        access::set_field_rule(app.db(), &owner_principal, ("member", "person", field), Some(rule), None)
            .await
            .unwrap();
    }

    let body = json!({"first_name": "Ada", "last_name": "Lovelace", "email": "ada@example.com",
                      "address": {"city": "London", "country": "GB"}, "owner": member_id.get()});
    let person = app.call(&owner, Method::POST, "/api/v1/people", Some(body)).await;
    assert_eq!(person.status, StatusCode::CREATED, "{}", person.text());
    let id = person.json()["id"].as_i64().unwrap();
    let path = format!("/api/v1/people/{id}");

    let seen = app.call(&member, Method::GET, &path, None).await.json();
    assert_eq!(seen["first_name"], "Ada");
    assert!(seen.get("email").is_none() && seen.get("emails").is_none(), "hidden in the record: {seen}");
    assert!(seen["address"].get("city").is_none() && seen["address"]["country"] == "GB", "{seen}");
    let listed = app.call(&member, Method::GET, "/api/v1/people", None).await.json();
    assert!(listed["data"][0].get("email").is_none() && listed["data"][0].get("emails").is_none(), "{listed}");
    assert!(!listed.to_string().contains("ada@example.com"), "nowhere in the list: {listed}");

    let refused = app.call(&member, Method::PATCH, &path, Some(json!({"first_name": "Augusta"}))).await;
    assert_eq!((refused.status, refused.error_code().as_str()), (StatusCode::FORBIDDEN, "field_read_only"));
    assert!(refused.text().contains("first_name"), "{}", refused.text());
    let hidden_write = app.call(&member, Method::PATCH, &path, Some(json!({"emails": [{"value": "x@example.com"}]})));
    assert_eq!(hidden_write.await.status, StatusCode::FORBIDDEN, "a hidden field cannot be written either");
    let allowed = app.call(&member, Method::PATCH, &path, Some(json!({"last_name": "King"}))).await;
    assert_eq!(allowed.status, StatusCode::OK, "{}", allowed.text());
    assert!(allowed.json().get("email").is_none(), "the answer to a write is projected too");

    let (cookie, _) = app.sign_in("member@example.com").await;
    for page in ["/people".to_owned(), format!("/people/{id}")] {
        let html = app.get_as(&cookie, &page).await;
        assert_eq!(html.status, StatusCode::OK, "{page}: {}", html.text());
        assert!(html.text().contains("Ada") && !html.text().contains("ada@example.com"), "{page} shows a hidden field");
        assert!(!html.text().contains("London"), "{page} shows the hidden city");
    }

    let owners_view = app.call(&owner, Method::GET, &path, None).await.json();
    assert_eq!(
        (owners_view["email"].as_str(), owners_view["first_name"].as_str()),
        (Some("ada@example.com"), Some("Ada"))
    );
    assert_eq!(owners_view["last_name"], "King");
}
