//! What the people API scenarios (`api-get`, `api-list`, `api-create`) share: a workspace
//! filled with generated people by the bulk loader before the server starts, a full-access API
//! token, authenticated requests over kept-alive loopback connections, and the raw database
//! opened the same way a program without Rapport would, for the baseline of each operation.
//!
//! Rapport is measured first and the baseline after the server stopped, on the same database
//! file or server, so the two never compete for the two cores of a small machine.

use std::str::FromStr;

use anyhow::Context as _;
use http_body_util::Full;
use hyper::body::Bytes;
use hyper::header::{self, HeaderValue};
use hyper::{Method, Request, Uri};
use rapport_core::WorkspaceId;
use rapport_db::{Backend, Db, DbOptions, sql};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{ConnectOptions, PgPool, SqlitePool};

use super::load::{HttpRequests, Operation, Sample, drive};
use super::report::{Measurement, Report, Run};
use super::server::Server;
use super::{Context, Scale};

/// Kept-alive connections, as the goals of issue #5 are stated.
pub const CONNECTIONS: usize = 32;

/// The columns a person is read with, as the people store reads them.
pub const COLUMNS: &str = "id, first_name, last_name, emails, phones, birthday, street, street2, city, region, \
     postal_code, country, language, time_zone, currency, lifecycle_stage, owner_id, source, tags, social, \
     external_id, version, created_at, updated_at, deleted_at";

/// People in the workspace: about a thousand at `tiny`, a hundred thousand at `default`.
pub fn people(scale: Scale) -> u64 {
    match scale {
        Scale::Tiny => 1_000,
        Scale::Small => 10_000,
        Scale::Default => 100_000,
        Scale::Rows(rows) => rows,
    }
}

/// A workspace ready for load: its people's ids run from `first_id` to `last_id`.
pub struct Prepared {
    pub workspace: WorkspaceId,
    pub token: String,
    pub people: u64,
    pub first_id: i64,
    pub last_id: i64,
}

impl Prepared {
    /// The `n`th pseudo-random person id of a connection: spread over the whole table, so that
    /// the cache holds no more than it would in real use.
    pub fn id(&self, connection: usize, n: u64) -> i64 {
        let span = u64::try_from(self.last_id - self.first_id + 1).unwrap_or(1).max(1);
        let mixed = (n.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ (connection as u64).wrapping_mul(0xBF58_476D_1CE4_E5B9))
            .rotate_left(31);
        self.first_id + i64::try_from(mixed % span).unwrap_or(0)
    }
}

/// The custom fields every benchmark person has, as a business would add them: a plan, a
/// score and a renewal date, filled by the generator.
const CUSTOM_FIELDS: [(&str, &str, &[&str]); 3] =
    [("plan", "select", &["free", "starter", "pro", "enterprise"]), ("score", "number", &[]), ("renewal", "date", &[])];

