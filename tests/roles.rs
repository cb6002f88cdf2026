//! Roles and permissions: built-in roles keep their fixed sets, custom roles grant module ×
//! action × reach and are assigned on top, teams define reach `team`, field rules hide or lock
//! fields through one projection, and every change lands in the security log.

#![allow(clippy::unwrap_used)]

mod util;

use axum::http::StatusCode;
use rapport::access::{self, FieldRule, Name};
use rapport::audit::{self, AuditFilter, Log};
use rapport::http::ApiError;
use rapport::identity::{self, Action, Grant, Principal, Reach, Scope};
use rapport_core::UserId;
use util::TestApp;

async fn principal_of(app: &TestApp, created: &rapport::workspace::Created, user: UserId) -> Principal {
    let token =
        identity::create_token(app.db(), created.workspace_id, user, "t", vec![Scope::All], None).await.unwrap();
    identity::token_principal(app.db(), token.secret.expose()).await.unwrap()
}

fn grants(raw: &[&str]) -> Vec<Grant> {
    raw.iter().map(|g| Grant::parse(g).unwrap()).collect()
}

#[tokio::test]
async fn built_in_roles_keep_their_fixed_permission_sets() {
    let app = TestApp::new().await;
    let created = app.with_workspace("Acme", "owner@example.com").await;
    let viewer = app.add_member(created.workspace_id, "viewer@example.com", "viewer").await;
    let member = app.add_member(created.workspace_id, "member@example.com", "member").await;
    let viewer = principal_of(&app, &created, viewer).await;
    let member = principal_of(&app, &created, member).await;
    let owner = principal_of(&app, &created, created.owner_id).await;
    assert!(viewer.may("people", false) && !viewer.may("people", true));
    assert_eq!(member.can("people", Action::Update), Some(Reach::Own));
    assert_eq!(member.can("people", Action::Export), None);
    assert_eq!(owner.can("workspace", Action::Admin), Some(Reach::All));
}

#[tokio::test]
async fn a_custom_role_replaces_the_built_in_set_and_its_changes_are_in_the_security_log() {
    let app = TestApp::new().await;
    let created = app.with_workspace("Acme", "owner@example.com").await;
    let user = app.add_member(created.workspace_id, "agent@example.com", "member").await;
    let owner = principal_of(&app, &created, created.owner_id).await;
    let name = Name::parse("Support").unwrap();
    let role = access::create_role(app.db(), &owner, name, grants(&["people:read:all"]), Some("r1")).await.unwrap();
    access::set_grants(app.db(), &owner, role, grants(&["people:read:all", "people:update:team"]), None).await.unwrap();
    access::assign_role(app.db(), &owner, user, Some(role), None).await.unwrap();

    let agent = principal_of(&app, &created, user).await;
    assert_eq!(agent.can("people", Action::Update), Some(Reach::Team));
    assert_eq!(agent.can("people", Action::Create), None, "the member's own create is gone");
    assert!(!agent.may("companies", false));

    let log = audit::list(app.db(), created.workspace_id, Log::Security, &AuditFilter::default(), None, None).await;
    let actions: Vec<_> = log.unwrap().items.into_iter().map(|row| (row.action, row.entity)).collect();
    let expected = [("role_changed", "member"), ("permission_changed", "role"), ("permission_changed", "role")];
    let found: Vec<_> =
        actions.iter().filter(|(a, _)| a != "token_created").map(|(a, e)| (a.as_str(), e.as_str())).collect();
    assert_eq!(found, expected);
}

#[tokio::test]
async fn only_admins_change_roles_and_built_in_names_are_taken() {
    let app = TestApp::new().await;
    let created = app.with_workspace("Acme", "owner@example.com").await;
    let user = app.add_member(created.workspace_id, "manager@example.com", "manager").await;
    let manager = principal_of(&app, &created, user).await;
    let refused = access::create_role(app.db(), &manager, Name::parse("Mine").unwrap(), vec![], None).await;
    assert!(matches!(refused, Err(access::AccessError::Forbidden)));
    let owner = principal_of(&app, &created, created.owner_id).await;
    let builtin = access::create_role(app.db(), &owner, Name::parse("Viewer").unwrap(), vec![], None).await;
    assert!(matches!(builtin, Err(access::AccessError::NameTaken)));
}

