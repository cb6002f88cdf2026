//! Test support for the application: [`TestApp`] runs the whole router in-process against a
//! fresh database (SQLite, or PostgreSQL when `RAPPORT_TEST_DATABASE_URL` is set) and sends it
//! requests without a network; [`Binary`] runs the real `rapport` executable for tests of the
//! command line and of process behaviour.

#![allow(dead_code, unused_imports, clippy::unwrap_used)]

pub mod account;
pub mod binary;
pub mod smtp;

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode};
use http_body_util::BodyExt;
use rapport::app::AppState;
use rapport::config::Config;
use rapport_core::Email;
use rapport_jobs::Waker;
use rapport_test_db::TestDb;
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;

pub use binary::Binary;

/// The boundary of the test's `multipart/form-data` bodies.
pub const BOUNDARY: &str = "rapport-test-boundary";

/// A `multipart/form-data` body of `fields` then one file part named `file`.
pub fn multipart(fields: &[(&str, &str)], name: &str, content_type: &str, bytes: &[u8]) -> Vec<u8> {
    let mut body = Vec::new();
    for (field, value) in fields {
        body.extend(
            format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{field}\"\r\n\r\n{value}\r\n").bytes(),
        );
    }
    body.extend(
        format!(
            "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\n\
             Content-Type: {content_type}\r\n\r\n"
        )
        .bytes(),
    );
    body.extend(bytes);
    body.extend(format!("\r\n--{BOUNDARY}--\r\n").bytes());
    body
}

pub struct TestApp {
    pub test_db: std::sync::Arc<TestDb>,
    pub state: AppState,
    router: Router,
    _data_dir: tempfile::TempDir,
}

impl TestApp {
    pub async fn new() -> Self {
        Self::on(TestDb::new().await).await
    }

    /// An app on an existing test database.
    pub async fn on(test_db: TestDb) -> Self {
        let db = test_db.db().clone();
        Self::assemble(std::sync::Arc::new(test_db), db, |_| {})
    }

    /// An app whose configuration differs from the defaults as `adjust` says.
    pub async fn configured(adjust: impl FnOnce(&mut Config)) -> Self {
        let test_db = TestDb::new().await;
        let db = test_db.db().clone();
        Self::assemble(std::sync::Arc::new(test_db), db, adjust)
    }

    /// A second application instance on the same database, with its own connections, as a
    /// second server behind a load balancer would be.
    pub async fn sibling(&self) -> Self {
        let db = rapport_db::Db::connect(self.test_db.options()).await.unwrap();
        Self::assemble(std::sync::Arc::clone(&self.test_db), db, |_| {})
    }

    fn assemble(test_db: std::sync::Arc<TestDb>, db: rapport_db::Db, adjust: impl FnOnce(&mut Config)) -> Self {
        let data_dir = tempfile::tempdir().unwrap();
        let mut config = Config { data_dir: data_dir.path().to_path_buf(), ..Config::default() };
        adjust(&mut config);
        let state = AppState::new(db, std::sync::Arc::new(config), Waker::new());
        let router = rapport::http::router(state.clone());
        Self { test_db, state, router, _data_dir: data_dir }
    }

    pub fn db(&self) -> &rapport_db::Db {
        &self.state.db
    }

    pub async fn request(&self, request: Request<Body>) -> TestResponse {
        let response = self.router.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let body = response.into_body().collect().await.unwrap().to_bytes().to_vec();
        TestResponse { status, headers, body }
    }

    pub async fn get(&self, path: &str) -> TestResponse {
        self.request(Request::get(path).body(Body::empty()).unwrap()).await
    }

    pub async fn send(&self, method: Method, path: &str, content_type: &str, body: impl Into<Body>) -> TestResponse {
        let request = Request::builder()
            .method(method)
            .uri(path)
            .header("content-type", content_type)
            .header("host", "localhost")
            .body(body.into())
            .unwrap();
        self.request(request).await
    }

    /// Sends `batch` to `/v1/batch` as a source with `write_key` would, expecting it stored.
    pub async fn track(&self, write_key: &str, batch: serde_json::Value) {
        use base64::Engine;
        let auth = format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{write_key}:")));
        let request = Request::post("/v1/batch")
            .header("host", "localhost")
            .header("authorization", auth)
            .header("content-type", "application/json")
            .body(Body::from(serde_json::json!({ "batch": batch }).to_string()))
            .unwrap();
        let response = self.request(request).await;
        assert_eq!(response.status, StatusCode::OK, "{}", response.text());
    }

    pub async fn post_json(&self, path: &str, json: &serde_json::Value) -> TestResponse {
        self.send(Method::POST, path, "application/json", json.to_string()).await
    }

