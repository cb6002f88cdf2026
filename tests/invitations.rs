//! Invitations through a real SMTP server on loopback: the emailed link creates the account and
//! the membership exactly once; spent, expired, revoked and replaced links change nothing; an
//! existing account joins a second workspace with its password; only owners and admins invite.

#![allow(clippy::unwrap_used)]

mod util;

use axum::http::{Method, StatusCode};
use util::TestApp;
use util::account::{cookie, csrf, security_log_count};
use util::smtp::{SmtpSink, app_with_mail, link, next_message_to, path_of};

const OWNER: &str = "owner@example.com";
const INVITEE: &str = "newcomer@example.com";
const PASSWORD: &str = "a fresh long passphrase";
const ACCEPT: &str = "http://rapport.test/invitations/accept?token=";

fn token_of(link: &str) -> &str {
    link.split("token=").nth(1).unwrap()
}

/// Invites `email` as the owner through the API and returns the link that arrived by email.
async fn invite(app: &TestApp, sink: &SmtpSink, owner_token: &str, email: &str) -> String {
    let before = sink.messages_to(email).len();
    let body = serde_json::json!({"email": email, "role": "member"});
    let created = app.call(owner_token, Method::POST, "/api/v1/invitations", Some(body)).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text());
    link(&next_message_to(app, sink, email, before).await, ACCEPT)
}

async fn accept(app: &TestApp, link: &str, password: &str) -> util::TestResponse {
    app.post_form("/invitations/accept", &[("token", token_of(link)), ("password", password)]).await
}

async fn users(app: &TestApp) -> i64 {
    app.count("users").await
}

#[tokio::test]
async fn an_emailed_invitation_creates_the_account_and_membership_once() {
    let Some(sink) = SmtpSink::start_or_skip() else { return };
    let app = app_with_mail(&sink).await;
    let acme = app.with_workspace("Acme", OWNER).await;
    let owner = app.token_for(&acme, acme.owner_id).await;

    let link = invite(&app, &sink, &owner, INVITEE).await;
    let message = sink.messages_to(INVITEE).pop().unwrap();
    assert!(message.contains("Subject: owner@example.com invites you to Acme on Rapport"), "{message}");
    assert!(message.contains("text/plain") && message.contains("text/html"), "both bodies are sent");

    let page = app.get(path_of(&link)).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.text().contains("Join Acme") && page.text().contains(OWNER), "workspace and inviter are shown");
    assert!(page.text().contains("Choose a password"));

    let accepted = accept(&app, &link, PASSWORD).await;
    assert_eq!(accepted.status, StatusCode::SEE_OTHER, "{}", accepted.text());
    assert_eq!(accepted.header("location"), "/");
    let session = cookie(&accepted, "rapport_session").expect("the new member is signed in");
    let me = app.get_as(&session, "/api/v1/me").await.json();
    assert_eq!(me["user"]["email"], INVITEE);
    assert_eq!(me["user"]["email_verified"], true, "accepting proves the address");
    assert_eq!(me["workspace"]["name"], "Acme");
    assert_eq!(me["role"], "member");

    let (users_after, members_after) = (users(&app).await, app.count("memberships").await);
    assert_eq!(accept(&app, &link, "another long passphrase").await.status, StatusCode::GONE, "the link is spent");
    assert_eq!(app.get(path_of(&link)).await.status, StatusCode::GONE);
    assert_eq!((users(&app).await, app.count("memberships").await), (users_after, members_after));
    assert_eq!(security_log_count(&app, "invitation_created").await, 1);
    assert_eq!(security_log_count(&app, "invitation_accepted").await, 1);
}

