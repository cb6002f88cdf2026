//! Configuration, layered: built-in defaults, then `rapport.toml` (or the file named by
//! `--config`), then `RAPPORT_…` environment variables (`RAPPORT_LISTEN`, `RAPPORT_DATABASE_URL`,
//! and `RAPPORT_SECTION__KEY` for nested keys such as `RAPPORT_JOBS__CONCURRENCY`).
//!
//! A bad value stops start-up with a message naming the key (exit status 2); nothing falls back
//! silently. Secrets are wrapped in [`Secret`] so that `Debug` output and logs never show them.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use rapport_core::Secret;
use rapport_db::DbOptions;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Address the HTTP server binds.
    pub listen: SocketAddr,
    /// Where the SQLite database, backups and uploaded files live.
    pub data_dir: PathBuf,
    /// `sqlite://PATH` or `postgres://…`; empty means SQLite in `data_dir`.
    pub database_url: Secret<String>,
    /// The address users reach Rapport at, for links in emails; defaults to `http://LISTEN`.
    pub public_url: Option<String>,
    pub log: LogConfig,
    pub database: DatabaseConfig,
    pub http: HttpConfig,
    pub jobs: JobsConfig,
    pub tracking: TrackingConfig,
    pub audit: AuditConfig,
    pub mail: MailConfig,
    pub attachments: AttachmentsConfig,
    pub imports: ImportsConfig,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct ImportsConfig {
    /// Largest file that may be uploaded for import; larger uploads are answered with 413.
    pub max_bytes: u64,
    /// Rows committed per transaction: a crash loses at most this many rows' work, which the
    /// resumed run does again.
    pub batch_rows: usize,
}

impl Default for ImportsConfig {
    fn default() -> Self {
        Self { max_bytes: 2 << 30, batch_rows: 5000 }
    }
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct AttachmentsConfig {
    /// Largest file that may be attached; larger uploads are answered with 413.
    pub max_bytes: u64,
}

impl Default for AttachmentsConfig {
    fn default() -> Self {
        Self { max_bytes: 25 * 1024 * 1024 }
    }
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogConfig {
    pub format: LogFormat,
    /// A tracing filter, e.g. `info` or `rapport=debug,sqlx=warn`.
    pub filter: String,
}

#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct DatabaseConfig {
    pub max_connections: u32,
    pub busy_timeout_ms: u64,
    pub acquire_timeout_ms: u64,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct HttpConfig {
    /// Largest request body accepted; larger bodies are answered with 413.
    pub body_limit_bytes: usize,
    /// Requests running longer are answered with 408.
    pub request_timeout_secs: u64,
    /// On shutdown, how long in-flight requests and jobs get to finish.
    pub shutdown_grace_secs: u64,
    /// Reverse proxies whose `X-Forwarded-For` is believed; from anyone else it is ignored.
    pub trusted_proxies: Vec<std::net::IpAddr>,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct JobsConfig {
    /// Run background jobs inside `serve` as well as under `rapport worker`.
    pub run_in_serve: bool,
    pub concurrency: usize,
    pub lease_secs: u64,
    /// Records a bulk action changes between two saves of its progress (1 to 200): a restarted
    /// job resumes after the last saved batch.
    pub bulk_batch_size: i64,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct TrackingConfig {
    /// Sustained events per second one source may send; beyond, 429 with `Retry-After`.
    pub events_per_second_per_source: u32,
    /// Events a source may send at once above its sustained rate.
    pub event_burst_per_source: u32,
    /// Writes waiting for the database beyond which collection sheds load with 503.
    pub max_pending_writes: usize,
}

impl Default for TrackingConfig {
    fn default() -> Self {
        Self { events_per_second_per_source: 50_000, event_burst_per_source: 100_000, max_pending_writes: 2_000 }
    }
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct MailConfig {
    /// The SMTP server; empty means mail is not configured and messages are written to the log.
    pub smtp_host: String,
    pub smtp_port: u16,
    pub tls: MailTls,
    /// Empty means the server takes mail without signing in.
    pub username: String,
    pub password: Secret<String>,
    /// The sender, e.g. `Rapport <rapport@example.com>`.
    pub from: String,
}

/// How the SMTP connection is protected.
#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum MailTls {
    /// Plain text, for a relay on the same machine or a test server.
    None,
    /// Upgrade a plain connection (usually port 587); refuses servers that cannot.
    Starttls,
    /// TLS from the first byte (usually port 465).
    Tls,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            data_dir: PathBuf::from("rapport-data"),
            database_url: Secret::new(String::new()),
            public_url: None,
            log: LogConfig::default(),
            database: DatabaseConfig::default(),
            http: HttpConfig::default(),
            jobs: JobsConfig::default(),
            tracking: TrackingConfig::default(),
            audit: AuditConfig::default(),
            mail: MailConfig::default(),
            attachments: AttachmentsConfig::default(),
            imports: ImportsConfig::default(),
        }
    }
}

impl Default for LogConfig {
    fn default() -> Self {
        Self { format: LogFormat::Text, filter: "info".into() }
    }
}

impl Default for DatabaseConfig {
    fn default() -> Self {
        Self { max_connections: 16, busy_timeout_ms: 10_000, acquire_timeout_ms: 10_000 }
    }
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            body_limit_bytes: 2 * 1024 * 1024,
            request_timeout_secs: 30,
            shutdown_grace_secs: 30,
            trusted_proxies: Vec::new(),
        }
    }
}

