//! The command line: one binary, `rapport`, whose subcommands serve, run workers, migrate,
//! administer, back up and restore. `serve` is the default.

use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use rapport_core::{Email, JobId};
use rapport_db::Db;

use crate::config::{Config, ConfigError, LogFormat};
use crate::identity::{Password, Scope};
use crate::workspace::{self, NewWorkspace};

#[derive(Debug, Parser)]
#[command(name = "rapport", version, about = "One self-hosted system that remembers every customer and acts on it.")]
pub struct Cli {
    /// Configuration file (default: ./rapport.toml when present).
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Log format; overrides the `log.format` setting.
    #[arg(long, global = true, value_enum)]
    pub log_format: Option<LogFormat>,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the web server and API (and background jobs unless jobs.run_in_serve is false).
    Serve(ServeArgs),
    /// Apply pending database migrations and exit.
    Migrate,
    /// Run background jobs only, without the web server.
    Worker,
    /// Administrative tasks.
    #[command(subcommand)]
    Admin(AdminCommand),
    /// Print a commented configuration file with every default.
    DefaultConfig,
    /// Write an online, consistent backup of the SQLite database to FILE.
    Backup { file: PathBuf },
    /// Replace the SQLite database with the backup in FILE.
    Restore {
        file: PathBuf,
        /// Replace an existing database.
        #[arg(long)]
        force: bool,
    },
    /// Print the version.
    Version,
    /// Generate a realistic shop's customer data from a seed: CSV and Segment NDJSON files, or
    /// straight into a workspace with --workspace.
    Gen(crate::r#gen::GenArgs),
    /// Run a benchmark scenario on SQLite or PostgreSQL (`rapport bench list` names them).
    Bench(crate::bench::BenchArgs),
    /// Import a CSV, XLSX or vCard file into a workspace, with a progress bar; resumable.
    Import(crate::import::cli::ImportArgs),
    /// Find duplicate people.
    #[command(subcommand)]
    Dedup(DedupCommand),
}

#[derive(Debug, Subcommand)]
pub enum DedupCommand {
    /// Scan every person of a workspace and write the probable duplicate pairs as JSON Lines.
    Scan {
        /// The workspace id.
        #[arg(long)]
        workspace: i64,
        /// Where the pairs go, one JSON object a line.
        #[arg(long, value_name = "FILE")]
        output: PathBuf,
        /// Report pairs whose probability of being one person is at least this.
        #[arg(long, default_value_t = crate::dedup::DEFAULT_THRESHOLD)]
        threshold: f64,
    },
}

#[derive(Debug, Default, Args)]
pub struct ServeArgs {
    /// On an installation without any workspace, first create "Demo shop" with sample data and
    /// print its owner's password once.
    #[arg(long)]
    pub demo: bool,
}

#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Create a workspace and its owner; prints the new workspace id.
    CreateWorkspace(CreateWorkspaceArgs),
    /// Create an API token with full access for a member of a workspace; prints the token once.
    CreateToken(CreateTokenArgs),
    /// Create a tracking source (a website, an app, a server); prints its write key once.
    CreateSource(CreateSourceArgs),
    /// Inspect and retry background jobs.
    #[command(subcommand)]
    Jobs(JobsCommand),
    /// Verify or prune the audit trail and security log.
    #[command(subcommand)]
    Audit(AuditCommand),
}

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Walk the hash chains; exit status 1 naming the first changed, inserted or deleted row.
    Verify {
        /// Only this workspace's chains.
        #[arg(long)]
        workspace: Option<i64>,
    },
    /// Delete rows older than `audit.retention_days` now, keeping the chains verifiable.
    Prune,
}

#[derive(Debug, Args)]
pub struct CreateTokenArgs {
    /// The workspace id.
    #[arg(long)]
    pub workspace: i64,
    /// The member the token acts for.
    #[arg(long)]
    pub email: String,
    /// A name to recognise the token by.
    #[arg(long)]
    pub name: String,
    /// Limit the token: `all` (default), or MODULE:read / MODULE:write; repeatable.
    #[arg(long = "scope", value_name = "SCOPE")]
    pub scopes: Vec<String>,
}

#[derive(Debug, Args)]
pub struct CreateSourceArgs {
    /// The workspace id.
    #[arg(long)]
    pub workspace: i64,
    /// A name to recognise the source by, such as "website".
    #[arg(long)]
    pub name: String,
}

#[derive(Debug, Args)]
pub struct CreateWorkspaceArgs {
    #[arg(long)]
    pub name: String,
    #[arg(long, value_name = "EMAIL")]
    pub owner_email: String,
    /// Read the owner's password from standard input (required: passwords never go in arguments).
    #[arg(long, required = true)]
    pub password_stdin: bool,
}