#[tokio::test]
async fn expired_revoked_and_resent_links_are_refused_and_change_nothing() {
    let Some(sink) = SmtpSink::start_or_skip() else { return };
    let app = app_with_mail(&sink).await;
    let acme = app.with_workspace("Acme", OWNER).await;
    let owner = app.token_for(&acme, acme.owner_id).await;

    let expired = invite(&app, &sink, &owner, "late@example.com").await;
    let past = chrono::Utc::now() - chrono::Duration::minutes(1);
    app.set_time("UPDATE invitations SET expires_at = $1 WHERE email = 'late@example.com'", past).await;
    let revoked = invite(&app, &sink, &owner, "revoked@example.com").await;
    let listed = app.call(&owner, Method::GET, "/api/v1/invitations", None).await.json();
    let pending = listed["invitations"].as_array().unwrap();
    assert_eq!(pending.len(), 2);
    assert!(pending.iter().any(|i| i["email"] == "late@example.com" && i["expired"] == true));
    let id = pending.iter().find(|i| i["email"] == "revoked@example.com").unwrap()["id"].as_i64().unwrap();
    let deleted = app.call(&owner, Method::DELETE, &format!("/api/v1/invitations/{id}"), None).await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    let again = app.call(&owner, Method::DELETE, &format!("/api/v1/invitations/{id}"), None).await;
    assert_eq!(again.status, StatusCode::NOT_FOUND, "a revoked invitation is gone");

    let before = users(&app).await;
    for dead in [&expired, &revoked] {
        assert_eq!(app.get(path_of(dead)).await.status, StatusCode::GONE);
        let refused = accept(&app, dead, PASSWORD).await;
        assert_eq!(refused.status, StatusCode::GONE);
        assert!(refused.text().contains("invalid, has expired, was revoked or was already used"));
    }
    assert_eq!(users(&app).await, before, "no account was created");
    assert_eq!(security_log_count(&app, "invitation_revoked").await, 1);

    let old = invite(&app, &sink, &owner, INVITEE).await;
    let listed = app.call(&owner, Method::GET, "/api/v1/invitations", None).await.json();
    let id = listed["invitations"].as_array().unwrap().iter().find(|i| i["email"] == INVITEE).unwrap()["id"].clone();
    let before = sink.messages_to(INVITEE).len();
    let resent = app.call(&owner, Method::POST, &format!("/api/v1/invitations/{id}/resend"), None).await;
    assert_eq!(resent.status, StatusCode::OK, "{}", resent.text());
    let new = link(&next_message_to(&app, &sink, INVITEE, before).await, ACCEPT);
    assert_ne!(old, new);
    assert_eq!(accept(&app, &old, PASSWORD).await.status, StatusCode::GONE, "resending kills the old link");
    assert_eq!(accept(&app, &new, PASSWORD).await.status, StatusCode::SEE_OTHER);
    assert_eq!(security_log_count(&app, "invitation_resent").await, 1);
}

