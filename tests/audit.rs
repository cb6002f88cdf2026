//! The audit trail and the security log: entries recorded in a service's transaction read back
//! as a record's history, the hash chains reveal a changed or deleted row, pruning keeps what
//! remains verifiable, sign-ins land in the security log, and the API is for admins only.

#![allow(clippy::unwrap_used)]

mod util;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use rapport::audit::{self, AuditAction, AuditEntry, ProblemKind};
use rapport::identity::{self, Scope};
use rapport_core::{Actor, FieldChange, WorkspaceId};
use util::{Binary, TestApp};

/// Records `count` updates of person 7 as `actor`, each in its own transaction.
async fn record_updates(app: &TestApp, workspace: WorkspaceId, actor: Actor, count: usize) {
    for n in 0..count {
        let actor = actor.clone();
        app.db()
            .write(move |tx| {
                Box::pin(async move {
                    let changes = [FieldChange::between("city", n.into(), (n + 1).into()).unwrap()];
                    audit::record(tx, &update_of_person_7(workspace, &actor, &changes)).await
                })
            })
            .await
            .unwrap();
    }
}

/// Tampers with the tables directly, as someone with database access would.
fn update_of_person_7<'a>(workspace: WorkspaceId, actor: &'a Actor, changes: &'a [FieldChange]) -> AuditEntry<'a> {
    AuditEntry {
        workspace,
        actor,
        request_id: Some("req-1"),
        entity: "person",
        entity_id: 7,
        action: AuditAction::Update,
        changes,
    }
}

async fn execute(app: &TestApp, sql: &'static str) -> u64 {
    app.db()
        .write(move |tx| {
            Box::pin(async move {
                let changed =
                    rapport_db::sql!(tx.exec(), c => sqlx::query(sql).execute(c).await.map(|r| r.rows_affected()))?;
                Ok::<_, rapport_db::DbError>(changed)
            })
        })
        .await
        .unwrap()
}

async fn bearer(app: &TestApp, created: &rapport::workspace::Created, scopes: Vec<Scope>) -> String {
    let token =
        identity::create_token(app.db(), created.workspace_id, created.owner_id, "audit", scopes, None).await.unwrap();
    format!("Bearer {}", token.secret.expose())
}

async fn get_with(app: &TestApp, path: &str, authorization: &str) -> util::TestResponse {
    app.request(Request::get(path).header("authorization", authorization).body(Body::empty()).unwrap()).await
}

#[tokio::test]
async fn recorded_changes_read_back_as_the_records_history_newest_first() {
    let app = TestApp::new().await;
    let created = app.with_workspace("Acme", "owner@example.com").await;
    record_updates(&app, created.workspace_id, Actor::User(created.owner_id), 3).await;
    let page = audit::history(app.db(), created.workspace_id, "person", 7, None).await.unwrap();
    let news: Vec<_> = page.items.iter().map(|row| row.changes[0].new.clone()).collect();
    assert_eq!(news, vec![serde_json::json!(3), serde_json::json!(2), serde_json::json!(1)]);
    assert_eq!(page.items[0].actor, format!("user:{}", created.owner_id));
    assert_eq!(page.items[0].request_id.as_deref(), Some("req-1"));
    assert!(page.next.is_none());
    let other = audit::history(app.db(), created.workspace_id, "person", 8, None).await.unwrap();
    assert!(other.items.is_empty(), "another record has no history");
}

#[tokio::test]
async fn an_intact_chain_verifies_with_its_counts() {
    let app = TestApp::new().await;
    let created = app.with_workspace("Acme", "owner@example.com").await;
    record_updates(&app, created.workspace_id, Actor::System("test".into()), 4).await;
    let report = audit::verify(app.db(), Some(created.workspace_id)).await.unwrap();
    assert!(report.problems.is_empty(), "{:?}", report.problems);
    assert_eq!(report.rows, 4);
}

#[tokio::test]
async fn changing_one_byte_of_a_row_makes_verify_name_that_row() {
    let app = TestApp::new().await;
    let created = app.with_workspace("Acme", "owner@example.com").await;
    record_updates(&app, created.workspace_id, Actor::System("test".into()), 4).await;
    let changed = execute(&app, "UPDATE audit_rows SET actor = 'system:tesT' WHERE log = 'audit' AND seq = 2").await;
    assert_eq!(changed, 1);
    let report = audit::verify(app.db(), None).await.unwrap();
    let problem = report.problems.first().expect("a problem");
    assert_eq!((problem.seq, problem.kind), (2, ProblemKind::Changed), "{problem}");
}

