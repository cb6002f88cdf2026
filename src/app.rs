//! Assembling and running the application: shared state, logging, the `serve` and `worker`
//! processes with graceful shutdown, and the backup and restore commands.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use rapport_db::{BackupError, Db};
use rapport_jobs::Waker;
use tokio_util::sync::CancellationToken;
use tracing_subscriber::EnvFilter;

use crate::config::{Config, LogConfig, LogFormat};

/// What every handler can reach. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub db: Db,
    pub config: Arc<Config>,
    /// Wakes this process's workers after a request enqueued a job.
    pub waker: Waker,
    /// Each tracking source's remaining event rate.
    pub event_budget: Arc<crate::tracking::EventBudget>,
}

impl AppState {
    pub fn new(db: Db, config: Arc<Config>, waker: Waker) -> Self {
        let tracking = &config.tracking;
        let event_budget = Arc::new(crate::tracking::EventBudget::new(
            tracking.events_per_second_per_source,
            tracking.event_burst_per_source,
        ));
        Self { db, config, waker, event_budget }
    }
}

/// The installation's secret key lives here, inside the data directory, readable by its owner
/// only; every process of one installation must see the same file.
const KEY_FILE: &str = "secret.key";

/// A 256-bit key for one `purpose` (`export-link`, `totp`), derived with HMAC-SHA256 from the
/// installation's secret key, which is 32 random bytes created on first use. Deriving keeps
/// one purpose's key from ever serving another.
pub fn installation_key(data_dir: &Path, purpose: &str) -> std::io::Result<[u8; 32]> {
    use hmac::{KeyInit, Mac};
    let master = read_or_create_key(&data_dir.join(KEY_FILE))?;
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(&master).map_err(std::io::Error::other)?;
    mac.update(purpose.as_bytes());
    Ok(mac.finalize().into_bytes().into())
}

fn read_or_create_key(path: &Path) -> std::io::Result<Vec<u8>> {
    match std::fs::read(path) {
        Ok(key) if key.len() == 32 => return Ok(key),
        Ok(_) => return Err(std::io::Error::other(format!("{} must hold exactly 32 bytes", path.display()))),
        Err(err) if err.kind() != std::io::ErrorKind::NotFound => return Err(err),
        Err(_) => {}
    }
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    let mut key = [0u8; 32];
    getrandom::fill(&mut key).map_err(std::io::Error::other)?;
    // Written beside the target and linked into place: linking fails if another process won
    // the race, and then its key is the one everybody reads.
    let staging = path.with_extension(format!("new-{}", std::process::id()));
    {
        use std::io::Write;
        let mut options = File::options();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options.open(&staging)?;
        file.write_all(&key)?;
        file.sync_all()?;
    }
    let linked = std::fs::hard_link(&staging, path);
    std::fs::remove_file(&staging)?;
    match linked {
        Ok(()) => Ok(key.to_vec()),
        Err(err) if err.kind() == std::io::ErrorKind::AlreadyExists => std::fs::read(path),
        Err(err) => Err(err),
    }
}

pub fn init_tracing(log: &LogConfig) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(&log.filter));
    let colour = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).with_ansi(colour);
    let installed = match log.format {
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
        LogFormat::Text => builder.try_init(),
    };
    if installed.is_err() {
        eprintln!("warning: a logger was already installed");
    }
}

/// Runs the web server (and, unless disabled, the background worker) until SIGINT or SIGTERM,
/// then stops accepting connections, lets in-flight requests and jobs finish, and closes the
/// database. With `demo`, an installation without a workspace first gets the demo workspace.
pub async fn serve(config: Config, demo: bool) -> anyhow::Result<()> {
    let _lock = DataLock::shared(&config)?;
    let db = Db::connect(&config.db_options()).await.context("opening the database")?;
    tokio::task::spawn_blocking(rapport_core::Phone::warm).await?;
    if demo {
        crate::demo::prepare(&db).await.context("preparing the demo workspace")?;
    }
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("cannot listen on {} (set `listen` or RAPPORT_LISTEN)", config.listen))?;
    let address = listener.local_addr()?;
    let config = reachable_at(config, address);
    let waker = Waker::new();
    let state = AppState::new(db.clone(), Arc::new(config.clone()), waker.clone());
    let signal = shutdown_signal();
    announce(&db, &config).await?;
    crate::jobs::prepare(&db).await.context("queueing the search backfill")?;

    let shutdown = CancellationToken::new();
    let worker = config.jobs.run_in_serve.then(|| {
        let worker = crate::jobs::worker(db.clone(), &config, waker);
        tokio::spawn(worker.run(shutdown.clone()))
    });
    let router = crate::http::router(state);
    let stop_http = CancellationToken::new();
    tokio::spawn({
        let stop_http = stop_http.clone();
        async move {
            signal.await;
            stop_http.cancel();
        }
    });
    let server = axum::serve(listener, router.into_make_service_with_connect_info::<std::net::SocketAddr>())
        .with_graceful_shutdown(stop_http.clone().cancelled_owned());
    let grace = Duration::from_secs(config.http.shutdown_grace_secs);
    tokio::select! {
        served = server => served.context("the HTTP server failed")?,
        () = async { stop_http.cancelled().await; tokio::time::sleep(grace).await } => {
            tracing::warn!(grace_secs = grace.as_secs(), "requests still running after the grace period were dropped");
        }
    }
    tracing::info!("stopped accepting requests; finishing background jobs");
    shutdown.cancel();
    if let Some(worker) = worker {
        worker.await.context("the worker ended abnormally")?;
    }
    db.close().await;
    tracing::info!("shut down cleanly");
    Ok(())
}

