//! Notes and tasks on people and companies, on SQLite or on PostgreSQL when
//! `RAPPORT_TEST_DATABASE_URL` is set: sanitised notes on the record's timeline, who may
//! change what, tasks with due times and completion, the emailed reminder (through a real
//! loopback SMTP server), removal with a purged record, and tenant isolation.

#![allow(clippy::unwrap_used)]

mod util;

use axum::http::{Method, StatusCode};
use rapport::config::MailTls;
use serde_json::{Value, json};
use util::smtp::SmtpSink;
use util::{TestApp, TestResponse};

struct Workspace {
    created: rapport::workspace::Created,
    owner: String,
}

async fn workspace(app: &TestApp, name: &str) -> Workspace {
    let created = app.with_workspace(name, &format!("owner@{}.example", name.to_lowercase())).await;
    let owner = app.token_for(&created, created.owner_id).await;
    Workspace { created, owner }
}

async fn created(response: TestResponse) -> Value {
    assert_eq!(response.status, StatusCode::CREATED, "{}", response.text());
    response.json()
}

async fn person(app: &TestApp, token: &str) -> Value {
    created(app.call(token, Method::POST, "/api/v1/people", Some(json!({"first_name": "Ada"}))).await).await["id"]
        .clone()
}

#[tokio::test]
async fn a_note_is_sanitised_listed_newest_first_and_put_on_the_records_timeline() {
    let app = TestApp::new().await;
    let acme = workspace(&app, "Acme").await;
    let company =
        created(app.call(&acme.owner, Method::POST, "/api/v1/companies", Some(json!({"name": "Initech"}))).await).await
            ["id"]
            .clone();
    let notes = format!("/api/v1/companies/{company}/notes");
    let body = json!({"body": "<p onclick=\"steal()\">Met <b>Ada</b> at the fair</p><script>alert(1)</script>"});
    let first = created(app.call(&acme.owner, Method::POST, &notes, Some(body)).await).await;
    assert_eq!(first["body"], "<p>Met <b>Ada</b> at the fair</p>");
    created(app.call(&acme.owner, Method::POST, &notes, Some(json!({"body": "Second"}))).await).await;

    let listed = app.call(&acme.owner, Method::GET, &notes, None).await.json();
    assert_eq!(listed["data"][0]["body"], "Second");
    assert_eq!(listed["data"][1]["id"], first["id"]);
    let timeline =
        app.call(&acme.owner, Method::GET, &format!("/api/v1/companies/{company}/timeline"), None).await.json();
    assert_eq!(timeline["data"][1]["summary"], "Note: Met Ada at the fair", "{timeline}");
    assert_eq!(timeline["data"][1]["link"], format!("/companies/{company}#note-{}", first["id"]));

    let blank = app.call(&acme.owner, Method::POST, &notes, Some(json!({"body": "<script>x</script>"}))).await;
    assert_eq!(blank.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(app.count("notes").await, 2);
    assert_eq!(app.count("audit_rows WHERE entity = 'note'").await, 2);
}

#[tokio::test]
async fn only_the_author_or_an_admin_changes_a_note_and_a_viewer_may_read_but_not_add() {
    let app = TestApp::new().await;
    let acme = workspace(&app, "Acme").await;
    let ws = acme.created.workspace_id;
    let member = app.token_for(&acme.created, app.add_member(ws, "member@acme.example", "member").await).await;
    let viewer = app.token_for(&acme.created, app.add_member(ws, "viewer@acme.example", "viewer").await).await;
    let ada = person(&app, &member).await;
    let notes = format!("/api/v1/people/{ada}/notes");
    let note = created(app.call(&member, Method::POST, &notes, Some(json!({"body": "Prefers email"}))).await).await;
    let path = format!("/api/v1/notes/{}", note["id"]);

    assert_eq!(app.call(&viewer, Method::GET, &notes, None).await.json()["data"][0]["body"], "Prefers email");
    let added = app.call(&viewer, Method::POST, &notes, Some(json!({"body": "x"}))).await;
    assert_eq!(added.status, StatusCode::FORBIDDEN);
    let edited = app.call(&viewer, Method::PATCH, &path, Some(json!({"body": "changed"}))).await;
    assert_eq!(edited.status, StatusCode::FORBIDDEN);

    let by_author = app.call(&member, Method::PATCH, &path, Some(json!({"body": "Prefers phone"}))).await;
    assert_eq!(by_author.json()["body"], "Prefers phone");
    assert_eq!(app.call(&acme.owner, Method::DELETE, &path, None).await.status, StatusCode::NO_CONTENT);
    assert_eq!(app.count("notes").await, 0);
}

#[tokio::test]
async fn another_workspace_cannot_see_or_add_activities_of_a_record() {
    let app = TestApp::new().await;
    let acme = workspace(&app, "Acme").await;
    let globex = workspace(&app, "Globex").await;
    let ada = person(&app, &acme.owner).await;
    let note = created(
        app.call(&acme.owner, Method::POST, &format!("/api/v1/people/{ada}/notes"), Some(json!({"body": "n"}))).await,
    )
    .await;
    let task = created(
        app.call(&acme.owner, Method::POST, &format!("/api/v1/people/{ada}/tasks"), Some(json!({"title": "t"}))).await,
    )
    .await;
    for (method, path, body) in [
        (Method::GET, format!("/api/v1/people/{ada}/notes"), None),
        (Method::POST, format!("/api/v1/people/{ada}/notes"), Some(json!({"body": "x"}))),
        (Method::POST, format!("/api/v1/people/{ada}/tasks"), Some(json!({"title": "x"}))),
        (Method::PATCH, format!("/api/v1/notes/{}", note["id"]), Some(json!({"body": "x"}))),
        (Method::DELETE, format!("/api/v1/tasks/{}", task["id"]), None),
    ] {
        let answer = app.call(&globex.owner, method, &path, body).await;
        assert_eq!(answer.status, StatusCode::NOT_FOUND, "{path}");
    }
    assert_eq!((app.count("notes").await, app.count("tasks").await), (1, 1));
}

#[tokio::test]
async fn a_task_is_checked_listed_by_due_time_and_completing_it_shows_on_the_timeline() {
    let app = TestApp::new().await;
    let acme = workspace(&app, "Acme").await;
    let ada = person(&app, &acme.owner).await;
    let tasks = format!("/api/v1/people/{ada}/tasks");
    let owner = acme.created.owner_id.get();
    let bad = app
        .call(&acme.owner, Method::POST, &tasks, Some(json!({"title": " ", "due_at": "friday", "assignee": 999})))
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.json()["error"]["fields"]["title"].is_array() && bad.json()["error"]["fields"]["due_at"].is_array());
    let stranger = app.call(&acme.owner, Method::POST, &tasks, Some(json!({"title": "Call", "assignee": 999}))).await;
    assert_eq!(stranger.json()["error"]["fields"]["assignee"][0], "is not a member of this workspace");

    let later = json!({"title": "Send quote", "due_at": "2026-12-24T09:00:00Z", "assignee": owner});
    let sooner = json!({"title": "Call back", "due_at": "2026-12-03T09:00:00+01:00", "assignee": owner});
    created(app.call(&acme.owner, Method::POST, &tasks, Some(later)).await).await;
    let call = created(app.call(&acme.owner, Method::POST, &tasks, Some(sooner)).await).await;
    assert_eq!(call["due_at"], "2026-12-03T08:00:00Z");
    let mine = app.call(&acme.owner, Method::GET, "/api/v1/tasks?open=true", None).await.json();
    let titles: Vec<&str> = mine["data"].as_array().unwrap().iter().map(|t| t["title"].as_str().unwrap()).collect();
    assert_eq!(titles, ["Call back", "Send quote"]);

    let done = app
        .call(&acme.owner, Method::PATCH, &format!("/api/v1/tasks/{}", call["id"]), Some(json!({"done": true})))
        .await;
    assert!(done.json()["done_at"].is_string(), "{}", done.text());
    let open = app.call(&acme.owner, Method::GET, &format!("{tasks}?open=true"), None).await.json();
    assert_eq!(open["data"].as_array().unwrap().len(), 1);
    let timeline = app.call(&acme.owner, Method::GET, &format!("/api/v1/people/{ada}/timeline"), None).await.json();
    assert_eq!(timeline["data"][0]["kind"], "task.done", "{timeline}");
}

