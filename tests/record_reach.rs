//! Reach on people, on the API and the pages alike: members change and delete only their own
//! records, managers their teams', a role that reads only its own sees nobody else (others
//! answer exactly as missing people), nobody hands a record out of their reach through its
//! owner, and a person's history tab shows changes without those of hidden fields. Companies
//! follow the same reach on the API and their pages, links to people included. Also the
//! audit page's filters by user email and by day.

#![allow(clippy::unwrap_used)]

mod util;

use axum::http::{Method, StatusCode};
use rapport::access::{self, FieldRule, Name};
use rapport::identity::{self, Grant, Principal};
use rapport::workspace::Created;
use rapport_core::UserId;
use serde_json::{Value, json};
use util::{TestApp, TestResponse};

/// A workspace with its owner's token and principal.
struct Workspace {
    created: Created,
    owner: String,
    admin: Principal,
}

async fn workspace(app: &TestApp) -> Workspace {
    let created = app.with_workspace("Acme", "owner@example.com").await;
    let owner = app.token_for(&created, created.owner_id).await;
    let admin = identity::token_principal(app.db(), &owner).await.unwrap();
    Workspace { created, owner, admin }
}

/// A member with a built-in role and a full-scope token.
async fn member(app: &TestApp, ws: &Workspace, email: &str, role: &'static str) -> (UserId, String) {
    let id = app.add_member(ws.created.workspace_id, email, role).await;
    (id, app.token_for(&ws.created, id).await)
}

/// A person created by the owner for `owner`; returns its id.
async fn person_of(app: &TestApp, ws: &Workspace, name: &str, owner: UserId) -> i64 {
    let body = json!({"first_name": name, "owner": owner.get()});
    let created = app.call(&ws.owner, Method::POST, "/api/v1/people", Some(body)).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text());
    created.json()["id"].as_i64().unwrap()
}

fn path(id: i64) -> String {
    format!("/api/v1/people/{id}")
}

fn refused(response: &TestResponse) -> (StatusCode, String) {
    (response.status, response.error_code())
}

#[tokio::test]
async fn a_member_updates_and_deletes_their_own_person_but_gets_403_on_a_colleagues() {
    let app = TestApp::new().await;
    let ws = workspace(&app).await;
    let (alice_id, alice) = member(&app, &ws, "alice@example.com", "member").await;
    let (bob_id, _) = member(&app, &ws, "bob@example.com", "member").await;
    let own = person_of(&app, &ws, "Ada", alice_id).await;
    let colleagues = person_of(&app, &ws, "Grace", bob_id).await;

    let changed = app.call(&alice, Method::PATCH, &path(own), Some(json!({"last_name": "Lovelace"}))).await;
    assert_eq!(changed.status, StatusCode::OK, "{}", changed.text());
    let read = app.call(&alice, Method::GET, &path(colleagues), None).await;
    assert_eq!(read.status, StatusCode::OK, "members read everyone's people");
    let patch = app.call(&alice, Method::PATCH, &path(colleagues), Some(json!({"last_name": "Hopper"}))).await;
    assert_eq!(refused(&patch), (StatusCode::FORBIDDEN, "forbidden".into()));
    assert!(patch.text().contains("within your reach"), "the refusal says why: {}", patch.text());
    let delete = app.call(&alice, Method::DELETE, &path(colleagues), None).await;
    assert_eq!(refused(&delete), (StatusCode::FORBIDDEN, "forbidden".into()));
    let untouched = app.call(&ws.owner, Method::GET, &path(colleagues), None).await.json();
    assert_eq!((untouched["last_name"].clone(), untouched["deleted_at"].clone()), (Value::Null, Value::Null));

    assert_eq!(app.call(&alice, Method::DELETE, &path(own), None).await.status, StatusCode::NO_CONTENT);
    let restored = app.call(&alice, Method::POST, &format!("{}/restore", path(own)), None).await;
    assert_eq!(restored.status, StatusCode::OK, "{}", restored.text());
    app.call(&ws.owner, Method::DELETE, &path(colleagues), None).await;
    let restore = app.call(&alice, Method::POST, &format!("{}/restore", path(colleagues)), None).await;
    assert_eq!(refused(&restore), (StatusCode::FORBIDDEN, "forbidden".into()));
}