/// Creates the workspace, its owner and a full-access token, three custom fields, and loads
/// the scale's people.
pub async fn prepare(cx: &Context) -> anyhow::Result<Prepared> {
    let db = Db::connect(&DbOptions::new(cx.target.database_url())).await?;
    let new = crate::workspace::NewWorkspace {
        name: crate::workspace::WorkspaceName::parse("Benchmark").map_err(|e| anyhow::anyhow!("{e}"))?,
        owner_email: rapport_core::Email::parse("bench@example.com").map_err(|e| anyhow::anyhow!("{e}"))?,
        owner_password: crate::identity::Password::parse("a benchmark passphrase")?,
    };
    let created = crate::workspace::create_with_owner(&db, new, "system:bench").await?;
    let workspace = created.workspace_id;
    let token = crate::identity::create_token(
        &db,
        workspace,
        created.owner_id,
        "bench",
        vec![crate::identity::Scope::All],
        None,
    )
    .await?;
    let owner = crate::identity::token_principal(&db, token.secret.expose())
        .await
        .map_err(|e| anyhow::anyhow!("the benchmark token: {e}"))?;
    for (key, kind, options) in CUSTOM_FIELDS {
        let spec = crate::field::FieldSpec {
            key: Some(key.to_owned()),
            label: Some(key.replace('_', " ")),
            kind: Some(kind.to_owned()),
            options: (!options.is_empty()).then(|| options.iter().map(|o| (*o).to_owned()).collect()),
            ..crate::field::FieldSpec::default()
        };
        crate::field::create(&db, &owner, crate::field::Object::Person, spec)
            .await
            .map_err(|e| anyhow::anyhow!("creating the custom field {key}: {e}"))?;
    }
    let people = people(cx.scale);
    eprintln!("loading {people} people with {} custom fields", CUSTOM_FIELDS.len());
    crate::r#gen::load_into(&db, workspace, people, 0).await?;
    // A loaded table is measured as a running installation would serve it, after autovacuum
    // has set its hint bits and visibility map and the planner has statistics: measured at
    // once, the first reads of every fresh row write, and the plans are guesses.
    match db.backend() {
        rapport_db::Backend::Sqlite => {
            db.write(|tx| {
                Box::pin(async move {
                    sql!(tx.exec(), c => sqlx::query("ANALYZE").execute(c).await.map(|_| ()))?;
                    Ok::<_, rapport_db::DbError>(())
                })
            })
            .await?;
        }
        // VACUUM runs outside a transaction, so on the pool.
        rapport_db::Backend::Postgres => {
            sql!(db.exec(), c => sqlx::query("VACUUM ANALYZE").execute(c).await.map(|_| ()))?;
        }
    }
    let (first_id, last_id): (i64, i64) = sql!(db.exec(), c => sqlx::query_as(
        "SELECT min(id), max(id) FROM people WHERE workspace_id = $1"
    ).bind(workspace).fetch_one(c).await)?;
    db.close().await;
    Ok(Prepared { workspace, token: token.secret.expose().clone(), people, first_id, last_id })
}

/// Builds authenticated requests to one server.
#[derive(Clone)]
pub struct Requests {
    host: HeaderValue,
    bearer: HeaderValue,
}

impl Requests {
    pub fn new(server: &Server, token: &str) -> anyhow::Result<Self> {
        Ok(Self {
            host: HeaderValue::from_str(&server.address.to_string())?,
            bearer: HeaderValue::from_str(&format!("Bearer {token}"))?,
        })
    }

    pub fn build(&self, method: Method, path: &str, json: Option<Vec<u8>>) -> Request<Full<Bytes>> {
        let has_body = json.is_some();
        let mut request = Request::new(Full::new(Bytes::from(json.unwrap_or_default())));
        *request.method_mut() = method;
        *request.uri_mut() = Uri::from_str(path).unwrap_or_else(|_| Uri::from_static("/"));
        let headers = request.headers_mut();
        headers.insert(header::HOST, self.host.clone());
        headers.insert(header::AUTHORIZATION, self.bearer.clone());
        if has_body {
            headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
        }
        request
    }
}

/// Starts the server, drives it with one request builder per connection, stops it; returns the
/// sample and the server's peak memory.
pub async fn measure_server<F>(
    cx: &Context,
    prepared: &Prepared,
    mut next_for: impl FnMut(usize, Requests) -> F,
) -> anyhow::Result<(Sample, Option<u64>)>
where
    F: FnMut() -> Request<Full<Bytes>> + Send + 'static,
{
    let server = Server::start(&cx.target).await?;
    let requests = Requests::new(&server, &prepared.token)?;
    let mut connections = Vec::with_capacity(CONNECTIONS);
    for connection in 0..CONNECTIONS {
        let next = next_for(connection, requests.clone());
        let mut requests = HttpRequests::connect(server.address, next).await.context("connecting to the server")?;
        // The server opens database connections on demand: one request per connection first, so
        // that a short warm-up does not end before every connection has answered once.
        requests.run().await?;
        connections.push(requests);
    }
    let sample = drive(cx.scale.period(), connections).await;
    let peak_rss = server.peak_rss();
    server.stop().await?;
    Ok((sample?, peak_rss))
}

