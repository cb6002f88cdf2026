//! A real SMTP server on loopback for tests of outgoing mail: aiosmtpd (PyPI) with its Mailbox
//! handler, which stores each message it accepts in a Maildir before answering, so a message is
//! on disk once the sender has seen it accepted. Without aiosmtpd the test is skipped with a
//! printed reason, unless `RAPPORT_REQUIRE_SMTP=1` makes that a failure.

use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

pub const REQUIRE_ENV: &str = "RAPPORT_REQUIRE_SMTP";

pub struct SmtpSink {
    pub port: u16,
    maildir: tempfile::TempDir,
    child: Child,
}

impl SmtpSink {
    /// A running server, or `None` after printing why the test is skipped.
    pub fn start_or_skip() -> Option<Self> {
        Self::start_on_or_skip(free_port())
    }

    /// As [`Self::start_or_skip`], on `port` (from [`free_port`]).
    pub fn start_on_or_skip(port: u16) -> Option<Self> {
        let available = Command::new("python3")
            .args(["-c", "import aiosmtpd"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !available {
            assert!(
                std::env::var(REQUIRE_ENV).as_deref() != Ok("1"),
                "{REQUIRE_ENV}=1 but python3 cannot import aiosmtpd"
            );
            let _ = writeln!(
                std::io::stderr(),
                "skipping: python3 cannot import aiosmtpd (pip install aiosmtpd, or set {REQUIRE_ENV}=1 to make this a failure)"
            );
            return None;
        }
        let maildir = tempfile::tempdir().unwrap();
        let mut child = Command::new("python3")
            .args(["-m", "aiosmtpd", "-n", "-d", "-l", &format!("127.0.0.1:{port}")])
            .args(["-c", "aiosmtpd.handlers.Mailbox"])
            .arg(maildir.path().join("box"))
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // The server logs this line once it accepts connections.
        let stderr = child.stderr.take().unwrap();
        let mut lines = BufReader::new(stderr).lines();
        loop {
            match lines.next() {
                Some(Ok(line)) if line.contains("Server is listening on") => break,
                Some(Ok(_)) => {}
                _ => panic!("aiosmtpd ended before listening"),
            }
        }
        std::thread::spawn(move || lines.for_each(drop));
        Some(Self { port, maildir, child })
    }

    /// Every message received so far, raw, with quoted-printable soft line breaks joined.
    pub fn messages(&self) -> Vec<String> {
        let new = self.maildir.path().join("box").join("new");
        let mut paths: Vec<PathBuf> =
            std::fs::read_dir(new).map(|dir| dir.map(|entry| entry.unwrap().path()).collect()).unwrap_or_default();
        paths.sort_by_key(|p| std::fs::metadata(p).and_then(|m| m.modified()).ok());
        paths.into_iter().map(|p| decode(&std::fs::read_to_string(p).unwrap())).collect()
    }

    /// Messages to `address`.
    pub fn messages_to(&self, address: &str) -> Vec<String> {
        self.messages().into_iter().filter(|m| m.lines().any(|l| l.starts_with("To:") && l.contains(address))).collect()
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A loopback port nothing listens on right now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Undoes quoted-printable as far as links need: soft breaks and encoded `=`.
fn decode(raw: &str) -> String {
    raw.replace("=\r\n", "").replace("=\n", "").replace("=3D", "=")
}

/// The first link in `message` that starts with `prefix`.
pub fn link(message: &str, prefix: &str) -> String {
    let start = message.find(prefix).unwrap_or_else(|| panic!("no link {prefix} in {message}"));
    message[start..].split(|c: char| c.is_whitespace() || c == '"' || c == '<').next().unwrap().to_owned()
}

/// Where the links in test mail point.
pub const PUBLIC_URL: &str = "http://rapport.test";

/// An application whose mail goes to `sink`, with links under [`PUBLIC_URL`].
pub async fn app_with_mail(sink: &SmtpSink) -> super::TestApp {
    super::TestApp::configured(|config| {
        config.public_url = Some(PUBLIC_URL.into());
        config.mail.smtp_host = "127.0.0.1".into();
        config.mail.smtp_port = sink.port;
        config.mail.tls = rapport::config::MailTls::None;
    })
    .await
}

/// Runs the pending jobs and returns the one new message to `address` since `before` messages.
pub async fn next_message_to(app: &super::TestApp, sink: &SmtpSink, address: &str, before: usize) -> String {
    app.run_pending_jobs().await;
    let messages = sink.messages_to(address);
    assert_eq!(messages.len(), before + 1, "one new message to {address}");
    messages.last().unwrap().clone()
}

/// The path and query of a link in test mail.
pub fn path_of(link: &str) -> &str {
    link.strip_prefix(PUBLIC_URL).unwrap_or_else(|| panic!("{link} is not under {PUBLIC_URL}"))
}
