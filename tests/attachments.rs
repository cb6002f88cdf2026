//! Attachments on people and companies, on SQLite or on PostgreSQL when
//! `RAPPORT_TEST_DATABASE_URL` is set: the upload, list and download round trip, the size limit
//! (413, nothing kept), the content-type check (a spoofed type refused), who may see, add and
//! delete, the record's page, removal with a purged record, and the sweep of orphaned files.

#![allow(clippy::unwrap_used)]

mod util;

use std::path::{Path, PathBuf};

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use rapport::access::{self, Name};
use rapport::identity::{self, Grant};
use serde_json::{Value, json};
use sha2::Digest;
use util::{BOUNDARY, TestApp, TestResponse, multipart};

/// A PNG signature and header chunk followed by bytes of every value.
fn png() -> Vec<u8> {
    let mut bytes = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0".to_vec();
    bytes.extend((0..=255_u8).cycle().take(5000));
    bytes
}

async fn upload(app: &TestApp, token: &str, path: &str, name: &str, content_type: &str, bytes: &[u8]) -> TestResponse {
    let request = Request::post(path)
        .header("authorization", format!("Bearer {token}"))
        .header("content-type", format!("multipart/form-data; boundary={BOUNDARY}"))
        .body(Body::from(multipart(&[], name, content_type, bytes)))
        .unwrap();
    app.request(request).await
}

struct Workspace {
    created: rapport::workspace::Created,
    owner: String,
}

async fn workspace(app: &TestApp, name: &str) -> Workspace {
    let created = app.with_workspace(name, &format!("owner@{}.example", name.to_lowercase())).await;
    let owner = app.token_for(&created, created.owner_id).await;
    Workspace { created, owner }
}

fn created(response: &TestResponse) -> Value {
    assert_eq!(response.status, StatusCode::CREATED, "{}", response.text());
    response.json()
}

async fn person(app: &TestApp, token: &str, body: Value) -> i64 {
    created(&app.call(token, Method::POST, "/api/v1/people", Some(body)).await)["id"].as_i64().unwrap()
}

/// Every file under the data directory's attachment folder.
fn stored_files(app: &TestApp) -> Vec<PathBuf> {
    fn walk(dir: &Path, found: &mut Vec<PathBuf>) {
        let Ok(entries) = std::fs::read_dir(dir) else { return };
        for entry in entries.flatten() {
            if entry.file_type().unwrap().is_dir() {
                walk(&entry.path(), found);
            } else {
                found.push(entry.path());
            }
        }
    }
    let mut found = Vec::new();
    walk(&app.state.config.data_dir.join("attachments"), &mut found);
    found
}