#[tokio::test]
async fn deleting_a_row_in_the_middle_or_at_the_end_makes_verify_fail() {
    let app = TestApp::new().await;
    let created = app.with_workspace("Acme", "owner@example.com").await;
    record_updates(&app, created.workspace_id, Actor::System("test".into()), 4).await;
    execute(&app, "DELETE FROM audit_rows WHERE log = 'audit' AND seq = 4").await;
    let report = audit::verify(app.db(), None).await.unwrap();
    assert_eq!(report.problems.first().map(|p| (p.seq, p.kind)), Some((4, ProblemKind::Deleted)));
    execute(&app, "DELETE FROM audit_rows WHERE log = 'audit' AND seq = 2").await;
    let report = audit::verify(app.db(), None).await.unwrap();
    assert_eq!(report.problems.first().map(|p| (p.seq, p.kind)), Some((2, ProblemKind::Deleted)));
}

#[tokio::test]
async fn pruning_old_rows_keeps_the_rest_of_the_chain_verifiable() {
    let app = TestApp::new().await;
    let created = app.with_workspace("Acme", "owner@example.com").await;
    record_updates(&app, created.workspace_id, Actor::System("test".into()), 3).await;
    let cutoff = chrono::Utc::now() + chrono::Duration::seconds(1);
    let pruned = audit::prune(app.db(), cutoff).await.unwrap();
    assert_eq!(pruned, 3);
    record_updates(&app, created.workspace_id, Actor::System("test".into()), 2).await;
    let report = audit::verify(app.db(), None).await.unwrap();
    assert!(report.problems.is_empty(), "{:?}", report.problems);
    let history = audit::history(app.db(), created.workspace_id, "person", 7, None).await.unwrap();
    assert_eq!(history.items.iter().map(|r| r.seq).collect::<Vec<_>>(), vec![5, 4]);
    execute(&app, "DELETE FROM audit_rows WHERE log = 'audit' AND seq = 4").await;
    let report = audit::verify(app.db(), None).await.unwrap();
    assert_eq!(report.problems.first().map(|p| (p.seq, p.kind)), Some((4, ProblemKind::Deleted)));
}

#[tokio::test]
async fn concurrent_writers_of_one_workspace_extend_one_unbroken_chain() {
    let app = TestApp::new().await;
    let created = app.with_workspace("Acme", "owner@example.com").await;
    let writers: Vec<_> = (0..16)
        .map(|_| {
            let app_db = app.db().clone();
            let workspace = created.workspace_id;
            tokio::spawn(async move {
                app_db
                    .write(move |tx| {
                        Box::pin(async move {
                            let actor = Actor::System("test".into());
                            audit::record(tx, &update_of_person_7(workspace, &actor, &[])).await
                        })
                    })
                    .await
            })
        })
        .collect();
    for writer in writers {
        writer.await.unwrap().unwrap();
    }
    let report = audit::verify(app.db(), Some(created.workspace_id)).await.unwrap();
    assert!(report.problems.is_empty(), "{:?}", report.problems);
    assert_eq!(report.rows, 16);
}

#[tokio::test]
async fn failed_and_successful_sign_ins_sign_outs_and_new_tokens_land_in_the_security_log() {
    let app = TestApp::new().await;
    let created = app.with_workspace("Acme", "owner@example.com").await;
    let wrong = app.post_form("/login", &[("email", "owner@example.com"), ("password", "not the password")]).await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    let (cookie, csrf) = app.sign_in("owner@example.com").await;
    let logout = app.post_form_as(&cookie, "/logout", &[("csrf_token", &csrf)]).await;
    assert_eq!(logout.status, StatusCode::SEE_OTHER);

    let authorization = bearer(&app, &created, vec![Scope::All]).await;
    let log = get_with(&app, "/api/v1/security-log", &authorization).await;
    assert_eq!(log.status, StatusCode::OK, "{}", log.text());
    let items = log.json()["items"].as_array().unwrap().clone();
    let actions: Vec<_> = items.iter().map(|i| i["action"].as_str().unwrap().to_owned()).collect();
    assert_eq!(actions, ["token_created", "logout", "login", "login_failed"]);
    assert!(items[2]["request_id"].is_string(), "the sign-in carries its request id: {}", items[2]);
    assert_eq!(items[3]["changes"][0]["field"], "failed_logins");
    assert!(!log.text().contains("rpt_"), "no token secret is logged");
    let report = audit::verify(app.db(), None).await.unwrap();
    assert!(report.problems.is_empty(), "{:?}", report.problems);
}

