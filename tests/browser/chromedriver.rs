//! A chromedriver process of our own on a free loopback port: started with `--port=0`, it
//! picks the port and prints it; we then poll its `/status` until it reports ready.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use tokio::process::{Child, Command};

use super::output::OutputLog;

const START_DEADLINE: Duration = Duration::from_secs(20);
const POLL_INTERVAL: Duration = Duration::from_millis(50);

pub struct Chromedriver {
    child: Child,
    port: u16,
    log: OutputLog,
}

impl Chromedriver {
    pub async fn start(program: &Path) -> Self {
        let mut child = Command::new(program)
            .arg("--port=0")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|err| panic!("cannot run {}: {err}", program.display()));
        let log = OutputLog::default();
        log.drain(child.stderr.take().expect("stderr is piped"));
        let stdout = child.stdout.take().expect("stdout is piped");
        // "ChromeDriver was started successfully on port 39103."
        let port = log
            .read_until(stdout, START_DEADLINE, "chromedriver", "its port", |line| {
                let (_, rest) = line.split_once("started successfully on port ")?;
                rest.trim_end_matches('.').trim().parse::<u16>().ok()
            })
            .await;
        let driver = Self { child, port, log };
        driver.wait_until_ready().await;
        driver
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn log(&self) -> String {
        self.log.text()
    }

    async fn wait_until_ready(&self) {
        let status = format!("{}/status", self.url());
        let deadline = tokio::time::Instant::now() + START_DEADLINE;
        loop {
            let last = match reqwest::get(&status).await {
                Ok(response) => match response.json::<serde_json::Value>().await {
                    Ok(body) if body["value"]["ready"] == true => return,
                    Ok(body) => body.to_string(),
                    Err(err) => err.to_string(),
                },
                Err(err) => err.to_string(),
            };
            assert!(
                tokio::time::Instant::now() < deadline,
                "chromedriver at {status} is not ready after {} s (last answer: {last}); \
                 its output:\n{}",
                START_DEADLINE.as_secs(),
                self.log()
            );
            tokio::time::sleep(POLL_INTERVAL).await;
        }
    }

    /// Ends a session when no async runtime can be awaited (in `Drop`): on a thread of its
    /// own, as the test runtime must not be blocked on. chromedriver then quits Chromium.
    pub fn delete_session_blocking(&self, session_id: &str) {
        let url = format!("{}/session/{session_id}", self.url());
        let deleted = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
            runtime.block_on(async {
                reqwest::Client::new()
                    .delete(&url)
                    .timeout(Duration::from_secs(20))
                    .send()
                    .await?
                    .error_for_status()?;
                Ok::<_, reqwest::Error>(())
            })?;
            Ok::<_, Box<dyn std::error::Error + Send + Sync>>(())
        })
        .join();
        if !matches!(deleted, Ok(Ok(()))) {
            eprintln!("warning: could not end the WebDriver session {session_id}");
        }
    }

    /// Stops chromedriver and waits for it to exit.
    pub async fn stop(&mut self) {
        let _ = self.child.kill().await;
    }
}