#[tokio::test]
async fn a_refused_password_creates_nothing_and_leaves_the_link_usable() {
    let Some(sink) = SmtpSink::start_or_skip() else { return };
    let app = app_with_mail(&sink).await;
    let acme = app.with_workspace("Acme", OWNER).await;
    let owner = app.token_for(&acme, acme.owner_id).await;
    let link = invite(&app, &sink, &owner, INVITEE).await;
    let before = users(&app).await;
    for weak in ["short", "Password123"] {
        let refused = accept(&app, &link, weak).await;
        assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(refused.text().contains("Join Acme"), "the form is shown again");
    }
    assert_eq!(users(&app).await, before);
    assert_eq!(accept(&app, &link, PASSWORD).await.status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn an_existing_user_accepts_with_their_password_and_joins_a_second_workspace() {
    let Some(sink) = SmtpSink::start_or_skip() else { return };
    let app = app_with_mail(&sink).await;
    app.with_workspace("Acme", OWNER).await;
    let beta = app.with_workspace("Beta", "boss@beta.example").await;
    let boss = app.token_for(&beta, beta.owner_id).await;

    let link = invite(&app, &sink, &boss, OWNER).await;
    let page = app.get(path_of(&link)).await.text();
    assert!(page.contains("Sign in and join") && page.contains("Your password"), "{page}");
    let users_before = users(&app).await;

    let wrong = accept(&app, &link, "not the password at all").await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert!(wrong.text().contains("The password is wrong."));
    assert_eq!(app.count_in("memberships", beta.workspace_id).await, 1, "not joined yet");

    let accepted = accept(&app, &link, util::account::PASSWORD).await;
    assert_eq!(accepted.status, StatusCode::SEE_OTHER, "{}", accepted.text());
    let session = cookie(&accepted, "rapport_session").unwrap();
    let me = app.get_as(&session, "/api/v1/me").await.json();
    assert_eq!(me["workspace"]["name"], "Beta", "the session is in the workspace joined");
    assert_eq!(me["user"]["email"], OWNER);
    assert_eq!(users(&app).await, users_before, "no second account");
    assert_eq!(app.count_in("memberships", beta.workspace_id).await, 2);
}

#[tokio::test]
async fn inviting_an_existing_member_is_refused_on_the_email_field() {
    let app = TestApp::new().await;
    let acme = app.with_workspace("Acme", OWNER).await;
    app.add_member(acme.workspace_id, "member@example.com", "member").await;
    let owner = app.token_for(&acme, acme.owner_id).await;
    for email in ["member@example.com", "Member@Example.com", OWNER] {
        let body = serde_json::json!({"email": email, "role": "viewer"});
        let refused = app.call(&owner, Method::POST, "/api/v1/invitations", Some(body)).await;
        assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(refused.json()["error"]["fields"]["email"][0], "already a member");
    }
    let bad_role = serde_json::json!({"email": INVITEE, "role": "emperor"});
    let refused = app.call(&owner, Method::POST, "/api/v1/invitations", Some(bad_role)).await;
    assert!(refused.json()["error"]["fields"]["role"].is_array());
    assert_eq!(app.count("invitations").await, 0);
}

#[tokio::test]
async fn a_member_cannot_invite_list_members_or_change_roles_by_api_or_page() {
    let app = TestApp::new().await;
    let acme = app.with_workspace("Acme", OWNER).await;
    let member = app.add_member(acme.workspace_id, "member@example.com", "manager").await;
    let token = app.token_for(&acme, member).await;
    let invite = serde_json::json!({"email": INVITEE, "role": "member"});
    let role = serde_json::json!({"role": "admin"});
    let owner_path = format!("/api/v1/members/{}", acme.owner_id);
    for (method, path, body) in [
        (Method::GET, "/api/v1/members", None),
        (Method::GET, "/api/v1/invitations", None),
        (Method::POST, "/api/v1/invitations", Some(invite)),
        (Method::PATCH, owner_path.as_str(), Some(role.clone())),
        (Method::PATCH, &format!("/api/v1/members/{member}"), Some(role)),
    ] {
        let refused = app.call(&token, method.clone(), path, body).await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN, "{method} {path}");
        assert_eq!(refused.error_code(), "forbidden");
    }

    let session = util::account::session(&app, "member@example.com").await;
    assert_eq!(app.get_as(&session, "/members").await.status, StatusCode::FORBIDDEN);
    let home = app.get_as(&session, "/").await.text();
    let csrf = csrf(&home);
    let fields = [("csrf_token", csrf.as_str()), ("email", INVITEE), ("role", "member")];
    assert_eq!(app.post_form_as(&session, "/members/invite", &fields).await.status, StatusCode::FORBIDDEN);
    let fields = [("csrf_token", csrf.as_str()), ("role", "owner")];
    let path = format!("/members/{member}/role");
    assert_eq!(app.post_form_as(&session, &path, &fields).await.status, StatusCode::FORBIDDEN);
    assert_eq!(app.count("invitations").await, 0);
    let me = app.call(&token, Method::GET, "/api/v1/me", None).await.json();
    assert_eq!(me["role"], "manager", "the role is unchanged");
}