#[tokio::test]
async fn security_domain_events_from_other_modules_become_security_log_rows() {
    let app = TestApp::new().await;
    let created = app.with_workspace("Acme", "owner@example.com").await;
    let (workspace, owner) = (created.workspace_id, created.owner_id);
    app.db()
        .write(move |tx| {
            Box::pin(async move {
                let changes = [FieldChange::between("method", serde_json::Value::Null, "totp".into()).unwrap()];
                let event = rapport_jobs::NewDomainEvent {
                    workspace_id: workspace,
                    kind: "security.two_factor_enabled".into(),
                    entity_type: "user".into(),
                    entity_id: owner.get(),
                    payload: serde_json::json!({ "changes": changes }),
                    actor: format!("user:{owner}"),
                    request_id: Some("req-2fa".into()),
                };
                rapport_jobs::record_event(tx, &event).await
            })
        })
        .await
        .unwrap();
    // On PostgreSQL an event is delivered once no older transaction of the cluster is running.
    let subscribers = audit::subscribe(rapport_jobs::Subscribers::new());
    let filter = audit::AuditFilter { action: Some(AuditAction::TwoFactorEnabled), ..Default::default() };
    let logged = || async {
        subscribers.deliver_pending(app.db(), "test").await;
        let page = audit::list(app.db(), workspace, audit::Log::Security, &filter, None, None).await.unwrap();
        !page.items.is_empty()
    };
    rapport_test_db::eventually("the event reaches the security log", std::time::Duration::from_secs(10), logged).await;
    let page = audit::list(app.db(), workspace, audit::Log::Security, &filter, None, None).await.unwrap();
    let row = page.items.first().expect("the event was logged");
    assert_eq!((row.actor.clone(), row.request_id.as_deref()), (format!("user:{owner}"), Some("req-2fa")));
    assert_eq!(row.changes[0].field, "method");
}

#[tokio::test]
async fn the_audit_api_filters_by_entity_and_action_and_pages_with_a_cursor() {
    let app = TestApp::new().await;
    let created = app.with_workspace("Acme", "owner@example.com").await;
    record_updates(&app, created.workspace_id, Actor::User(created.owner_id), 3).await;
    let authorization = bearer(&app, &created, vec![Scope::All]).await;
    let first = get_with(&app, "/api/v1/audit?entity=person&entity_id=7&action=update&limit=2", &authorization).await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.text());
    let first = first.json();
    assert_eq!(first["items"].as_array().unwrap().len(), 2);
    let next = first["next"].as_str().unwrap();
    let second = get_with(&app, &format!("/api/v1/audit?entity=person&limit=2&cursor={next}"), &authorization).await;
    let second = second.json();
    assert_eq!(second["items"].as_array().unwrap().len(), 1);
    assert!(second["next"].is_null());
    let none = get_with(&app, "/api/v1/audit?action=delete", &authorization).await;
    assert!(none.json()["items"].as_array().unwrap().is_empty());
    let mine = get_with(&app, &format!("/api/v1/audit?actor={}", created.owner_id), &authorization).await;
    assert_eq!(mine.json()["items"].as_array().unwrap().len(), 3);
    let hour = chrono::Duration::hours(1);
    let (past, future) = ((chrono::Utc::now() - hour).to_rfc3339(), (chrono::Utc::now() + hour).to_rfc3339());
    let encode = |t: &str| t.replace('+', "%2B");
    let window = format!("/api/v1/audit?from={}&to={}", encode(&past), encode(&future));
    let since = get_with(&app, &window, &authorization).await;
    assert_eq!(since.json()["items"].as_array().unwrap().len(), 3);
    let later = get_with(&app, &format!("/api/v1/audit?from={}", encode(&future)), &authorization).await;
    assert!(later.json()["items"].as_array().unwrap().is_empty(), "nothing was recorded in the future");
    let bad = get_with(&app, "/api/v1/audit?action=explode&from=yesterday", &authorization).await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    let fields = bad.json()["error"]["fields"].clone();
    assert!(fields["action"].is_array() && fields["from"].is_array(), "{fields}");
}

