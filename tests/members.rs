//! Members, as owners and admins manage them: the list, role changes, deactivation that ends a
//! member's sessions and tokens at once, reactivation, and the protections of owners.

#![allow(clippy::unwrap_used)]

mod util;

use axum::http::{Method, StatusCode};
use util::TestApp;
use util::account::{csrf, security_log_count, session};

const OWNER: &str = "owner@example.com";
const MEMBER: &str = "member@example.com";

async fn patch(app: &TestApp, token: &str, user: rapport_core::UserId, body: serde_json::Value) -> util::TestResponse {
    app.call(token, Method::PATCH, &format!("/api/v1/members/{user}"), Some(body)).await
}

#[tokio::test]
async fn the_members_api_lists_every_member_with_role_two_factor_and_activity() {
    let app = TestApp::new().await;
    let acme = app.with_workspace("Acme", OWNER).await;
    app.add_member(acme.workspace_id, MEMBER, "viewer").await;
    session(&app, MEMBER).await;
    let owner = app.token_for(&acme, acme.owner_id).await;
    let list = app.call(&owner, Method::GET, "/api/v1/members", None).await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.text());
    let members = list.json()["members"].as_array().unwrap().clone();
    assert_eq!(members.len(), 2);
    assert_eq!(members[0]["email"], OWNER);
    assert_eq!(members[0]["role"], "owner");
    let member = &members[1];
    assert_eq!((member["role"].as_str(), member["two_factor"].as_bool()), (Some("viewer"), Some(false)));
    assert_eq!(member["active"], true);
    assert!(member["last_active_at"].is_string(), "signing in counts as activity: {member}");
    assert!(member["joined_at"].is_string());
}