#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuditConfig {
    /// Delete audit and security log rows older than this many days; unset keeps them forever.
    pub retention_days: Option<u32>,
}

impl Default for JobsConfig {
    fn default() -> Self {
        Self { run_in_serve: true, concurrency: 4, lease_secs: 60, bulk_batch_size: 100 }
    }
}

impl Default for MailConfig {
    fn default() -> Self {
        Self {
            smtp_host: String::new(),
            smtp_port: 587,
            tls: MailTls::Starttls,
            username: String::new(),
            password: Secret::new(String::new()),
            from: "Rapport <rapport@localhost>".into(),
        }
    }
}

/// A configuration problem, reported as `key: reason` and exit status 2.
#[derive(Debug, thiserror::Error)]
#[error("configuration error: {key}: {reason}")]
pub struct ConfigError {
    pub key: String,
    pub reason: String,
}

/// Top-level keys; environment variables outside them (e.g. test settings) are not config.
const KEYS: [&str; 14] = [
    "listen",
    "data_dir",
    "database_url",
    "public_url",
    "log",
    "database",
    "http",
    "jobs",
    "tracking",
    "audit",
    "mail",
    "attachments",
    "imports",
    "config",
];

impl Config {
    /// Loads defaults, then `file` (when given it must exist; otherwise `rapport.toml` is read
    /// if present), then the environment.
    pub fn load(file: Option<&Path>) -> Result<Self, ConfigError> {
        let mut figment = Figment::from(Serialized::defaults(Config::default()));
        match file {
            Some(path) if !path.exists() => {
                return Err(ConfigError {
                    key: "--config".into(),
                    reason: format!("{} does not exist", path.display()),
                });
            }
            Some(path) => figment = figment.merge(Toml::file_exact(path)),
            None if Path::new("rapport.toml").exists() => figment = figment.merge(Toml::file_exact("rapport.toml")),
            None => {}
        }
        let env = Env::prefixed("RAPPORT_").split("__").filter(|key| {
            let top = key.as_str().split('.').next().unwrap_or_default().to_ascii_lowercase();
            KEYS.contains(&top.as_str()) && top != "config"
        });
        let config: Config = figment.merge(env).extract().map_err(from_figment)?;
        config.validate()?;
        Ok(config)
    }