#[tokio::test]
async fn an_uploaded_file_is_listed_downloaded_byte_for_byte_and_shown_on_the_timeline() {
    let app = TestApp::new().await;
    let acme = workspace(&app, "Acme").await;
    let ada = person(&app, &acme.owner, json!({"first_name": "Ada"})).await;
    let bytes = png();
    let path = format!("/api/v1/people/{ada}/attachments");
    let stored = created(&upload(&app, &acme.owner, &path, "../scans/Ada ID.png", "image/png", &bytes).await);
    assert_eq!(stored["file_name"], "Ada ID.png");
    assert_eq!(stored["content_type"], "image/png");
    assert_eq!(stored["size"], bytes.len());
    assert_eq!(stored["sha256"], hex::encode(sha2::Sha256::digest(&bytes)));
    assert_eq!(stored["target"], json!({"type": "person", "id": ada}));
    assert_eq!(stored["uploader_email"], "owner@acme.example");

    let listed = app.call(&acme.owner, Method::GET, &path, None).await.json();
    assert_eq!(listed["data"][0]["id"], stored["id"], "{listed}");
    let one = format!("/api/v1/attachments/{}", stored["id"]);
    assert_eq!(app.call(&acme.owner, Method::GET, &one, None).await.json()["sha256"], stored["sha256"]);
    let download = app.call(&acme.owner, Method::GET, &format!("{one}/content"), None).await;
    assert_eq!(download.status, StatusCode::OK);
    assert_eq!(download.body, bytes, "the bytes come back unchanged");
    assert_eq!(download.header("content-type"), "image/png");
    assert_eq!(download.header("x-content-type-options"), "nosniff");
    assert_eq!(
        download.header("content-disposition"),
        "attachment; filename=\"Ada ID.png\"; filename*=UTF-8''Ada%20ID.png"
    );

    let timeline = app.call(&acme.owner, Method::GET, &format!("/api/v1/people/{ada}/timeline"), None).await.json();
    assert_eq!(timeline["data"][0]["summary"], "Attached Ada ID.png", "{timeline}");
    assert_eq!(timeline["data"][0]["link"], format!("/people/{ada}#attachment-{}", stored["id"]));
    assert_eq!(app.count("audit_rows WHERE entity = 'attachment'").await, 1);

    let company = created(
        &app.call(&acme.owner, Method::POST, "/api/v1/companies", Some(json!({"name": "Initech"}))).await,
    )["id"]
        .clone();
    let csv = "name,amount\nAda,12\nZoë,7\n";
    let sheet = upload(
        &app,
        &acme.owner,
        &format!("/api/v1/companies/{company}/attachments"),
        "q4.csv",
        "text/csv",
        csv.as_bytes(),
    )
    .await;
    assert_eq!(created(&sheet)["content_type"], "text/csv");
    assert_eq!(stored_files(&app).len(), 2);
}