#[tokio::test]
async fn deactivating_a_member_ends_their_session_and_token_at_once_and_reactivating_lets_them_sign_in_again() {
    let app = TestApp::new().await;
    let acme = app.with_workspace("Acme", OWNER).await;
    let member = app.add_member(acme.workspace_id, MEMBER, "member").await;
    let member_session = session(&app, MEMBER).await;
    let member_token = app.token_for(&acme, member).await;
    assert_eq!(app.get_as(&member_session, "/api/v1/me").await.status, StatusCode::OK);
    let owner = app.token_for(&acme, acme.owner_id).await;

    let deactivated = patch(&app, &owner, member, serde_json::json!({"active": false})).await;
    assert_eq!(deactivated.status, StatusCode::OK, "{}", deactivated.text());
    assert_eq!(deactivated.json()["active"], false);
    assert_eq!(app.call(&member_token, Method::GET, "/api/v1/me", None).await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(app.get_as(&member_session, "/api/v1/me").await.status, StatusCode::UNAUTHORIZED);
    let page = app.get_as(&member_session, "/account/sessions").await;
    assert!(!page.status.is_success(), "the session no longer opens pages: {}", page.status);
    let login = util::account::sign_in(&app, MEMBER, util::account::PASSWORD).await;
    assert_eq!(login.status, StatusCode::FORBIDDEN, "a deactivated member cannot sign in to the workspace");
    assert_eq!(security_log_count(&app, "member_deactivated").await, 1);

    let reactivated = patch(&app, &owner, member, serde_json::json!({"active": true})).await;
    assert_eq!(reactivated.json()["active"], true);
    assert_eq!(
        app.get_as(&member_session, "/api/v1/me").await.status,
        StatusCode::UNAUTHORIZED,
        "the old session stays ended"
    );
    let again = session(&app, MEMBER).await;
    assert_eq!(app.get_as(&again, "/api/v1/me").await.status, StatusCode::OK);
    assert_eq!(security_log_count(&app, "member_reactivated").await, 1);
}

#[tokio::test]
async fn an_admin_cannot_deactivate_or_demote_the_owner_nor_make_anyone_owner() {
    let app = TestApp::new().await;
    let acme = app.with_workspace("Acme", OWNER).await;
    let admin = app.add_member(acme.workspace_id, "admin@example.com", "admin").await;
    let member = app.add_member(acme.workspace_id, MEMBER, "member").await;
    let token = app.token_for(&acme, admin).await;
    for body in [serde_json::json!({"active": false}), serde_json::json!({"role": "admin"})] {
        let refused = patch(&app, &token, acme.owner_id, body).await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.text());
    }
    assert_eq!(patch(&app, &token, member, serde_json::json!({"role": "owner"})).await.status, StatusCode::FORBIDDEN);
    let changed = patch(&app, &token, member, serde_json::json!({"role": "manager"})).await;
    assert_eq!(changed.json()["role"], "manager", "admins change other members' roles");
    assert_eq!(security_log_count(&app, "role_changed").await, 1);
    let unknown = patch(&app, &token, rapport_core::UserId::new(987_654), serde_json::json!({"role": "viewer"})).await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_last_owner_cannot_leave_or_step_down() {
    let app = TestApp::new().await;
    let acme = app.with_workspace("Acme", OWNER).await;
    let owner = app.token_for(&acme, acme.owner_id).await;
    for body in [serde_json::json!({"active": false}), serde_json::json!({"role": "admin"})] {
        let refused = patch(&app, &owner, acme.owner_id, body).await;
        assert_eq!(refused.status, StatusCode::CONFLICT);
        assert_eq!(refused.error_code(), "last_owner");
    }
    let second = app.add_member(acme.workspace_id, "second@example.com", "admin").await;
    assert_eq!(patch(&app, &owner, second, serde_json::json!({"role": "owner"})).await.status, StatusCode::OK);
    let stepped_down = patch(&app, &owner, acme.owner_id, serde_json::json!({"role": "admin"})).await;
    assert_eq!(stepped_down.status, StatusCode::OK, "with another owner, an owner may step down");
}

#[tokio::test]
async fn the_members_page_manages_members_and_invitations_through_its_forms() {
    let app = TestApp::new().await;
    let acme = app.with_workspace("Acme", OWNER).await;
    let member = app.add_member(acme.workspace_id, MEMBER, "member").await;
    let member_session = session(&app, MEMBER).await;
    let owner = session(&app, OWNER).await;
    let page = app.get_as(&owner, "/members").await;
    assert_eq!(page.status, StatusCode::OK);
    let html = page.text();
    assert!(html.contains(OWNER) && html.contains(MEMBER) && html.contains("2FA off"), "{html}");
    let token = csrf(&html);
    let form = |extra: &[(&'static str, &'static str)]| {
        let mut fields = vec![("csrf_token", token.clone())];
        fields.extend(extra.iter().map(|(k, v)| (*k, (*v).to_owned())));
        fields
    };
    let post = |path: String, fields: Vec<(&'static str, String)>| {
        let owner = owner.clone();
        let app = &app;
        async move {
            let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
            app.post_form_as(&owner, &path, &fields).await
        }
    };

    let invited = post("/members/invite".into(), form(&[("email", "new@example.com"), ("role", "viewer")])).await;
    assert_eq!(invited.status, StatusCode::SEE_OTHER);
    let taken = post("/members/invite".into(), form(&[("email", MEMBER), ("role", "viewer")])).await;
    assert_eq!(taken.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(taken.text().contains("already a member"));
    let html = app.get_as(&owner, "/members").await.text();
    assert!(html.contains("data-invitation=\"new@example.com\""), "the invitation is pending");
    let id = html.split("/invitations/").nth(1).unwrap().split('/').next().unwrap().to_owned();
    assert_eq!(post(format!("/invitations/{id}/resend"), form(&[])).await.status, StatusCode::SEE_OTHER);
    assert_eq!(post(format!("/invitations/{id}/revoke"), form(&[])).await.status, StatusCode::SEE_OTHER);
    assert!(!app.get_as(&owner, "/members").await.text().contains("data-invitation="));

    let changed = post(format!("/members/{member}/role"), form(&[("role", "manager")])).await;
    assert_eq!(changed.status, StatusCode::SEE_OTHER);
    assert_eq!(post(format!("/members/{member}/sign-out"), form(&[])).await.status, StatusCode::SEE_OTHER);
    assert_eq!(app.get_as(&member_session, "/api/v1/me").await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(post(format!("/members/{member}/deactivate"), form(&[])).await.status, StatusCode::SEE_OTHER);
    let html = app.get_as(&owner, "/members").await.text();
    assert!(html.contains("deactivated") && html.contains(&format!("/members/{member}/reactivate")));
    let last = post(format!("/members/{}/deactivate", acme.owner_id), form(&[])).await;
    assert_eq!(last.status, StatusCode::CONFLICT);
    assert!(last.text().contains("needs an active owner"));
    assert_eq!(post(format!("/members/{member}/reactivate"), form(&[])).await.status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn the_members_page_gives_and_takes_a_custom_role_with_the_built_in_one() {
    let app = TestApp::new().await;
    let acme = app.with_workspace("Acme", OWNER).await;
    let member = app.add_member(acme.workspace_id, MEMBER, "member").await;
    let owner_token = app.token_for(&acme, acme.owner_id).await;
    let admin = rapport::identity::token_principal(app.db(), &owner_token).await.unwrap();
    let role = rapport::access::create_role(
        app.db(),
        &admin,
        rapport::access::Name::parse("Support desk").unwrap(),
        vec![rapport::identity::Grant::parse("people:read:all").unwrap()],
        None,
    )
    .await
    .unwrap();
    let owner = session(&app, OWNER).await;
    let html = app.get_as(&owner, "/members").await.text();
    assert!(html.contains("Support desk"), "the member rows offer the custom roles: {html}");
    let token = csrf(&html);
    let path = format!("/members/{member}/role");
    let role_id = role.to_string();
    let given =
        app.post_form_as(&owner, &path, &[("csrf_token", &token), ("role", "viewer"), ("role_id", &role_id)]).await;
    assert_eq!(given.status, StatusCode::SEE_OTHER, "{}", given.text());
    let listed = app.call(&owner_token, Method::GET, "/api/v1/members", None).await.json();
    let row = listed["members"].as_array().unwrap().iter().find(|m| m["email"] == MEMBER).unwrap().clone();
    assert_eq!((row["role"].as_str(), row["role_id"].as_i64()), (Some("viewer"), Some(role)), "{row}");

    let unknown =
        app.post_form_as(&owner, &path, &[("csrf_token", &token), ("role", "viewer"), ("role_id", "99999")]).await;
    assert_eq!(unknown.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(unknown.text().contains("no such custom role"));
    let taken = app.post_form_as(&owner, &path, &[("csrf_token", &token), ("role", "member"), ("role_id", "")]).await;
    assert_eq!(taken.status, StatusCode::SEE_OTHER);
    let listed = app.call(&owner_token, Method::GET, "/api/v1/members", None).await.json();
    let row = listed["members"].as_array().unwrap().iter().find(|m| m["email"] == MEMBER).unwrap().clone();
    assert!(row["role_id"].is_null() && row["role"] == "member", "{row}");
}