    fn validate(&self) -> Result<(), ConfigError> {
        let url = self.database_url.expose();
        let known = url.starts_with("sqlite://") || url.starts_with("postgres://") || url.starts_with("postgresql://");
        if !(url.is_empty() || known) {
            return Err(ConfigError {
                key: "database_url".into(),
                reason:
                    "must start with sqlite:// or postgres:// (refusing to guess, which could create an empty database)"
                        .into(),
            });
        }
        if self.database.max_connections == 0 {
            return Err(ConfigError { key: "database.max_connections".into(), reason: "must be at least 1".into() });
        }
        if self.tracking.events_per_second_per_source == 0 {
            return Err(ConfigError {
                key: "tracking.events_per_second_per_source".into(),
                reason: "must be at least 1".into(),
            });
        }
        if self.attachments.max_bytes == 0 {
            return Err(ConfigError { key: "attachments.max_bytes".into(), reason: "must be at least 1".into() });
        }
        if self.imports.max_bytes == 0 {
            return Err(ConfigError { key: "imports.max_bytes".into(), reason: "must be at least 1".into() });
        }
        if !(1..=50_000).contains(&self.imports.batch_rows) {
            return Err(ConfigError { key: "imports.batch_rows".into(), reason: "must be 1 to 50000".into() });
        }
        if self.jobs.concurrency == 0 {
            return Err(ConfigError { key: "jobs.concurrency".into(), reason: "must be at least 1".into() });
        }
        if !(1..=200).contains(&self.jobs.bulk_batch_size) {
            return Err(ConfigError { key: "jobs.bulk_batch_size".into(), reason: "must be 1 to 200".into() });
        }
        if self.mail.from.parse::<lettre::message::Mailbox>().is_err() {
            return Err(ConfigError {
                key: "mail.from".into(),
                reason: "must be an address such as `Rapport <rapport@example.com>`".into(),
            });
        }
        if let Some(public) = &self.public_url {
            url::Url::parse(public).map_err(|e| ConfigError { key: "public_url".into(), reason: e.to_string() })?;
        }
        Ok(())
    }

    /// The database URL in force: the configured one, or SQLite inside the data directory.
    pub fn database_url(&self) -> String {
        let url = self.database_url.expose();
        if url.is_empty() { format!("sqlite://{}", self.data_dir.join("rapport.db").display()) } else { url.clone() }
    }

    pub fn db_options(&self) -> DbOptions {
        let mut options = DbOptions::new(self.database_url());
        options.max_connections = self.database.max_connections;
        options.busy_timeout = Duration::from_millis(self.database.busy_timeout_ms);
        options.acquire_timeout = Duration::from_millis(self.database.acquire_timeout_ms);
        options
    }

    pub fn public_url(&self) -> String {
        self.public_url.clone().unwrap_or_else(|| format!("http://{}", self.listen))
    }

    /// The SQLite database file, when the database is SQLite.
    pub fn sqlite_path(&self) -> Option<PathBuf> {
        let url = self.database_url();
        let rest = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:"))?;
        let path = rest.split('?').next().unwrap_or(rest);
        Some(PathBuf::from(path))
    }
}

fn from_figment(error: figment::Error) -> ConfigError {
    let key = error.path.join(".");
    let source = error.metadata.as_ref().map(|m| m.name.to_string());
    let mut reason = error.kind.to_string();
    if let Some(source) = source {
        reason = format!("{reason} (from {source})");
    }
    ConfigError { key: if key.is_empty() { "(file)".into() } else { key }, reason }
}

/// The commented template `rapport default-config` prints. A test parses it back and checks
/// that it states exactly the defaults, so it cannot drift from the code.
pub const TEMPLATE: &str = include_str!("config/rapport.example.toml");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_printed_template_states_the_defaults() {
        let parsed: Config = Figment::from(Toml::string(TEMPLATE)).extract().expect("the template parses");
        let defaults = Config::default();
        assert_eq!(
            serde_json::to_value(&parsed).expect("serialises"),
            serde_json::to_value(&defaults).expect("serialises")
        );
    }

    #[test]
    fn debug_output_hides_the_database_url() {
        let config = Config { database_url: Secret::new("postgres://u:hunter2@db/x".into()), ..Config::default() };
        assert!(!format!("{config:?}").contains("hunter2"));
    }

    #[test]
    fn debug_output_hides_the_smtp_password() {
        let mail = MailConfig { password: Secret::new("hunter2".into()), ..MailConfig::default() };
        let config = Config { mail, ..Config::default() };
        assert!(!format!("{config:?}").contains("hunter2"));
    }

    #[test]
    fn the_default_database_is_sqlite_in_the_data_directory() {
        let config = Config::default();
        assert_eq!(config.database_url(), "sqlite://rapport-data/rapport.db");
        assert_eq!(config.sqlite_path(), Some(PathBuf::from("rapport-data/rapport.db")));
    }
}