    /// A browser-like form post from this site (`Sec-Fetch-Site: same-origin`).
    pub async fn post_form(&self, path: &str, fields: &[(&str, &str)]) -> TestResponse {
        self.post_form_from(path, fields, "same-origin").await
    }

    pub async fn post_form_from(&self, path: &str, fields: &[(&str, &str)], fetch_site: &str) -> TestResponse {
        self.form_request(path, fields, fetch_site, None).await
    }

    /// A same-origin form post in the browser session whose cookie is `cookie`.
    async fn form_request(
        &self,
        path: &str,
        fields: &[(&str, &str)],
        fetch_site: &str,
        cookie: Option<&str>,
    ) -> TestResponse {
        let body = url::form_urlencoded::Serializer::new(String::new()).extend_pairs(fields).finish();
        let mut request = Request::post(path)
            .header("content-type", "application/x-www-form-urlencoded")
            .header("host", "localhost")
            .header("sec-fetch-site", fetch_site);
        if let Some(cookie) = cookie {
            request = request.header("cookie", cookie);
        }
        self.request(request.body(Body::from(body)).unwrap()).await
    }

    /// Signs in through the login form with the fixtures' password; returns the session cookie
    /// (`name=value`) and the CSRF token the home page hands out.
    pub async fn sign_in(&self, email: &str) -> (String, String) {
        let login = self.post_form("/login", &[("email", email), ("password", "correct horse battery")]).await;
        assert_eq!(login.status, StatusCode::SEE_OTHER, "{}", login.text());
        let cookie = login.header("set-cookie").split(';').next().unwrap().to_owned();
        let home = self.get_as(&cookie, "/").await.text();
        let csrf = home.split("name=\"csrf_token\" value=\"").nth(1).unwrap().split('"').next().unwrap().to_owned();
        (cookie, csrf)
    }

    pub async fn get_as(&self, cookie: &str, path: &str) -> TestResponse {
        self.request(Request::get(path).header("cookie", cookie).body(Body::empty()).unwrap()).await
    }

    /// A same-origin form post with a session cookie.
    /// A same-origin form post from a signed-in browser.
    pub async fn post_form_as(&self, cookie: &str, path: &str, fields: &[(&str, &str)]) -> TestResponse {
        self.form_request(path, fields, "same-origin", Some(cookie)).await
    }

    /// Creates a workspace with an owner through the service, as the CLI does.
    pub async fn with_workspace(&self, name: &str, owner_email: &str) -> rapport::workspace::Created {
        let new = rapport::workspace::NewWorkspace {
            name: rapport::workspace::WorkspaceName::parse(name).unwrap(),
            owner_email: Email::parse(owner_email).unwrap(),
            owner_password: rapport::identity::Password::parse("correct horse battery").unwrap(),
        };
        rapport::workspace::create_with_owner(self.db(), new, "system:test").await.unwrap()
    }

    /// Runs every due job to completion with the application's own handlers; returns how many.
    pub async fn run_pending_jobs(&self) -> usize {
        let worker = rapport::jobs::worker(self.db().clone(), &self.state.config, self.state.waker.clone());
        let token = CancellationToken::new();
        let mut ran = 0;
        while worker.run_one(&token).await.unwrap() {
            ran += 1;
        }
        ran
    }

    /// Runs an `UPDATE` whose only parameter `$1` is a timestamp: how tests move a row's clock
    /// (expiries, windows) instead of waiting.
    pub async fn set_time(&self, update: &'static str, at: chrono::DateTime<chrono::Utc>) {
        self.db()
            .write(move |tx| {
                Box::pin(async move {
                    let changed = rapport_db::sql!(tx.exec(), c => sqlx::query(update).bind(at).execute(c).await.map(|r| r.rows_affected()))?;
                    Ok::<_, rapport_db::DbError>(changed)
                })
            })
            .await
            .unwrap();
    }

    /// Runs a statement straight on the database, for a test to put it in a state the
    /// application would not (an index emptied as if by an upgrade).
    pub async fn execute(&self, statement: &str) {
        let statement = statement.to_owned();
        self.db()
            .write(move |tx| {
                Box::pin(async move {
                    rapport_db::sql!(tx.exec(), c => sqlx::query(sqlx::AssertSqlSafe(statement.clone())).execute(c).await.map(|_| ()))?;
                    Ok::<_, rapport_db::DbError>(())
                })
            })
            .await
            .unwrap();
    }

    pub async fn count(&self, table: &str) -> i64 {
        let sql = format!("SELECT count(*) FROM {table}");
        rapport_db::sql!(self.db().exec(), c => sqlx::query_scalar(sqlx::AssertSqlSafe(sql.clone())).fetch_one(c).await)
            .unwrap()
    }
}