/// The report of one people API scenario: Rapport's figure against the raw database's.
pub fn report(
    cx: &Context,
    scenario: &'static str,
    label: String,
    (rapport, peak_rss): (Sample, Option<u64>),
    (raw, raw_system): (Sample, &str),
) -> anyhow::Result<Report> {
    let measured = Measurement::new(label.clone(), "rapport serve", "requests", rapport.operations, rapport.seconds)
        .with_concurrency(CONNECTIONS)
        .with_latency(rapport.latency)
        .with_peak_rss(peak_rss, "rapport serve");
    let baseline = Measurement::new(label, raw_system, "queries", raw.operations, raw.seconds)
        .with_concurrency(CONNECTIONS)
        .with_latency(raw.latency);
    Report::new(cx, scenario, vec![Run::against(measured, baseline)], 0)
}

/// Expands `$body` once per engine with `$pool` bound to the raw pool, as `rapport_db::sql!`
/// does for `Db`: the same SQL runs on both.
macro_rules! on_raw {
    ($raw:expr, $pool:ident => $body:expr) => {
        match $raw {
            $crate::bench::people_api::Raw::Sqlite($pool) => $body,
            $crate::bench::people_api::Raw::Postgres($pool) => $body,
        }
    };
}
pub(super) use on_raw;

/// The raw database, opened as a program without Rapport would: SQLite in WAL mode with
/// `synchronous=FULL` (one connection when writing, since SQLite has one writer; a pool when
/// reading), PostgreSQL through a pool as large as the concurrency.
#[derive(Clone)]
pub enum Raw {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

impl Raw {
    pub async fn open(cx: &Context, writes: bool) -> anyhow::Result<Self> {
        let connections = u32::try_from(CONNECTIONS).unwrap_or(32);
        match cx.target.backend() {
            Backend::Sqlite => {
                let path = cx.target.sqlite_path();
                let options = SqliteConnectOptions::from_str(&format!("sqlite://{}", path.display()))?
                    .journal_mode(SqliteJournalMode::Wal)
                    .synchronous(SqliteSynchronous::Full)
                    .busy_timeout(std::time::Duration::from_secs(5))
                    .disable_statement_logging();
                let size = if writes { 1 } else { connections };
                let pool = SqlitePoolOptions::new().max_connections(size).connect_with(options).await?;
                open_all(&pool, size).await?;
                Ok(Self::Sqlite(pool))
            }
            Backend::Postgres => {
                let options = PgConnectOptions::from_str(&cx.target.database_url())?.disable_statement_logging();
                let pool = PgPoolOptions::new().max_connections(connections).connect_with(options).await?;
                open_all(&pool, connections).await?;
                Ok(Self::Postgres(pool))
            }
        }
    }

    pub fn system(&self, what: &str) -> String {
        match self {
            Self::Sqlite(_) => format!("sqlite {what}"),
            Self::Postgres(_) => format!("postgresql {what}"),
        }
    }

    pub async fn close(&self) {
        match self {
            Self::Sqlite(pool) => pool.close().await,
            Self::Postgres(pool) => pool.close().await,
        }
    }

    /// Runs `workers` copies of an operation for the scale's period, then closes the pool.
    pub async fn drive<O: Operation>(&self, cx: &Context, workers: Vec<O>) -> anyhow::Result<Sample> {
        let sample = drive(cx.scale.period(), workers).await;
        self.close().await;
        sample
    }
}

/// Opens every connection of `pool` before the measurement, as a long-running program has.
async fn open_all<DB: sqlx::Database>(pool: &sqlx::Pool<DB>, size: u32) -> anyhow::Result<()> {
    let held = futures::future::try_join_all((0..size).map(|_| pool.acquire())).await?;
    drop(held);
    Ok(())
}