/// Runs only the background worker, for deployments that separate it from the web server.
pub async fn work(config: Config) -> anyhow::Result<()> {
    let _lock = DataLock::shared(&config)?;
    let db = Db::connect(&config.db_options()).await.context("opening the database")?;
    let shutdown = CancellationToken::new();
    let signal = shutdown_signal();
    crate::jobs::prepare(&db).await.context("queueing the search backfill")?;
    let worker = crate::jobs::worker(db.clone(), &config, Waker::new());
    tracing::info!(worker = worker.id(), "worker started");
    let running = tokio::spawn(worker.run(shutdown.clone()));
    signal.await;
    shutdown.cancel();
    running.await.context("the worker ended abnormally")?;
    db.close().await;
    Ok(())
}

/// The configuration with `public_url` set to the address actually bound when none is
/// configured: with `listen` on port 0 (or on every interface) the configured address is not
/// one a link in an email could reach.
fn reachable_at(mut config: Config, address: std::net::SocketAddr) -> Config {
    if config.public_url.is_none() {
        let host = match address.ip() {
            ip if ip.is_unspecified() => "localhost".to_owned(),
            std::net::IpAddr::V4(ip) => ip.to_string(),
            std::net::IpAddr::V6(ip) => format!("[{ip}]"),
        };
        config.public_url = Some(format!("http://{host}:{}", address.port()));
    }
    config
}

async fn announce(db: &Db, config: &Config) -> anyhow::Result<()> {
    let url = config.public_url();
    match config.sqlite_path() {
        Some(path) => println!("Database: SQLite at {}", path.display()),
        None => println!("Database: PostgreSQL"),
    }
    if let Some(token) = crate::workspace::start_setup(db).await? {
        println!();
        println!("No workspace exists yet. Create the first one and its owner:");
        println!("  in a browser:  {url}/setup?token={}", token.0.expose());
        println!(
            "  in a terminal: rapport admin create-workspace --name \"Acme\" --owner-email you@example.com --password-stdin"
        );
        println!();
    }
    // Printed last: scripts and tests read up to this line.
    println!("Rapport {} is running at {url}", env!("CARGO_PKG_VERSION"));
    Ok(())
}

/// Resolves on SIGINT or SIGTERM. The handlers are registered when this is called, not when it
/// is first polled, so a signal that arrives right after start-up is not lost.
fn shutdown_signal() -> impl Future<Output = ()> {
    #[cfg(unix)]
    let listeners = {
        use tokio::signal::unix::{SignalKind, signal};
        (signal(SignalKind::interrupt()), signal(SignalKind::terminate()))
    };
    async move {
        #[cfg(unix)]
        match listeners {
            (Ok(mut interrupt), Ok(mut terminate)) => {
                tokio::select! {
                    _ = interrupt.recv() => {}
                    _ = terminate.recv() => {}
                }
            }
            (Err(err), _) | (_, Err(err)) => {
                tracing::error!(error = %err, "cannot listen for shutdown signals; stop with SIGKILL");
                std::future::pending::<()>().await;
            }
        }
        #[cfg(not(unix))]
        if let Err(err) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %err, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
        tracing::info!("shutdown requested");
    }
}

/// A lock beside the SQLite database: every process using it holds a shared lock, and restore
/// needs the exclusive one, so a database in use is never replaced under a running server.
/// PostgreSQL needs none.
pub struct DataLock {
    _held: Option<File>,
}

impl DataLock {
    fn path(config: &Config) -> Option<PathBuf> {
        config.sqlite_path().map(|db| {
            let mut name = db.into_os_string();
            name.push(".lock");
            PathBuf::from(name)
        })
    }