#[derive(Debug)]
pub struct TestResponse {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl TestResponse {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text()))
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn header(&self, name: &str) -> &str {
        self.headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default()
    }

    /// Asserts the standard error shape and returns the code.
    pub fn error_code(&self) -> String {
        let json = self.json();
        let code = json["error"]["code"].as_str().unwrap_or_else(|| panic!("no error code in {json}"));
        assert!(json["error"]["message"].is_string(), "no message in {json}");
        code.to_owned()
    }
}

/// Introspection of the schema, for tests that must cover every table, including tables added
/// after the test was written.
impl TestApp {
    /// Every table with a `workspace_id` column.
    pub async fn workspace_tables(&self) -> Vec<String> {
        let mut tables: Vec<String> = match self.db().backend() {
            rapport_db::Backend::Sqlite => rapport_db::sql!(self.db().exec(), c => sqlx::query_scalar(
                "SELECT m.name FROM sqlite_master m JOIN pragma_table_info(m.name) p
                 WHERE m.type = 'table' AND p.name = 'workspace_id'"
            ).fetch_all(c).await),
            rapport_db::Backend::Postgres => rapport_db::sql!(self.db().exec(), c => sqlx::query_scalar(
                "SELECT table_name::text FROM information_schema.columns
                 WHERE table_schema = current_schema() AND column_name = 'workspace_id'"
            ).fetch_all(c).await),
        }
        .unwrap();
        tables.sort();
        tables
    }

    pub async fn columns(&self, table: &str) -> Vec<String> {
        match self.db().backend() {
            rapport_db::Backend::Sqlite => rapport_db::sql!(self.db().exec(), c => sqlx::query_scalar(
                "SELECT name FROM pragma_table_info($1)"
            ).bind(table).fetch_all(c).await),
            rapport_db::Backend::Postgres => rapport_db::sql!(self.db().exec(), c => sqlx::query_scalar(
                "SELECT column_name::text FROM information_schema.columns
                 WHERE table_schema = current_schema() AND table_name = $1"
            ).bind(table).fetch_all(c).await),
        }
        .unwrap()
    }

    pub async fn count_in(&self, table: &str, workspace: rapport_core::WorkspaceId) -> i64 {
        let sql = format!("SELECT count(*) FROM {table} WHERE workspace_id = $1");
        rapport_db::sql!(self.db().exec(), c => sqlx::query_scalar(sqlx::AssertSqlSafe(sql.clone()))
            .bind(workspace).fetch_one(c).await)
        .unwrap()
    }

    /// The values of an integer column in one workspace's rows.
    pub async fn column_in(&self, table: &str, column: &str, workspace: rapport_core::WorkspaceId) -> Vec<i64> {
        let sql = format!("SELECT {column} FROM {table} WHERE workspace_id = $1");
        rapport_db::sql!(self.db().exec(), c => sqlx::query_scalar(sqlx::AssertSqlSafe(sql.clone()))
            .bind(workspace).fetch_all(c).await)
        .unwrap()
    }
}

impl TestApp {
    /// Adds a member with a built-in role to the workspace, as invitations will.
    pub async fn add_member(
        &self,
        workspace: rapport_core::WorkspaceId,
        email: &str,
        role: &'static str,
    ) -> rapport_core::UserId {
        let hash =
            rapport::identity::hash_password(&rapport::identity::Password::parse("correct horse battery").unwrap())
                .await
                .unwrap();
        let email = Email::parse(email).unwrap();
        self.db()
            .write(move |tx| {
                Box::pin(async move {
                    let user = rapport::identity::create_user(tx, &email, &hash).await.unwrap();
                    rapport_db::sql!(tx.exec(), c => sqlx::query(
                        "INSERT INTO memberships (workspace_id, user_id, role, created_at) VALUES ($1, $2, $3, $4)"
                    ).bind(workspace).bind(user).bind(role).bind(chrono::Utc::now()).execute(c).await.map(|r| r.rows_affected()))?;
                    Ok::<_, rapport_db::DbError>(user)
                })
            })
            .await
            .unwrap()
    }
}

/// Requests with a bearer token, as API clients make them.
impl TestApp {
    /// A full-access API token for `user` of `created`.
    pub async fn token_for(&self, created: &rapport::workspace::Created, user: rapport_core::UserId) -> String {
        let scopes = vec![rapport::identity::Scope::All];
        let token = rapport::identity::create_token(self.db(), created.workspace_id, user, "t", scopes, None).await;
        token.unwrap().secret.expose().clone()
    }

    pub async fn call(&self, token: &str, method: Method, path: &str, body: Option<serde_json::Value>) -> TestResponse {
        let request = Request::builder()
            .method(method)
            .uri(path)
            .header("authorization", format!("Bearer {token}"))
            .header("content-type", "application/json")
            .body(body.map_or_else(Body::empty, |b| Body::from(b.to_string())))
            .unwrap();
        self.request(request).await
    }
}