#[tokio::test]
async fn nobody_hands_a_person_out_of_their_reach_through_its_owner() {
    let app = TestApp::new().await;
    let ws = workspace(&app).await;
    let (alice_id, alice) = member(&app, &ws, "alice@example.com", "member").await;
    let (bob_id, _) = member(&app, &ws, "bob@example.com", "member").await;

    let mine = app.call(&alice, Method::POST, "/api/v1/people", Some(json!({"first_name": "Ada"}))).await;
    assert_eq!(mine.status, StatusCode::CREATED, "{}", mine.text());
    assert_eq!(mine.json()["owner"], alice_id.get(), "a member's new person is their own");
    let id = mine.json()["id"].as_i64().unwrap();

    let body = json!({"first_name": "Bo", "owner": bob_id.get()});
    let given = app.call(&alice, Method::POST, "/api/v1/people", Some(body)).await;
    assert_eq!(refused(&given), (StatusCode::FORBIDDEN, "forbidden".into()));
    assert!(given.text().contains("owner"), "the refusal names the owner: {}", given.text());
    for owner in [json!(bob_id.get()), Value::Null] {
        let handed = app.call(&alice, Method::PATCH, &path(id), Some(json!({ "owner": owner }))).await;
        assert_eq!(refused(&handed), (StatusCode::FORBIDDEN, "forbidden".into()), "owner {owner}");
        assert!(handed.text().contains("owner"), "{}", handed.text());
    }
    let still = app.call(&ws.owner, Method::GET, &path(id), None).await.json();
    assert_eq!(still["owner"], alice_id.get());

    let unowned = app.call(&ws.owner, Method::POST, "/api/v1/people", Some(json!({"first_name": "Cy"}))).await;
    assert_eq!(unowned.json()["owner"], Value::Null, "an admin's reach is everyone: no owner is forced on them");
    let reassigned = app.call(&ws.owner, Method::PATCH, &path(id), Some(json!({"owner": bob_id.get()}))).await;
    assert_eq!(reassigned.status, StatusCode::OK, "{}", reassigned.text());
}

