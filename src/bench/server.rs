//! The real server under test: this very executable started as `rapport serve` in a child
//! process, on port 0 of the loopback interface, with the scenario's fresh database. Its address
//! is read from the last line it prints at start-up; its peak memory from `/proc`. Nothing of
//! the caller's configuration leaks in: the child gets no `RAPPORT_*` variable but ours and
//! runs in the scratch directory, away from any `rapport.toml`.

use std::net::SocketAddr;
use std::process::Stdio;
use std::time::Duration;

use anyhow::Context as _;
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use rapport_db::Backend;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

use super::system::peak_rss_bytes;
use super::target::Target;

const START_DEADLINE: Duration = Duration::from_secs(60);
const STOP_DEADLINE: Duration = Duration::from_secs(30);

pub struct Server {
    child: Child,
    pid: u32,
    pub address: SocketAddr,
}

impl Server {
    pub async fn start(target: &Target) -> anyhow::Result<Self> {
        let executable = std::env::current_exe().context("finding the rapport executable")?;
        let mut command = Command::new(executable);
        for (key, _) in std::env::vars_os() {
            if key.to_string_lossy().starts_with("RAPPORT_") {
                command.env_remove(key);
            }
        }
        command
            .arg("serve")
            .current_dir(target.scratch())
            .env("RAPPORT_LISTEN", "127.0.0.1:0")
            .env("RAPPORT_DATA_DIR", target.data_dir())
            // Request logs would cost the server CPU the benchmark is measuring.
            .env("RAPPORT_LOG__FILTER", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true);
        if target.backend() == Backend::Postgres {
            command.env("RAPPORT_DATABASE_URL", target.database_url());
        }
        let mut child = command.spawn().context("starting rapport serve")?;
        let pid = child.id().context("the server exited at once")?;
        let stdout = child.stdout.take().context("the server's output")?;
        let mut lines = BufReader::new(stdout).lines();
        let address = tokio::time::timeout(START_DEADLINE, async {
            while let Some(line) = lines.next_line().await? {
                if let Some((_, url)) = line.split_once(" is running at ") {
                    let address = url.trim().trim_start_matches("http://").trim_end_matches('/');
                    return address.parse().with_context(|| format!("reading the server address from {line:?}"));
                }
            }
            anyhow::bail!("the server exited before it was ready")
        })
        .await
        .context("the server did not start within a minute")??;
        // Keep reading so that the server never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Ok(Self { child, pid, address })
    }

    /// The server's peak resident memory so far.
    pub fn peak_rss(&self) -> Option<u64> {
        peak_rss_bytes(self.pid)
    }

    /// Asks the server to shut down as an operator would (SIGTERM) and waits for a clean exit.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        let pid = i32::try_from(self.pid).context("process id out of range")?;
        kill(Pid::from_raw(pid), Signal::SIGTERM).context("signalling the server")?;
        let status = match tokio::time::timeout(STOP_DEADLINE, self.child.wait()).await {
            Ok(status) => status?,
            Err(_) => {
                self.child.kill().await?;
                anyhow::bail!("the server did not stop within {} s of SIGTERM", STOP_DEADLINE.as_secs());
            }
        };
        anyhow::ensure!(status.success(), "the server exited with {status}");
        Ok(())
    }
}
