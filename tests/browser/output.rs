//! The output of a child process (the server, chromedriver): read line by line until it
//! announces that it is ready, with a deadline instead of a sleep, and kept in memory so a
//! failing test can show it.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader, Lines};
use tokio::task::JoinHandle;

/// The lines a process wrote to stdout and stderr, in the order they were read.
#[derive(Clone, Default)]
pub struct OutputLog {
    lines: Arc<Mutex<Vec<String>>>,
    drains: Arc<Mutex<Vec<JoinHandle<()>>>>,
}

impl OutputLog {
    pub fn text(&self) -> String {
        lock(&self.lines).join("\n")
    }

    /// Keeps copying `stream` into the log in the background until it ends.
    pub fn drain<R: AsyncRead + Unpin + Send + 'static>(&self, stream: R) {
        self.drain_lines(BufReader::new(stream).lines());
    }

    fn drain_lines<R: AsyncRead + Unpin + Send + 'static>(&self, mut lines: Lines<BufReader<R>>) {
        let log = self.clone();
        let drain = tokio::spawn(async move {
            while let Ok(Some(line)) = lines.next_line().await {
                lock(&log.lines).push(line);
            }
        });
        lock(&self.drains).push(drain);
    }

    /// Reads `stream` line by line until `found` recognises a line, then keeps draining the
    /// rest into the log. Panics, showing the log, if the stream ends (the process exited) or
    /// `deadline` passes first; `program` and `what` name them in that message.
    pub async fn read_until<R: AsyncRead + Unpin + Send + 'static, T>(
        &self,
        stream: R,
        deadline: Duration,
        program: &str,
        what: &str,
        mut found: impl FnMut(&str) -> Option<T>,
    ) -> T {
        let mut lines = BufReader::new(stream).lines();
        let until = tokio::time::Instant::now() + deadline;
        loop {
            let line = match tokio::time::timeout_at(until, lines.next_line()).await {
                Ok(Ok(Some(line))) => line,
                Ok(Ok(None) | Err(_)) => {
                    self.finish(Duration::from_secs(2)).await;
                    panic!("{program} exited before printing {what}; its output:\n{}", self.text())
                }
                Err(_) => panic!(
                    "{program} did not print {what} within {} s; its output so far:\n{}",
                    deadline.as_secs(),
                    self.text()
                ),
            };
            let value = found(&line);
            lock(&self.lines).push(line);
            if let Some(value) = value {
                self.drain_lines(lines);
                return value;
            }
        }
    }

    /// Waits (at most `within`) until the streams being drained end, so that the log of a
    /// process that exited is complete.
    async fn finish(&self, within: Duration) {
        let drains: Vec<_> = lock(&self.drains).drain(..).collect();
        let _ = tokio::time::timeout(within, futures::future::join_all(drains)).await;
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding the lock leaves the lines intact; keep reporting them.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}
