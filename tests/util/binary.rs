//! Running the real `rapport` executable: a command to completion, or a server in the
//! background whose address is read from its own start-up output (it binds port 0).

use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

pub struct Binary {
    pub data_dir: tempfile::TempDir,
    /// Extra environment, e.g. `RAPPORT_DATABASE_URL` for PostgreSQL.
    pub env: Vec<(String, String)>,
}

pub struct Server {
    pub child: Child,
    pub url: String,
    pub setup_link: Option<String>,
    /// Every line printed on standard output up to the address.
    pub printed: Vec<String>,
}

impl Binary {
    pub fn new() -> Self {
        Self { data_dir: tempfile::tempdir().unwrap(), env: Vec::new() }
    }

    /// A `Binary` on PostgreSQL when the tests run against it (each with a fresh database, kept
    /// while the guard lives), else on SQLite in its data directory.
    pub async fn on_test_database() -> (Self, Option<impl Drop>) {
        let mut binary = Self::new();
        if std::env::var(rapport_test_db::TEST_DATABASE_URL).is_ok_and(|v| !v.is_empty()) {
            let (options, guard) = rapport_test_db::TestDb::unopened().await;
            binary.env.push(("RAPPORT_DATABASE_URL".into(), options.url.expose().clone()));
            return (binary, Some(guard));
        }
        (binary, None)
    }

    pub fn path() -> PathBuf {
        PathBuf::from(env!("CARGO_BIN_EXE_rapport"))
    }

    pub fn command(&self) -> Command {
        let mut command = Command::new(Self::path());
        command
            .current_dir(self.data_dir.path())
            .env("RAPPORT_DATA_DIR", self.data_dir.path().join("data"))
            .env("RAPPORT_LISTEN", "127.0.0.1:0")
            .env_remove("RAPPORT_DATABASE_URL")
            .kill_on_drop(true);
        for (key, value) in &self.env {
            command.env(key, value);
        }
        command
    }

    pub async fn run(&self, args: &[&str], stdin: Option<&str>) -> Output {
        let mut command = self.command();
        command.args(args).stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
        let mut child = command.spawn().unwrap();
        let mut input = child.stdin.take().unwrap();
        if let Some(text) = stdin {
            tokio::io::AsyncWriteExt::write_all(&mut input, text.as_bytes()).await.unwrap();
        }
        drop(input);
        tokio::time::timeout(Duration::from_secs(60), child.wait_with_output())
            .await
            .expect("the command finishes")
            .unwrap()
    }

    /// Creates a workspace owned by `owner` with the command line and a full-access token for
    /// them; answers the workspace id and the token.
    pub async fn workspace_with_token(&self, name: &str, owner: &str) -> (String, String) {
        let args = ["admin", "create-workspace", "--name", name, "--owner-email", owner, "--password-stdin"];
        let created = self.run(&args, Some("correct horse battery\n")).await;
        assert!(created.status.success(), "{}", String::from_utf8_lossy(&created.stderr));
        let workspace = String::from_utf8_lossy(&created.stdout).trim().to_owned();
        let args = ["admin", "create-token", "--workspace", &workspace, "--email", owner, "--name", "test"];
        let token = self.run(&args, None).await;
        assert!(token.status.success(), "{}", String::from_utf8_lossy(&token.stderr));
        (workspace, String::from_utf8_lossy(&token.stdout).trim().to_owned())
    }

    pub fn sqlite_file(&self) -> PathBuf {
        self.data_dir.path().join("data").join("rapport.db")
    }

    pub fn dir(&self) -> &Path {
        self.data_dir.path()
    }

    /// Starts `rapport serve` and waits (with a deadline) until it prints its address.
    pub async fn serve(&self) -> Server {
        self.serve_with(&[]).await
    }

    /// The same with extra arguments to `serve`, such as `--demo`.
    pub async fn serve_with(&self, args: &[&str]) -> Server {
        let mut command = self.command();
        command.arg("serve").args(args).stdout(Stdio::piped()).stderr(Stdio::inherit());
        let mut child = command.spawn().unwrap();
        let stdout = child.stdout.take().unwrap();
        let mut lines = BufReader::new(stdout).lines();
        let mut setup_link = None;
        let mut printed = Vec::new();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        let url = loop {
            let line = tokio::time::timeout_at(deadline, lines.next_line())
                .await
                .expect("the server prints its address in time")
                .unwrap();
            let line = line.expect("the server exited before it was ready");
            printed.push(line.clone());
            if let Some(rest) = line.trim().strip_prefix("in a browser:") {
                setup_link = Some(rest.trim().to_owned());
            }
            if let Some(rest) = line.split(" is running at ").nth(1) {
                break rest.trim().to_owned();
            }
        };
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Server { child, url, setup_link, printed }
    }
}

impl Server {
    pub async fn stop(mut self) {
        if let Some(pid) = self.child.id() {
            let _ = std::process::Command::new("kill").arg("-TERM").arg(pid.to_string()).status();
        }
        let _ = tokio::time::timeout(Duration::from_secs(30), self.child.wait()).await;
    }
}