#[tokio::test]
async fn a_reminder_emails_the_assignee_once_and_not_for_a_task_done_before_its_time() {
    let Some(sink) = SmtpSink::start_or_skip() else { return };
    let port = sink.port;
    let app = TestApp::configured(|config| {
        config.public_url = Some("http://rapport.test".into());
        config.mail.smtp_host = "127.0.0.1".into();
        config.mail.smtp_port = port;
        config.mail.tls = MailTls::None;
    })
    .await;
    let acme = workspace(&app, "Acme").await;
    let ws = acme.created.workspace_id;
    let sam = app.add_member(ws, "sam@acme.example", "member").await;
    let ada = person(&app, &acme.owner).await;
    let past = (chrono::Utc::now() - chrono::Duration::minutes(1)).to_rfc3339();
    let remind = json!({"title": "Call Ada back", "assignee": sam.get(), "remind_at": past});
    created(app.call(&acme.owner, Method::POST, &format!("/api/v1/people/{ada}/tasks"), Some(remind.clone())).await)
        .await;
    let mut skipped = remind.clone();
    skipped["title"] = json!("Already handled");
    let handled = created(app.call(&acme.owner, Method::POST, "/api/v1/tasks", Some(skipped)).await).await;
    app.call(&acme.owner, Method::PATCH, &format!("/api/v1/tasks/{}", handled["id"]), Some(json!({"done": true})))
        .await;

    app.run_pending_jobs().await;
    app.run_pending_jobs().await;
    let messages = sink.messages_to("sam@acme.example");
    assert_eq!(messages.len(), 1, "{messages:?}");
    assert!(messages[0].contains("Call Ada back") && messages[0].contains("http://rapport.test/tasks"));
    assert_eq!(app.count("tasks WHERE reminded_at IS NOT NULL").await, 1);
}