#[tokio::test]
async fn a_token_without_the_audit_scope_cannot_read_the_logs() {
    let app = TestApp::new().await;
    let created = app.with_workspace("Acme", "owner@example.com").await;
    let authorization = bearer(&app, &created, vec![Scope::parse("people:read").unwrap()]).await;
    for path in ["/api/v1/audit", "/api/v1/security-log"] {
        let response = get_with(&app, path, &authorization).await;
        assert_eq!(response.status, StatusCode::FORBIDDEN, "{path}");
        assert_eq!(response.error_code(), "forbidden");
    }
    let scoped = bearer(&app, &created, vec![Scope::parse("audit:read").unwrap()]).await;
    assert_eq!(get_with(&app, "/api/v1/audit", &scoped).await.status, StatusCode::OK);
}

#[tokio::test]
async fn the_audit_page_lists_the_security_log_for_an_owner() {
    let app = TestApp::new().await;
    app.with_workspace("Acme", "owner@example.com").await;
    let (cookie, _) = app.sign_in("owner@example.com").await;
    let page = app.get_as(&cookie, "/audit?log=security&action=login").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text());
    let html = page.text();
    assert!(html.contains("Security log") && html.contains("<td>login</td>"), "{html}");
    let anonymous = app.get("/audit").await;
    assert_ne!(anonymous.status, StatusCode::OK);
}

#[tokio::test]
async fn the_verify_command_says_ok_and_fails_with_status_1_after_tampering() {
    let app = TestApp::new().await;
    let created = app.with_workspace("Acme", "owner@example.com").await;
    record_updates(&app, created.workspace_id, Actor::System("test".into()), 3).await;
    let mut binary = Binary::new();
    binary.env.push(("RAPPORT_DATABASE_URL".into(), app.test_db.options().url.expose().clone()));
    let ok = binary.run(&["admin", "audit", "verify"], None).await;
    let stdout = String::from_utf8_lossy(&ok.stdout).into_owned();
    assert!(ok.status.success(), "{}", String::from_utf8_lossy(&ok.stderr));
    assert!(stdout.starts_with("ok: 1 chains, 3 rows"), "{stdout}");
    execute(&app, "UPDATE audit_rows SET changes = replace(changes, '2', '9') WHERE seq = 2").await;
    let workspace = created.workspace_id.to_string();
    let broken = binary.run(&["admin", "audit", "verify", "--workspace", &workspace], None).await;
    let stderr = String::from_utf8_lossy(&broken.stderr).into_owned();
    assert_eq!(broken.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("audit log: row 2 was changed"), "{stderr}");
}

/// Not a check but a measurement: what the audit append adds to a small write transaction.
/// Run with `cargo test --test audit -- --ignored --nocapture` on each database.
#[tokio::test]
#[ignore]
async fn measure_the_cost_of_an_audit_append() {
    let app = TestApp::new().await;
    let created = app.with_workspace("Acme", "owner@example.com").await;
    let workspace = created.workspace_id;
    let rounds = 500;
    let timed = |with_audit: bool| {
        let db = app.db().clone();
        async move {
            let started = std::time::Instant::now();
            for n in 0..rounds {
                db.write(move |tx| {
                    Box::pin(async move {
                        rapport_db::sql!(tx.exec(), c => sqlx::query("UPDATE workspaces SET name = $1 WHERE id = $2")
                            .bind(format!("Acme {n}")).bind(workspace).execute(c).await.map(|r| r.rows_affected()))?;
                        if with_audit {
                            let actor = Actor::System("bench".into());
                            let changes = [FieldChange::between("name", serde_json::Value::Null, n.into()).unwrap()];
                            audit::record(tx, &update_of_person_7(workspace, &actor, &changes)).await?;
                        }
                        Ok::<_, rapport_db::DbError>(())
                    })
                })
                .await
                .unwrap();
            }
            started.elapsed() / rounds
        }
    };
    let plain = timed(false).await;
    let audited = timed(true).await;
    println!(
        "{:?}: write without audit {plain:?}, with audit {audited:?}, append adds {:?} per write",
        app.db().backend(),
        audited.saturating_sub(plain)
    );
}