#[derive(Debug, Subcommand)]
pub enum JobsCommand {
    /// List jobs in a state (default: dead letters).
    List {
        #[arg(long, value_enum, default_value = "dead")]
        status: JobStatusArg,
        #[arg(long, default_value_t = 50)]
        limit: i64,
    },
    /// Put a dead job back in its queue with fresh attempts.
    Retry { id: i64 },
}

#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum JobStatusArg {
    Queued,
    Running,
    Done,
    Dead,
}

impl From<JobStatusArg> for rapport_jobs::JobStatus {
    fn from(status: JobStatusArg) -> Self {
        match status {
            JobStatusArg::Queued => Self::Queued,
            JobStatusArg::Running => Self::Running,
            JobStatusArg::Done => Self::Done,
            JobStatusArg::Dead => Self::Dead,
        }
    }
}

/// Exit status for configuration and usage errors, as clap uses for bad arguments.
const USAGE: u8 = 2;

pub fn run(cli: Cli) -> ExitCode {
    if let Some(Command::Version) = cli.command {
        println!("rapport {}", env!("CARGO_PKG_VERSION"));
        return ExitCode::SUCCESS;
    }
    if let Some(Command::DefaultConfig) = cli.command {
        print!("{}", crate::config::TEMPLATE);
        return ExitCode::SUCCESS;
    }
    let mut config = match Config::load(cli.config.as_deref()) {
        Ok(config) => config,
        Err(err) => return config_failure(&err),
    };
    if let Some(format) = cli.log_format {
        config.log.format = format;
    }
    crate::app::init_tracing(&config.log);
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("error: cannot start the async runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(dispatch(cli.command.unwrap_or(Command::Serve(ServeArgs::default())), config))
}

fn config_failure(err: &ConfigError) -> ExitCode {
    eprintln!("error: {err}");
    ExitCode::from(USAGE)
}

async fn dispatch(command: Command, config: Config) -> ExitCode {
    let outcome = match command {
        Command::Serve(args) => crate::app::serve(config, args.demo).await,
        Command::Worker => crate::app::work(config).await,
        Command::Migrate => migrate(&config).await,
        Command::Admin(admin) => run_admin(admin, &config).await,
        Command::Backup { file } => return crate::app::backup(&config, &file).await,
        Command::Restore { file, force } => return crate::app::restore(&config, &file, force).await,
        Command::Gen(args) if args.workspace.is_some() => gen_into(&args, &config).await,
        Command::Gen(args) => tokio::task::spawn_blocking(move || crate::r#gen::run(&args))
            .await
            .unwrap_or_else(|err| Err(anyhow::anyhow!("the generator panicked: {err}"))),
        Command::Bench(args) => crate::bench::run(args).await,
        Command::Import(args) => crate::import::cli::run(args, &config).await,
        Command::Dedup(command) => dedup(command, &config).await,
        Command::Version | Command::DefaultConfig => Ok(()),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

async fn gen_into(args: &crate::r#gen::GenArgs, config: &Config) -> anyhow::Result<()> {
    let _lock = crate::app::DataLock::shared(config)?;
    let db = Db::connect(&config.db_options()).await?;
    let workspace = rapport_core::WorkspaceId::new(args.workspace.unwrap_or_default());
    let result = crate::r#gen::run_into(args, &db, workspace).await;
    db.close().await;
    result
}

async fn dedup(command: DedupCommand, config: &Config) -> anyhow::Result<()> {
    let DedupCommand::Scan { workspace, output, threshold } = command;
    let _lock = crate::app::DataLock::shared(config)?;
    let db = Db::connect(&config.db_options()).await?;
    let workspace = rapport_core::WorkspaceId::new(workspace);
    crate::workspace::settings(&db, workspace).await.map_err(|e| anyhow::anyhow!("workspace {workspace}: {e}"))?;
    let scan = crate::dedup::scan(&db, workspace, threshold).await;
    db.close().await;
    let scan = scan?;
    let mut out = std::io::BufWriter::new(
        std::fs::File::create(&output).map_err(|e| anyhow::anyhow!("{}: {e}", output.display()))?,
    );
    crate::dedup::write_jsonl(&scan.pairs, &mut out)?;
    std::io::Write::flush(&mut out)?;
    eprintln!(
        "{} people, {} pairs compared, {} probable duplicates written to {}",
        scan.people,
        scan.candidates,
        scan.pairs.len(),
        output.display()
    );
    Ok(())
}

async fn migrate(config: &Config) -> anyhow::Result<()> {
    let _lock = crate::app::DataLock::shared(config)?;
    let db = Db::connect(&config.db_options()).await?;
    let status = db.migration_status().await?;
    println!("migrations applied: {} of {}", status.applied, status.embedded);
    db.close().await;
    Ok(())
}

async fn run_admin(command: AdminCommand, config: &Config) -> anyhow::Result<()> {
    let _lock = crate::app::DataLock::shared(config)?;
    let db = Db::connect(&config.db_options()).await?;
    let result = match command {
        AdminCommand::CreateWorkspace(args) => create_workspace(&db, args).await,
        AdminCommand::CreateToken(args) => create_token(&db, args).await,
        AdminCommand::CreateSource(args) => {
            let workspace = rapport_core::WorkspaceId::new(args.workspace);
            let created = crate::tracking::create_source(
                &db,
                (workspace, &rapport_core::Actor::System("cli".into())),
                &args.name,
            )
            .await?;
            println!("{}", created.write_key.expose());
            Ok(())
        }
        AdminCommand::Audit(AuditCommand::Verify { workspace }) => verify_audit(&db, workspace).await,
        AdminCommand::Audit(AuditCommand::Prune) => prune_audit(&db, config).await,
        AdminCommand::Jobs(JobsCommand::List { status, limit }) => list_jobs(&db, status, limit).await,
        AdminCommand::Jobs(JobsCommand::Retry { id }) => {
            if rapport_jobs::retry_dead_job(&db, JobId::new(id)).await? {
                println!("job {id} re-queued");
                Ok(())
            } else {
                Err(anyhow::anyhow!("job {id} is not a dead job"))
            }
        }
    };
    db.close().await;
    result
}

async fn create_workspace(db: &Db, args: CreateWorkspaceArgs) -> anyhow::Result<()> {
    let mut password = String::new();
    std::io::stdin().read_to_string(&mut password)?;
    let password = password.strip_suffix('\n').unwrap_or(&password);
    let password = password.strip_suffix('\r').unwrap_or(password);
    let new = NewWorkspace {
        name: workspace::WorkspaceName::parse(&args.name)?,
        owner_email: Email::parse(&args.owner_email).map_err(|e| anyhow::anyhow!("--owner-email {e}"))?,
        owner_password: Password::parse(password)?,
    };
    let created = workspace::create_with_verified_owner(db, new, "system:cli").await?;
    println!("{}", created.workspace_id);
    Ok(())
}

async fn create_token(db: &Db, args: CreateTokenArgs) -> anyhow::Result<()> {
    let workspace = rapport_core::WorkspaceId::new(args.workspace);
    let email = Email::parse(&args.email).map_err(|e| anyhow::anyhow!("--email {e}"))?;
    let scopes = if args.scopes.is_empty() {
        vec![Scope::All]
    } else {
        args.scopes
            .iter()
            .map(|s| Scope::parse(s).map_err(|e| anyhow::anyhow!("--scope {e}")))
            .collect::<Result<_, _>>()?
    };
    let user = crate::identity::member_by_email(db, workspace, &email)
        .await?
        .ok_or_else(|| anyhow::anyhow!("{email} is not a member of workspace {workspace}"))?;
    let created = crate::identity::create_token(db, workspace, user, &args.name, scopes, None).await?;
    println!("{}", created.secret.expose());
    Ok(())
}

async fn verify_audit(db: &Db, workspace: Option<i64>) -> anyhow::Result<()> {
    let report = crate::audit::verify(db, workspace.map(rapport_core::WorkspaceId::new)).await?;
    for problem in &report.problems {
        eprintln!("{problem}");
    }
    if let Some(first) = report.problems.first() {
        return Err(anyhow::anyhow!("the audit chain is broken: {first}"));
    }
    println!("ok: {} chains, {} rows verified", report.chains, report.rows);
    Ok(())
}

async fn prune_audit(db: &Db, config: &Config) -> anyhow::Result<()> {
    let Some(cutoff) = crate::audit::retention_cutoff(&config.audit, chrono::Utc::now()) else {
        println!("audit.retention_days is not set: rows are kept forever");
        return Ok(());
    };
    let pruned = crate::audit::prune(db, cutoff).await?;
    println!("pruned {pruned} rows recorded before {}", cutoff.to_rfc3339());
    Ok(())
}

async fn list_jobs(db: &Db, status: JobStatusArg, limit: i64) -> anyhow::Result<()> {
    let jobs = rapport_jobs::list_jobs(db, status.into(), limit).await?;
    if jobs.is_empty() {
        println!("no jobs");
    }
    for job in jobs {
        println!(
            "{}\t{}\t{}\t{}\tattempts {}/{}\t{}\t{}",
            job.id,
            job.queue,
            job.kind,
            job.status,
            job.attempts,
            job.max_attempts,
            job.updated_at.to_rfc3339(),
            job.last_error.unwrap_or_default()
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::Cli;

    #[test]
    fn verify_cli() {
        Cli::command().debug_assert();
    }
}