    fn open(config: &Config) -> anyhow::Result<Option<File>> {
        let Some(path) = Self::path(config) else { return Ok(None) };
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).with_context(|| format!("cannot create {}", parent.display()))?;
        }
        let file = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .with_context(|| format!("cannot open {}", path.display()))?;
        Ok(Some(file))
    }

    pub fn shared(config: &Config) -> anyhow::Result<Self> {
        let file = Self::open(config)?;
        if let Some(file) = &file {
            file.try_lock_shared().map_err(|_| {
                anyhow::anyhow!("the database is being restored; try again when the restore has finished")
            })?;
        }
        Ok(Self { _held: file })
    }

    fn exclusive(config: &Config) -> anyhow::Result<Self> {
        let file = Self::open(config)?;
        if let Some(file) = &file {
            file.try_lock().map_err(|_| {
                anyhow::anyhow!("the database is in use by a running rapport process; stop it before restoring")
            })?;
        }
        Ok(Self { _held: file })
    }
}

const USAGE: u8 = 2;

fn postgres_tools() -> ExitCode {
    eprintln!(
        "error: Rapport is configured for PostgreSQL. Back it up with pg_dump (for example `pg_dump -Fc -f rapport.dump DATABASE_URL`) and restore it with pg_restore."
    );
    ExitCode::from(USAGE)
}

pub async fn backup(config: &Config, target: &Path) -> ExitCode {
    let Some(_) = config.sqlite_path() else { return postgres_tools() };
    let started = std::time::Instant::now();
    match rapport_db::backup_sqlite(&config.db_options(), target).await {
        Ok(()) => {
            println!("backup written to {} in {:.1} s", target.display(), started.elapsed().as_secs_f64());
            ExitCode::SUCCESS
        }
        Err(BackupError::Postgres) => postgres_tools(),
        Err(err @ BackupError::TargetExists(_)) => {
            eprintln!("error: {err}");
            ExitCode::from(USAGE)
        }
        Err(err) => {
            eprintln!("error: backup failed: {err}");
            ExitCode::FAILURE
        }
    }
}

pub async fn restore(config: &Config, source: &Path, force: bool) -> ExitCode {
    let Some(database) = config.sqlite_path() else { return postgres_tools() };
    match restore_sqlite(config, source, &database, force).await {
        Ok(()) => {
            println!("restored {} from {}", database.display(), source.display());
            ExitCode::SUCCESS
        }
        Err(RestoreError::Usage(message)) => {
            eprintln!("error: {message}");
            ExitCode::from(USAGE)
        }
        Err(RestoreError::Failed(err)) => {
            eprintln!("error: restore failed: {err:#}");
            ExitCode::FAILURE
        }
    }
}

enum RestoreError {
    Usage(String),
    Failed(anyhow::Error),
}

impl From<anyhow::Error> for RestoreError {
    fn from(err: anyhow::Error) -> Self {
        Self::Failed(err)
    }
}

/// Checks the backup, takes the exclusive lock, and swaps the files: the backup is copied next
/// to the database and renamed over it (atomic on one file system); the old WAL and shared
/// memory files are removed first because a stale WAL would be replayed onto the restored copy.
async fn restore_sqlite(config: &Config, source: &Path, database: &Path, force: bool) -> Result<(), RestoreError> {
    if !source.is_file() {
        return Err(RestoreError::Usage(format!("{} does not exist", source.display())));
    }
    check_integrity(source).await?;
    let _lock = DataLock::exclusive(config).map_err(|e| RestoreError::Usage(e.to_string()))?;
    if database.exists() && !force {
        return Err(RestoreError::Usage(format!(
            "{} exists; pass --force to replace it with the backup",
            database.display()
        )));
    }
    let staging = database.with_extension("restoring");
    std::fs::copy(source, &staging)
        .with_context(|| format!("copying {} to {}", source.display(), staging.display()))?;
    File::open(&staging).and_then(|f| f.sync_all()).context("syncing the restored copy")?;
    for suffix in ["-wal", "-shm"] {
        let mut side = database.as_os_str().to_owned();
        side.push(suffix);
        match std::fs::remove_file(&side) {
            Ok(()) => {}
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {}
            Err(err) => {
                return Err(anyhow::Error::from(err)
                    .context(format!("removing {}", PathBuf::from(side).display()))
                    .into());
            }
        }
    }
    std::fs::rename(&staging, database).context("moving the restored copy into place")?;
    Ok(())
}

async fn check_integrity(path: &Path) -> Result<(), RestoreError> {
    use sqlx::{ConnectOptions, Connection};
    let options = sqlx::sqlite::SqliteConnectOptions::new().filename(path).read_only(true);
    let mut conn = options
        .connect()
        .await
        .map_err(|e| RestoreError::Usage(format!("{} is not a SQLite database: {e}", path.display())))?;
    let verdict: String = sqlx::query_scalar("PRAGMA integrity_check")
        .fetch_one(&mut conn)
        .await
        .map_err(|e| RestoreError::Usage(format!("{} is not a usable SQLite database: {e}", path.display())))?;
    conn.close().await.ok();
    if verdict != "ok" {
        return Err(RestoreError::Usage(format!("{} fails its integrity check: {verdict}", path.display())));
    }
    Ok(())
}