#[tokio::test]
async fn a_file_over_the_limit_answers_413_and_leaves_nothing_on_disk() {
    let app = TestApp::configured(|config| config.attachments.max_bytes = 4096).await;
    let acme = workspace(&app, "Acme").await;
    let ada = person(&app, &acme.owner, json!({"first_name": "Ada"})).await;
    let path = format!("/api/v1/people/{ada}/attachments");
    let big = png();
    let streamed = upload(&app, &acme.owner, &path, "big.png", "image/png", &big).await;
    assert_eq!(
        (streamed.status, streamed.error_code()),
        (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large".to_owned())
    );

    let body = multipart(&[], "big.png", "image/png", &[b'x'; 200_000]);
    let declared = Request::post(&path)
        .header("authorization", format!("Bearer {}", acme.owner))
        .header("content-type", format!("multipart/form-data; boundary={BOUNDARY}"))
        .header("content-length", body.len())
        .body(Body::from(body))
        .unwrap();
    let refused = app.request(declared).await;
    assert_eq!((refused.status, refused.error_code()), (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large".to_owned()));

    assert_eq!(app.count("attachments").await, 0);
    assert!(stored_files(&app).is_empty(), "{:?}", stored_files(&app));
    let fits = upload(&app, &acme.owner, &path, "small.png", "image/png", &big[..4096]).await;
    assert_eq!(fits.status, StatusCode::CREATED, "a file of exactly the limit is accepted: {}", fits.text());
}

#[tokio::test]
async fn a_file_whose_bytes_are_not_its_declared_or_an_accepted_type_is_refused_naming_file() {
    let app = TestApp::new().await;
    let acme = workspace(&app, "Acme").await;
    let ada = person(&app, &acme.owner, json!({"first_name": "Ada"})).await;
    let path = format!("/api/v1/people/{ada}/attachments");
    let html = b"<!DOCTYPE html><html><body><script>fetch('/api/v1/me')</script></body></html>";
    for (name, declared, bytes) in [
        ("photo.png", "image/png", html.as_slice()),
        ("notes.txt", "text/plain", html.as_slice()),
        ("page.html", "text/html", b"just text".as_slice()),
        ("photo.jpg", "image/jpeg", &*png().leak()),
        ("tool.exe", "application/octet-stream", b"MZ\x90\0\x03\0\0\0\x04\0\0\0\xff\xff".as_slice()),
        ("empty.txt", "text/plain", b"".as_slice()),
    ] {
        let refused = upload(&app, &acme.owner, &path, name, declared, bytes).await;
        assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "{name}: {}", refused.text());
        assert!(refused.json()["error"]["fields"]["file"].is_array(), "{name}: {}", refused.text());
    }
    let missing = Request::post(&path)
        .header("authorization", format!("Bearer {}", acme.owner))
        .header("content-type", format!("multipart/form-data; boundary={BOUNDARY}"))
        .body(Body::from(format!(
            "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"x\"\r\n\r\ny\r\n--{BOUNDARY}--\r\n"
        )))
        .unwrap();
    assert!(app.request(missing).await.json()["error"]["fields"]["file"].is_array());
    assert_eq!(app.count("attachments").await, 0);
    assert!(stored_files(&app).is_empty(), "{:?}", stored_files(&app));
}

#[tokio::test]
async fn a_record_outside_the_callers_reach_is_missing_and_a_viewer_may_read_but_not_upload() {
    let app = TestApp::new().await;
    let acme = workspace(&app, "Acme").await;
    let ws = acme.created.workspace_id;
    let owner = identity::token_principal(app.db(), &acme.owner).await.unwrap();
    let reader_id = app.add_member(ws, "reader@acme.example", "member").await;
    let reader = app.token_for(&acme.created, reader_id).await;
    let grants = ["people:read:own", "people:create:own"].map(|g| Grant::parse(g).unwrap()).to_vec();
    let role = access::create_role(app.db(), &owner, Name::parse("Own only").unwrap(), grants, None).await.unwrap();
    access::assign_role(app.db(), &owner, reader_id, Some(role), None).await.unwrap();
    let viewer = app.token_for(&acme.created, app.add_member(ws, "viewer@acme.example", "viewer").await).await;
    let others = person(&app, &acme.owner, json!({"first_name": "Grace"})).await;
    let own = person(&app, &acme.owner, json!({"first_name": "Ada", "owner": reader_id.get()})).await;
    let theirs = created(
        &upload(&app, &acme.owner, &format!("/api/v1/people/{others}/attachments"), "a.png", "image/png", &png()).await,
    );

    let answers = |id: i64| {
        let attachment = if id == others { theirs["id"].as_i64().unwrap() } else { 987_654 };
        [
            (Method::GET, format!("/api/v1/people/{id}/attachments")),
            (Method::GET, format!("/api/v1/attachments/{attachment}")),
            (Method::GET, format!("/api/v1/attachments/{attachment}/content")),
            (Method::DELETE, format!("/api/v1/attachments/{attachment}")),
        ]
    };
    for ((method, path), (_, missing)) in answers(others).into_iter().zip(answers(987_654)) {
        let answer = app.call(&reader, method.clone(), &path, None).await;
        let absent = app.call(&reader, method, &missing, None).await;
        assert_eq!((answer.status, answer.error_code()), (StatusCode::NOT_FOUND, absent.error_code()), "{path}");
    }
    let upload_theirs =
        upload(&app, &reader, &format!("/api/v1/people/{others}/attachments"), "b.png", "image/png", &png()).await;
    assert_eq!(upload_theirs.status, StatusCode::NOT_FOUND);
    let upload_own =
        upload(&app, &reader, &format!("/api/v1/people/{own}/attachments"), "b.png", "image/png", &png()).await;
    assert_eq!(upload_own.status, StatusCode::CREATED, "{}", upload_own.text());

    let listed = app.call(&viewer, Method::GET, &format!("/api/v1/people/{others}/attachments"), None).await;
    assert_eq!(listed.json()["data"][0]["id"], theirs["id"]);
    let by_viewer =
        upload(&app, &viewer, &format!("/api/v1/people/{others}/attachments"), "c.png", "image/png", &png()).await;
    assert_eq!(by_viewer.status, StatusCode::FORBIDDEN);
    let deleted = app.call(&viewer, Method::DELETE, &format!("/api/v1/attachments/{}", theirs["id"]), None).await;
    assert_eq!(deleted.status, StatusCode::FORBIDDEN);
    assert_eq!((app.count("attachments").await, stored_files(&app).len()), (2, 2));
}

#[tokio::test]
async fn another_workspace_can_neither_see_nor_add_nor_delete_attachments() {
    let app = TestApp::new().await;
    let acme = workspace(&app, "Acme").await;
    let globex = workspace(&app, "Globex").await;
    let ada = person(&app, &acme.owner, json!({"first_name": "Ada"})).await;
    let stored = created(
        &upload(&app, &acme.owner, &format!("/api/v1/people/{ada}/attachments"), "a.png", "image/png", &png()).await,
    );
    let id = &stored["id"];
    for (method, path) in [
        (Method::GET, format!("/api/v1/people/{ada}/attachments")),
        (Method::GET, format!("/api/v1/attachments/{id}")),
        (Method::GET, format!("/api/v1/attachments/{id}/content")),
        (Method::DELETE, format!("/api/v1/attachments/{id}")),
    ] {
        assert_eq!(app.call(&globex.owner, method, &path, None).await.status, StatusCode::NOT_FOUND, "{path}");
    }
    let added =
        upload(&app, &globex.owner, &format!("/api/v1/people/{ada}/attachments"), "b.png", "image/png", &png()).await;
    assert_eq!(added.status, StatusCode::NOT_FOUND);
    assert_eq!((app.count("attachments").await, stored_files(&app).len()), (1, 1));
}

#[tokio::test]
async fn deleting_an_attachment_removes_its_row_and_its_file() {
    let app = TestApp::new().await;
    let acme = workspace(&app, "Acme").await;
    let ada = person(&app, &acme.owner, json!({"first_name": "Ada"})).await;
    let stored = created(
        &upload(&app, &acme.owner, &format!("/api/v1/people/{ada}/attachments"), "a.png", "image/png", &png()).await,
    );
    let path = format!("/api/v1/attachments/{}", stored["id"]);
    assert_eq!(app.call(&acme.owner, Method::DELETE, &path, None).await.status, StatusCode::NO_CONTENT);
    assert_eq!(app.call(&acme.owner, Method::GET, &path, None).await.status, StatusCode::NOT_FOUND);
    assert_eq!((app.count("attachments").await, stored_files(&app).len()), (0, 0));
    assert_eq!(app.count("audit_rows WHERE entity = 'attachment' AND action = 'delete'").await, 1);
}

#[tokio::test]
async fn a_purged_person_takes_their_attachments_rows_and_files_with_them() {
    let app = TestApp::new().await;
    let acme = workspace(&app, "Acme").await;
    let ada = person(&app, &acme.owner, json!({"first_name": "Ada"})).await;
    let grace = person(&app, &acme.owner, json!({"first_name": "Grace"})).await;
    for id in [ada, ada, grace] {
        created(
            &upload(&app, &acme.owner, &format!("/api/v1/people/{id}/attachments"), "a.png", "image/png", &png()).await,
        );
    }
    app.call(&acme.owner, Method::DELETE, &format!("/api/v1/people/{ada}"), None).await;
    app.set_time(
        "UPDATE people SET deleted_at = $1 WHERE deleted_at IS NOT NULL",
        chrono::Utc::now() - chrono::Duration::days(31),
    )
    .await;
    assert_eq!(rapport::person::purge_trash(app.db()).await.unwrap(), 1);
    let subscribers =
        rapport::attachment::subscribe(rapport_jobs::Subscribers::new(), app.state.config.data_dir.clone());
    // On PostgreSQL a subscriber reads only up to the oldest transaction still running in the
    // cluster, which a test running beside this one may hold back for a moment.
    rapport_test_db::eventually("the purge reaches the subscriber", std::time::Duration::from_secs(30), || async {
        subscribers.deliver_pending(app.db(), "test").await;
        app.count("attachments").await == 1
    })
    .await;
    assert_eq!((app.count("attachments").await, stored_files(&app).len()), (1, 1));
    let left = app.call(&acme.owner, Method::GET, &format!("/api/v1/people/{grace}/attachments"), None).await.json();
    assert_eq!(left["data"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn the_sweep_removes_old_files_no_row_names_and_keeps_the_rest() {
    let app = TestApp::new().await;
    let acme = workspace(&app, "Acme").await;
    let ada = person(&app, &acme.owner, json!({"first_name": "Ada"})).await;
    created(
        &upload(&app, &acme.owner, &format!("/api/v1/people/{ada}/attachments"), "a.png", "image/png", &png()).await,
    );
    let folder = app.state.config.data_dir.join("attachments").join(acme.created.workspace_id.to_string());
    let old = std::time::SystemTime::now() - std::time::Duration::from_secs(2 * 3600);
    for file in stored_files(&app) {
        std::fs::File::options().write(true).open(file).unwrap().set_modified(old).unwrap();
    }
    for (name, age) in [("0123abcd", old), (".upload-99", old), ("4567cdef", std::time::SystemTime::now())] {
        let file = std::fs::File::create(folder.join(name)).unwrap();
        file.set_modified(age).unwrap();
    }
    assert_eq!(rapport::attachment::sweep(app.db(), &app.state.config.data_dir).await.unwrap(), 2);
    let mut left: Vec<String> =
        stored_files(&app).iter().map(|p| p.file_name().unwrap().to_string_lossy().into_owned()).collect();
    left.sort();
    assert_eq!(left.len(), 2, "the attached file and the recent orphan stay: {left:?}");
    assert!(left.contains(&"4567cdef".to_owned()));
}

#[tokio::test]
async fn a_persons_page_uploads_lists_and_deletes_a_file_with_its_csrf_token() {
    let app = TestApp::new().await;
    let acme = workspace(&app, "Acme").await;
    let ada = person(&app, &acme.owner, json!({"first_name": "Ada"})).await;
    let (cookie, csrf) = app.sign_in("owner@acme.example").await;
    let page = app.get_as(&cookie, &format!("/people/{ada}")).await.text();
    assert!(page.contains("enctype=\"multipart/form-data\"") && page.contains("No files attached."), "{page}");
    let post = |token: &str| {
        Request::post(format!("/attachments/new?target_type=person&target_id={ada}"))
            .header("cookie", &cookie)
            .header("host", "localhost")
            .header("sec-fetch-site", "same-origin")
            .header("content-type", format!("multipart/form-data; boundary={BOUNDARY}"))
            .body(Body::from(multipart(
                &[("csrf_token", token)],
                "Contract 2026.pdf",
                "application/pdf",
                b"%PDF-1.7\n%\xe2\xe3\n1 0 obj\n",
            )))
            .unwrap()
    };
    let forged = app.request(post("forged")).await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    assert!(stored_files(&app).is_empty());
    let posted = app.request(post(&csrf)).await;
    assert_eq!(posted.status, StatusCode::SEE_OTHER, "{}", posted.text());
    assert!(posted.header("location").starts_with(&format!("/people/{ada}#attachment-")));

    let page = app.get_as(&cookie, &format!("/people/{ada}")).await.text();
    assert!(
        page.contains("Contract 2026.pdf") && page.contains("application/pdf") && page.contains("owner@acme.example"),
        "{page}"
    );
    let id = page.split("id=\"attachment-").nth(1).unwrap().split('"').next().unwrap().to_owned();
    let download = app.get_as(&cookie, &format!("/api/v1/attachments/{id}/content")).await;
    assert_eq!(download.body, b"%PDF-1.7\n%\xe2\xe3\n1 0 obj\n");
    let deleted = app.post_form_as(&cookie, &format!("/attachments/{id}/delete"), &[("csrf_token", &csrf)]).await;
    assert_eq!(deleted.status, StatusCode::SEE_OTHER);
    assert_eq!((app.count("attachments").await, stored_files(&app).len()), (0, 0));
}