#[tokio::test]
async fn the_notes_and_tasks_of_a_purged_person_go_with_them() {
    let app = TestApp::new().await;
    let acme = workspace(&app, "Acme").await;
    let ada = person(&app, &acme.owner).await;
    app.call(&acme.owner, Method::POST, &format!("/api/v1/people/{ada}/notes"), Some(json!({"body": "n"}))).await;
    app.call(&acme.owner, Method::POST, &format!("/api/v1/people/{ada}/tasks"), Some(json!({"title": "t"}))).await;
    app.call(&acme.owner, Method::DELETE, &format!("/api/v1/people/{ada}"), None).await;
    app.set_time("UPDATE people SET deleted_at = $1", chrono::Utc::now() - chrono::Duration::days(31)).await;
    assert_eq!(rapport::person::purge_trash(app.db()).await.unwrap(), 1);
    let subscribers = rapport::activity::subscribe(rapport_jobs::Subscribers::new());
    // On PostgreSQL a subscriber reads only up to the oldest transaction still running in the
    // cluster, which a test running beside this one may hold back for a moment.
    rapport_test_db::eventually("the purge reaches the subscriber", std::time::Duration::from_secs(30), || async {
        subscribers.deliver_pending(app.db(), "test").await;
        app.count("notes").await == 0
    })
    .await;
    assert_eq!((app.count("notes").await, app.count("tasks").await), (0, 0));
}

#[tokio::test]
async fn a_company_page_adds_a_note_and_a_task_and_the_task_is_done_from_my_tasks() {
    let app = TestApp::new().await;
    let acme = workspace(&app, "Acme").await;
    let company =
        created(app.call(&acme.owner, Method::POST, "/api/v1/companies", Some(json!({"name": "Initech"}))).await).await
            ["id"]
            .clone();
    let (cookie, csrf) = app.sign_in("owner@acme.example").await;
    let id = company.to_string();
    let note =
        [("csrf_token", csrf.as_str()), ("target_type", "company"), ("target_id", &id), ("body", "Renewal in March")];
    let posted = app.post_form_as(&cookie, "/notes/new", &note).await;
    assert_eq!(posted.status, StatusCode::SEE_OTHER, "{}", posted.text());
    let task = [
        ("csrf_token", csrf.as_str()),
        ("target_type", "company"),
        ("target_id", &id),
        ("title", "Prepare renewal"),
        ("due_at", "2026-12-20T10:30"),
    ];
    app.post_form_as(&cookie, "/tasks/new", &task).await;
    let page = app.get_as(&cookie, &format!("/companies/{company}")).await.text();
    assert!(
        page.contains("Renewal in March") && page.contains("Prepare renewal") && page.contains("2026-12-20 10:30"),
        "{page}"
    );
    let ada = person(&app, &acme.owner).await.to_string();
    let on_person =
        [("csrf_token", csrf.as_str()), ("target_type", "person"), ("target_id", &ada), ("body", "Likes trains")];
    let posted = app.post_form_as(&cookie, "/notes/new", &on_person).await;
    assert_eq!(posted.header("location"), format!("/people/{ada}#note-2"));
    assert!(app.get_as(&cookie, &format!("/people/{ada}")).await.text().contains("Likes trains"));

    let tasks = app.get_as(&cookie, "/tasks").await.text();
    let task_id = tasks.split("id=\"task-").nth(1).unwrap().split('"').next().unwrap().to_owned();
    let done = app
        .post_form_as(
            &cookie,
            &format!("/tasks/{task_id}/done"),
            &[("csrf_token", &csrf), ("back", "https://evil.example")],
        )
        .await;
    assert_eq!(done.header("location"), "/tasks");
    assert_eq!(app.count("tasks WHERE done_at IS NOT NULL").await, 1);
    let forged = app
        .post_form_as(
            &cookie,
            "/notes/new",
            &[("csrf_token", "forged"), ("target_type", "company"), ("target_id", &id), ("body", "x")],
        )
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    assert_eq!(app.count("notes").await, 2);
}
