//! The real `rapport` executable serving on a free port for the browser: SQLite in its own data
//! directory, or a fresh PostgreSQL database when `RAPPORT_TEST_DATABASE_URL` names a server.
//! Its output is kept and printed if the test fails.

use std::process::Stdio;
use std::time::Duration;

use tokio::process::Child;

use super::output::OutputLog;
use crate::util::Binary;

const START_DEADLINE: Duration = Duration::from_secs(60);

pub struct Server {
    /// The base URL, e.g. `http://127.0.0.1:40123`.
    pub url: String,
    /// The one-time setup link it printed, present while no workspace exists.
    pub setup_link: Option<String>,
    log: OutputLog,
    // Held to be dropped, in this order: the server is killed (`kill_on_drop`), then its data
    // directory and its PostgreSQL database, if any, are removed.
    _child: Child,
    binary: Binary,
    _database: Option<Box<dyn std::any::Any>>,
}

impl Server {
    pub async fn start() -> Self {
        Self::start_with(&[]).await
    }

    /// As [`Self::start`], with extra environment (`RAPPORT_MAIL__SMTP_HOST` …).
    pub async fn start_with(env: &[(&str, &str)]) -> Self {
        let mut binary = Binary::new();
        binary.env.extend(env.iter().map(|(key, value)| ((*key).to_owned(), (*value).to_owned())));
        let database: Option<Box<dyn std::any::Any>> =
            if std::env::var_os(rapport_test_db::TEST_DATABASE_URL).is_some_and(|url| !url.is_empty()) {
                let (options, guard) = rapport_test_db::TestDb::unopened().await;
                binary.env.push(("RAPPORT_DATABASE_URL".to_owned(), options.url.expose().clone()));
                Some(Box::new(guard))
            } else {
                None
            };
        let mut child = binary
            .command()
            .arg("serve")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|err| panic!("cannot run {}: {err}", Binary::path().display()));
        let log = OutputLog::default();
        log.drain(child.stderr.take().expect("stderr is piped"));
        let stdout = child.stdout.take().expect("stdout is piped");
        let mut setup_link = None;
        // Printed last at start-up: "Rapport 0.1.0 is running at http://127.0.0.1:40123".
        let url = log
            .read_until(stdout, START_DEADLINE, "rapport", "its address", |line| {
                if let Some(link) = line.trim().strip_prefix("in a browser:") {
                    setup_link = Some(link.trim().to_owned());
                }
                let (_, url) = line.split_once(" is running at ")?;
                Some(url.trim().to_owned())
            })
            .await;
        Self { url, setup_link, log, _child: child, binary, _database: database }
    }

    /// Runs another `rapport` command (`admin …`) on the same data directory and database.
    pub async fn run(&self, args: &[&str], stdin: Option<&str>) -> String {
        let output = self.binary.run(args, stdin).await;
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(output.status.success(), "rapport {} failed: {stderr}", args.join(" "));
        String::from_utf8(output.stdout).expect("UTF-8 output").trim().to_owned()
    }

    /// The server's output so far.
    pub fn log(&self) -> String {
        self.log.text()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("--- rapport's output ---\n{}", self.log());
        }
    }
}