#[tokio::test]
async fn team_mates_are_everyone_sharing_one_of_my_teams() {
    let app = TestApp::new().await;
    let created = app.with_workspace("Acme", "owner@example.com").await;
    let (a, b, c) = (
        app.add_member(created.workspace_id, "a@example.com", "manager").await,
        app.add_member(created.workspace_id, "b@example.com", "member").await,
        app.add_member(created.workspace_id, "c@example.com", "member").await,
    );
    let owner = principal_of(&app, &created, created.owner_id).await;
    let team = access::team_by_name(app.db(), &owner, Name::parse("North").unwrap(), None).await.unwrap();
    for user in [a, b] {
        access::add_to_team(app.db(), &owner, team, user, None).await.unwrap();
    }
    assert_eq!(access::team_mates(app.db(), created.workspace_id, a).await.unwrap(), vec![a, b]);
    assert_eq!(access::team_mates(app.db(), created.workspace_id, c).await.unwrap(), vec![c]);
}

#[tokio::test]
async fn field_rules_hide_and_lock_fields_for_one_role_only() {
    let app = TestApp::new().await;
    let created = app.with_workspace("Acme", "owner@example.com").await;
    let user = app.add_member(created.workspace_id, "member@example.com", "member").await;
    let owner = principal_of(&app, &created, created.owner_id).await;
    let rules =
        [("email", FieldRule::Hidden), ("address.city", FieldRule::Hidden), ("first_name", FieldRule::ReadOnly)];
    for (field, rule) in rules {
        access::set_field_rule(app.db(), &owner, ("member", "person", field), Some(rule), None).await.unwrap();
    }
    let member = principal_of(&app, &created, user).await;
    let fields = access::field_access(app.db(), &member, "person").await.unwrap();
    let mut record =
        serde_json::json!({"first_name": "Ada", "email": "a@x.org", "address": {"city": "Oslo", "zip": "1"}});
    fields.project(record.as_object_mut().unwrap());
    assert_eq!(record, serde_json::json!({"first_name": "Ada", "address": {"zip": "1"}}));
    let refused = fields.check_write(["last_name", "first_name"]).unwrap_err();
    let error = ApiError::from(refused);
    assert_eq!((error.status(), error.code()), (StatusCode::FORBIDDEN, "field_read_only"));
    assert!(error.to_string().contains("first_name"));

    let owners = access::field_access(app.db(), &owner, "person").await.unwrap();
    assert!(owners.visible("email") && owners.check_write(["first_name"]).is_ok(), "other roles see everything");
    let companies = access::field_access(app.db(), &member, "company").await.unwrap();
    assert!(companies.visible("email"), "rules are per object");
}

#[tokio::test]
async fn an_owner_creates_a_role_on_the_roles_page_and_a_forged_post_is_refused() {
    let app = TestApp::new().await;
    app.with_workspace("Acme", "owner@example.com").await;
    let (cookie, csrf) = app.sign_in("owner@example.com").await;
    let page = app.get_as(&cookie, "/roles").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text());
    let create = |name: &'static str, grants: &'static str, csrf: String| {
        let cookie = cookie.clone();
        let app = &app;
        async move {
            app.post_form_as(&cookie, "/roles/create", &[("csrf_token", &csrf), ("name", name), ("grants", grants)])
                .await
        }
    };
    assert_eq!(create("Sales", "", "x".into()).await.status, StatusCode::FORBIDDEN);
    let created = create("Sales", "people:read:all\npeople:update:own", csrf.clone()).await;
    assert_eq!(created.status, StatusCode::SEE_OTHER, "{}", created.text());
    assert_eq!(create("Ops", "people:fly:all", csrf).await.status, StatusCode::UNPROCESSABLE_ENTITY);
    let page = app.get_as(&cookie, "/roles").await;
    assert!(page.text().contains("Sales") && page.text().contains("people:update:own"), "{}", page.text());
}