#[tokio::test]
async fn a_manager_changes_a_team_mates_person_but_not_one_owned_outside_the_team() {
    let app = TestApp::new().await;
    let ws = workspace(&app).await;
    let (manager_id, manager) = member(&app, &ws, "manager@example.com", "manager").await;
    let (mate_id, _) = member(&app, &ws, "mate@example.com", "member").await;
    let (outsider_id, _) = member(&app, &ws, "outsider@example.com", "member").await;
    let team = access::create_team(app.db(), &ws.admin, Name::parse("North").unwrap(), None).await.unwrap();
    for user in [manager_id, mate_id] {
        access::add_to_team(app.db(), &ws.admin, team, user, None).await.unwrap();
    }
    let mates = person_of(&app, &ws, "Ada", mate_id).await;
    let outsiders = person_of(&app, &ws, "Grace", outsider_id).await;

    let changed = app.call(&manager, Method::PATCH, &path(mates), Some(json!({"last_name": "Lovelace"}))).await;
    assert_eq!(changed.status, StatusCode::OK, "{}", changed.text());
    let outside = app.call(&manager, Method::PATCH, &path(outsiders), Some(json!({"last_name": "Hopper"}))).await;
    assert_eq!(refused(&outside), (StatusCode::FORBIDDEN, "forbidden".into()));
    let out_of_team = app.call(&manager, Method::PATCH, &path(mates), Some(json!({"owner": outsider_id.get()}))).await;
    assert_eq!(refused(&out_of_team), (StatusCode::FORBIDDEN, "forbidden".into()), "handing it outside the team");
    let to_self = app.call(&manager, Method::PATCH, &path(mates), Some(json!({"owner": manager_id.get()}))).await;
    assert_eq!(to_self.status, StatusCode::OK, "within the team: {}", to_self.text());
    assert_eq!(app.call(&manager, Method::DELETE, &path(outsiders), None).await.status, StatusCode::FORBIDDEN);
    assert_eq!(app.call(&manager, Method::DELETE, &path(mates), None).await.status, StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn a_role_that_reads_only_its_own_people_finds_nobody_elses_on_the_api_or_the_pages() {
    let app = TestApp::new().await;
    let ws = workspace(&app).await;
    let (reader_id, reader) = member(&app, &ws, "reader@example.com", "member").await;
    let role = access::create_role(
        app.db(),
        &ws.admin,
        Name::parse("Own readers").unwrap(),
        vec![Grant::parse("people:read:own").unwrap()],
        None,
    )
    .await
    .unwrap();
    access::assign_role(app.db(), &ws.admin, reader_id, Some(role), None).await.unwrap();
    let own = person_of(&app, &ws, "Ada", reader_id).await;
    let others = person_of(&app, &ws, "Grace", ws.created.owner_id).await;
    app.call(&ws.owner, Method::PATCH, &path(others), Some(json!({"last_name": "Hopper"}))).await;

    let listed = app.call(&reader, Method::GET, "/api/v1/people", None).await.json();
    let ids: Vec<i64> = listed["data"].as_array().unwrap().iter().map(|p| p["id"].as_i64().unwrap()).collect();
    assert_eq!((ids, listed["count"].clone()), (vec![own], json!(1)), "{listed}");
    for suffix in ["", "/timeline", "/history"] {
        let theirs = app.call(&reader, Method::GET, &format!("{}{suffix}", path(others)), None).await;
        let missing = app.call(&reader, Method::GET, &format!("{}{suffix}", path(987_654)), None).await;
        assert_eq!(refused(&theirs), refused(&missing), "{suffix}: someone else's person is missing");
        assert_eq!(theirs.status, StatusCode::NOT_FOUND);
        let mine = app.call(&reader, Method::GET, &format!("{}{suffix}", path(own)), None).await;
        assert_eq!(mine.status, StatusCode::OK, "{suffix}: {}", mine.text());
    }

    let (cookie, _) = app.sign_in("reader@example.com").await;
    let list = app.get_as(&cookie, "/people").await.text();
    assert!(list.contains("Ada") && !list.contains("Grace"), "{list}");
    assert!(!list.contains("/people/new"), "no create button without the create grant");
    for page in [format!("/people/{others}"), format!("/people/{others}/history"), format!("/people/{others}/edit")] {
        assert_eq!(app.get_as(&cookie, &page).await.status, StatusCode::NOT_FOUND, "{page}");
    }
    let detail = app.get_as(&cookie, &format!("/people/{own}")).await;
    assert_eq!(detail.status, StatusCode::OK);
    assert!(!detail.text().contains("/edit") && !detail.text().contains("/delete"), "read only: no buttons");
}

#[tokio::test]
async fn the_person_pages_offer_edit_and_delete_only_within_reach_and_refuse_forged_posts() {
    let app = TestApp::new().await;
    let ws = workspace(&app).await;
    let (alice_id, _) = member(&app, &ws, "alice@example.com", "member").await;
    let (bob_id, _) = member(&app, &ws, "bob@example.com", "member").await;
    let own = person_of(&app, &ws, "Ada", alice_id).await;
    let colleagues = person_of(&app, &ws, "Grace", bob_id).await;
    let (cookie, csrf) = app.sign_in("alice@example.com").await;

    let mine = app.get_as(&cookie, &format!("/people/{own}")).await.text();
    assert!(mine.contains(&format!("/people/{own}/edit")) && mine.contains(&format!("/people/{own}/delete")));
    let theirs = app.get_as(&cookie, &format!("/people/{colleagues}")).await.text();
    assert!(theirs.contains("Grace") && !theirs.contains("/edit") && !theirs.contains("/delete"), "{theirs}");
    assert_eq!(app.get_as(&cookie, &format!("/people/{colleagues}/edit")).await.status, StatusCode::FORBIDDEN);
    let forged = [("csrf_token", csrf.as_str()), ("first_name", "Amazing")];
    let edit = app.post_form_as(&cookie, &format!("/people/{colleagues}/edit"), &forged).await;
    assert_eq!(edit.status, StatusCode::FORBIDDEN);
    let delete = app.post_form_as(&cookie, &format!("/people/{colleagues}/delete"), &[("csrf_token", &csrf)]).await;
    assert_eq!(delete.status, StatusCode::FORBIDDEN);

    let form = app.get_as(&cookie, &format!("/people/{own}/edit")).await.text();
    let version = form.split("name=\"version\" value=\"").nth(1).unwrap().split('"').next().unwrap().to_owned();
    let fields =
        [("csrf_token", csrf.as_str()), ("version", &version), ("first_name", "Augusta"), ("last_name", "King")];
    let saved = app.post_form_as(&cookie, &format!("/people/{own}/edit"), &fields).await;
    assert_eq!((saved.status, saved.header("location")), (StatusCode::SEE_OTHER, format!("/people/{own}").as_str()));
    let after = app.call(&ws.owner, Method::GET, &path(own), None).await.json();
    assert_eq!((after["first_name"].as_str(), after["last_name"].as_str()), (Some("Augusta"), Some("King")));
    let deleted = app.post_form_as(&cookie, &format!("/people/{own}/delete"), &[("csrf_token", &csrf)]).await;
    assert_eq!(deleted.status, StatusCode::SEE_OTHER);
    let trashed = app.get_as(&cookie, &format!("/people/{own}")).await.text();
    assert!(trashed.contains("in the trash") && trashed.contains(&format!("/people/{own}/restore")), "{trashed}");
}

#[tokio::test]
async fn the_history_tab_shows_a_field_change_and_hides_the_changes_of_a_hidden_field() {
    let app = TestApp::new().await;
    let ws = workspace(&app).await;
    let (_, member_token) = member(&app, &ws, "member@example.com", "member").await;
    let id = person_of(&app, &ws, "Ada", ws.created.owner_id).await;
    let patch = json!({"last_name": "Lovelace", "email": "ada@secret.example"});
    assert_eq!(app.call(&ws.owner, Method::PATCH, &path(id), Some(patch)).await.status, StatusCode::OK);
    let email_only = json!({"email": "ada@hidden.example"});
    assert_eq!(app.call(&ws.owner, Method::PATCH, &path(id), Some(email_only)).await.status, StatusCode::OK);
    let hidden = ("member", "person", "email");
    access::set_field_rule(app.db(), &ws.admin, hidden, Some(FieldRule::Hidden), None).await.unwrap();

    let (cookie, _) = app.sign_in("member@example.com").await;
    let tab = app.get_as(&cookie, &format!("/people/{id}/history")).await;
    assert_eq!(tab.status, StatusCode::OK, "{}", tab.text());
    let html = tab.text();
    assert!(html.contains("Last name: — → Lovelace"), "the change is shown: {html}");
    assert!(html.contains("First name: — → Ada"), "and the creation: {html}");
    assert!(!html.contains("ada@"), "no hidden email anywhere: {html}");
    assert_eq!(html.matches("<strong>update</strong>").count(), 1, "an update of the hidden field alone is left out");

    let api = app.call(&member_token, Method::GET, &format!("{}/history", path(id)), None).await.json();
    assert!(!api.to_string().contains("ada@"), "{api}");
    let timeline = app.call(&member_token, Method::GET, &format!("{}/timeline", path(id)), None).await.json();
    assert!(!timeline.to_string().contains("ada@"), "{timeline}");
    let owners = app.get_as(&app.sign_in("owner@example.com").await.0, &format!("/people/{id}/history")).await.text();
    assert!(owners.contains("ada@hidden.example"), "the owner sees every change: {owners}");
}

#[tokio::test]
async fn the_audit_page_filters_by_a_members_email_and_by_day() {
    let app = TestApp::new().await;
    let ws = workspace(&app).await;
    let (alice_id, alice) = member(&app, &ws, "alice@example.com", "member").await;
    app.call(&alice, Method::POST, "/api/v1/people", Some(json!({"first_name": "Ada"}))).await;
    person_of(&app, &ws, "Grace", alice_id).await;
    let (cookie, _) = app.sign_in("owner@example.com").await;

    let by_alice = app.get_as(&cookie, "/audit?who=alice%40example.com").await;
    assert_eq!(by_alice.status, StatusCode::OK, "{}", by_alice.text());
    let rows = by_alice.text().matches("<tr>").count() - 1;
    assert_eq!(rows, 1, "only alice's create: {}", by_alice.text());
    assert!(by_alice.text().contains(&format!("user:{}", alice_id.get())));

    let today = chrono::Utc::now().date_naive();
    let days = format!("/audit?from={today}&to={today}");
    assert_eq!(app.get_as(&cookie, &days).await.text().matches("<tr>").count() - 1, 2, "today holds both");
    let tomorrow = today.succ_opt().unwrap();
    let later = app.get_as(&cookie, &format!("/audit?from={tomorrow}")).await.text();
    assert!(later.contains("Nothing recorded matches"), "{later}");
    let unknown = app.get_as(&cookie, "/audit?who=nobody%40example.com").await;
    assert_eq!(unknown.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(unknown.text().contains("is not a member"), "{}", unknown.text());
}

/// A company created by the owner for `owner`; returns its id.
async fn company_of(app: &TestApp, ws: &Workspace, name: &str, owner: UserId) -> i64 {
    let body = json!({"name": name, "owner": owner.get()});
    let created = app.call(&ws.owner, Method::POST, "/api/v1/companies", Some(body)).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text());
    created.json()["id"].as_i64().unwrap()
}

fn company_path(id: i64) -> String {
    format!("/api/v1/companies/{id}")
}

#[tokio::test]
async fn a_member_changes_deletes_and_links_their_own_company_but_gets_403_on_a_colleagues() {
    let app = TestApp::new().await;
    let ws = workspace(&app).await;
    let (alice_id, alice) = member(&app, &ws, "alice@example.com", "member").await;
    let (bob_id, _) = member(&app, &ws, "bob@example.com", "member").await;
    let own = company_of(&app, &ws, "Initech", alice_id).await;
    let colleagues = company_of(&app, &ws, "Globex", bob_id).await;
    let ada = person_of(&app, &ws, "Ada", bob_id).await;

    let changed = app.call(&alice, Method::PATCH, &company_path(own), Some(json!({"industry": "Software"}))).await;
    assert_eq!(changed.status, StatusCode::OK, "{}", changed.text());
    assert_eq!(app.call(&alice, Method::GET, &company_path(colleagues), None).await.status, StatusCode::OK);
    let patch = app.call(&alice, Method::PATCH, &company_path(colleagues), Some(json!({"industry": "Paper"}))).await;
    assert_eq!(refused(&patch), (StatusCode::FORBIDDEN, "forbidden".into()));
    assert!(patch.text().contains("within your reach"), "the refusal says why: {}", patch.text());
    let delete = app.call(&alice, Method::DELETE, &company_path(colleagues), None).await;
    assert_eq!(refused(&delete), (StatusCode::FORBIDDEN, "forbidden".into()));

    let link = |company: i64| format!("{}/people/{ada}", company_path(company));
    let linked = app.call(&alice, Method::PUT, &link(own), Some(json!({"title": "CTO"}))).await;
    assert_eq!(
        linked.status,
        StatusCode::NO_CONTENT,
        "linking reads the person, changes the company: {}",
        linked.text()
    );
    let theirs = app.call(&alice, Method::PUT, &link(colleagues), Some(json!({"title": "CTO"}))).await;
    assert_eq!(refused(&theirs), (StatusCode::FORBIDDEN, "forbidden".into()));
    app.call(&ws.owner, Method::PUT, &link(colleagues), None).await;
    let unlink = app.call(&alice, Method::DELETE, &link(colleagues), None).await;
    assert_eq!(refused(&unlink), (StatusCode::FORBIDDEN, "forbidden".into()));
    assert_eq!(app.count("company_people").await, 2);

    let given = app
        .call(&alice, Method::POST, "/api/v1/companies", Some(json!({"name": "Hooli", "owner": bob_id.get()})))
        .await;
    assert_eq!(refused(&given), (StatusCode::FORBIDDEN, "forbidden".into()));
    assert!(given.text().contains("owner"), "{}", given.text());
    let mine = app.call(&alice, Method::POST, "/api/v1/companies", Some(json!({"name": "Hooli"}))).await;
    assert_eq!(mine.json()["owner"], alice_id.get(), "a member's new company is their own");
    let handed = app.call(&alice, Method::PATCH, &company_path(own), Some(json!({"owner": bob_id.get()}))).await;
    assert_eq!(refused(&handed), (StatusCode::FORBIDDEN, "forbidden".into()));

    assert_eq!(app.call(&alice, Method::DELETE, &company_path(own), None).await.status, StatusCode::NO_CONTENT);
    let restored = app.call(&alice, Method::POST, &format!("{}/restore", company_path(own)), None).await;
    assert_eq!(restored.status, StatusCode::OK, "{}", restored.text());
}

#[tokio::test]
async fn a_manager_changes_a_team_mates_company_but_not_one_owned_outside_the_team() {
    let app = TestApp::new().await;
    let ws = workspace(&app).await;
    let (manager_id, manager) = member(&app, &ws, "manager@example.com", "manager").await;
    let (mate_id, _) = member(&app, &ws, "mate@example.com", "member").await;
    let (outsider_id, _) = member(&app, &ws, "outsider@example.com", "member").await;
    let team = access::create_team(app.db(), &ws.admin, Name::parse("North").unwrap(), None).await.unwrap();
    for user in [manager_id, mate_id] {
        access::add_to_team(app.db(), &ws.admin, team, user, None).await.unwrap();
    }
    let mates = company_of(&app, &ws, "Initech", mate_id).await;
    let outsiders = company_of(&app, &ws, "Globex", outsider_id).await;
    let ada = person_of(&app, &ws, "Ada", outsider_id).await;

    let changed = app.call(&manager, Method::PATCH, &company_path(mates), Some(json!({"industry": "Software"}))).await;
    assert_eq!(changed.status, StatusCode::OK, "{}", changed.text());
    let outside = app.call(&manager, Method::PATCH, &company_path(outsiders), Some(json!({"industry": "Paper"}))).await;
    assert_eq!(refused(&outside), (StatusCode::FORBIDDEN, "forbidden".into()));
    let handed =
        app.call(&manager, Method::PATCH, &company_path(mates), Some(json!({"owner": outsider_id.get()}))).await;
    assert_eq!(refused(&handed), (StatusCode::FORBIDDEN, "forbidden".into()), "handing it outside the team");
    let link = |company: i64| format!("{}/people/{ada}", company_path(company));
    assert_eq!(app.call(&manager, Method::PUT, &link(mates), None).await.status, StatusCode::NO_CONTENT);
    assert_eq!(app.call(&manager, Method::PUT, &link(outsiders), None).await.status, StatusCode::FORBIDDEN);
    assert_eq!(app.call(&manager, Method::DELETE, &company_path(outsiders), None).await.status, StatusCode::FORBIDDEN);
    assert_eq!(app.call(&manager, Method::DELETE, &company_path(mates), None).await.status, StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn a_role_that_reads_only_its_own_companies_finds_nobody_elses_on_the_api_or_the_pages() {
    let app = TestApp::new().await;
    let ws = workspace(&app).await;
    let (reader_id, reader) = member(&app, &ws, "reader@example.com", "member").await;
    let grants = vec![Grant::parse("companies:read:own").unwrap(), Grant::parse("people:read:all").unwrap()];
    let role =
        access::create_role(app.db(), &ws.admin, Name::parse("Own readers").unwrap(), grants, None).await.unwrap();
    access::assign_role(app.db(), &ws.admin, reader_id, Some(role), None).await.unwrap();
    let own = company_of(&app, &ws, "Initech", reader_id).await;
    let others = company_of(&app, &ws, "Globex", ws.created.owner_id).await;
    let ada = person_of(&app, &ws, "Ada", ws.created.owner_id).await;
    for company in [own, others] {
        app.call(&ws.owner, Method::PUT, &format!("{}/people/{ada}", company_path(company)), None).await;
    }

    let listed = app.call(&reader, Method::GET, "/api/v1/companies", None).await.json();
    let ids: Vec<i64> = listed["data"].as_array().unwrap().iter().map(|c| c["id"].as_i64().unwrap()).collect();
    assert_eq!((ids, listed["count"].clone()), (vec![own], json!(1)), "{listed}");
    for suffix in ["", "/timeline", "/people"] {
        let theirs = app.call(&reader, Method::GET, &format!("{}{suffix}", company_path(others)), None).await;
        let missing = app.call(&reader, Method::GET, &format!("{}{suffix}", company_path(987_654)), None).await;
        assert_eq!(refused(&theirs), refused(&missing), "{suffix}: someone else's company is missing");
        assert_eq!(theirs.status, StatusCode::NOT_FOUND);
        let mine = app.call(&reader, Method::GET, &format!("{}{suffix}", company_path(own)), None).await;
        assert_eq!(mine.status, StatusCode::OK, "{suffix}: {}", mine.text());
    }
    let works_for = app.call(&reader, Method::GET, &format!("/api/v1/people/{ada}/companies"), None).await.json();
    let names: Vec<&str> =
        works_for["data"].as_array().unwrap().iter().map(|l| l["company_name"].as_str().unwrap()).collect();
    assert_eq!(names, ["Initech"], "a person's companies are those the caller may read");
    let patch = app.call(&reader, Method::PATCH, &company_path(own), Some(json!({"industry": "Paper"}))).await;
    assert_eq!(patch.status, StatusCode::FORBIDDEN, "reading is not changing: {}", patch.text());

    let (cookie, _) = app.sign_in("reader@example.com").await;
    let list = app.get_as(&cookie, "/companies").await.text();
    assert!(list.contains("Initech") && !list.contains("Globex"), "{list}");
    assert!(!list.contains("/companies/new"), "no create button without the create grant");
    for page in [format!("/companies/{others}"), format!("/companies/{others}/edit")] {
        assert_eq!(app.get_as(&cookie, &page).await.status, StatusCode::NOT_FOUND, "{page}");
    }
    let detail = app.get_as(&cookie, &format!("/companies/{own}")).await;
    assert_eq!(detail.status, StatusCode::OK);
    assert!(!detail.text().contains("/edit") && !detail.text().contains("/delete"), "read only: no buttons");
}

#[tokio::test]
async fn the_company_pages_offer_edit_and_delete_only_within_reach_and_refuse_forged_posts() {
    let app = TestApp::new().await;
    let ws = workspace(&app).await;
    let (alice_id, _) = member(&app, &ws, "alice@example.com", "member").await;
    let (bob_id, _) = member(&app, &ws, "bob@example.com", "member").await;
    let own = company_of(&app, &ws, "Initech", alice_id).await;
    let colleagues = company_of(&app, &ws, "Globex", bob_id).await;
    let (cookie, csrf) = app.sign_in("alice@example.com").await;

    let mine = app.get_as(&cookie, &format!("/companies/{own}")).await.text();
    assert!(mine.contains(&format!("/companies/{own}/edit")) && mine.contains(&format!("/companies/{own}/delete")));
    let theirs = app.get_as(&cookie, &format!("/companies/{colleagues}")).await.text();
    assert!(theirs.contains("Globex") && !theirs.contains("/edit") && !theirs.contains("/delete"), "{theirs}");
    assert_eq!(app.get_as(&cookie, &format!("/companies/{colleagues}/edit")).await.status, StatusCode::FORBIDDEN);
    let forged = [("csrf_token", csrf.as_str()), ("name", "Amazing")];
    let edit = app.post_form_as(&cookie, &format!("/companies/{colleagues}/edit"), &forged).await;
    assert_eq!(edit.status, StatusCode::FORBIDDEN);
    let delete = app.post_form_as(&cookie, &format!("/companies/{colleagues}/delete"), &[("csrf_token", &csrf)]).await;
    assert_eq!(delete.status, StatusCode::FORBIDDEN);
    let untouched = app.call(&ws.owner, Method::GET, &company_path(colleagues), None).await.json();
    assert_eq!((untouched["name"].as_str(), untouched["deleted_at"].clone()), (Some("Globex"), Value::Null));

    let deleted = app.post_form_as(&cookie, &format!("/companies/{own}/delete"), &[("csrf_token", &csrf)]).await;
    assert_eq!(deleted.status, StatusCode::SEE_OTHER);
    let trashed = app.get_as(&cookie, &format!("/companies/{own}")).await.text();
    assert!(trashed.contains("in the trash") && trashed.contains(&format!("/companies/{own}/restore")), "{trashed}");
}
