//! The database a scenario runs against, fresh for every scenario: a SQLite file in a
//! temporary directory, or a new database `rapport_bench_<random>` created on the PostgreSQL
//! server named by `--database-url` and dropped afterwards. Either way the scenario also gets
//! a scratch directory for files.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use rapport_db::Backend;
use sqlx::{Connection, PgConnection, SqliteConnection};

pub struct Target {
    dir: tempfile::TempDir,
    kind: Kind,
    description: String,
}

enum Kind {
    Sqlite,
    Postgres { server: String, name: String, url: String },
}

impl Target {
    pub async fn create(backend: Backend, server: &str) -> anyhow::Result<Self> {
        let dir =
            tempfile::Builder::new().prefix("rapport-bench-").tempdir().context("creating a scratch directory")?;
        match backend {
            Backend::Sqlite => {
                let mut memory = SqliteConnection::connect("sqlite::memory:").await?;
                let version: String = sqlx::query_scalar("SELECT sqlite_version()").fetch_one(&mut memory).await?;
                memory.close().await?;
                Ok(Self { dir, kind: Kind::Sqlite, description: format!("SQLite {version}") })
            }
            Backend::Postgres => {
                let mut admin = PgConnection::connect(server)
                    .await
                    .context("connecting to the PostgreSQL server given by --database-url")?;
                let version: String = sqlx::query_scalar("SHOW server_version").fetch_one(&mut admin).await?;
                let name = format!("rapport_bench_{}", uuid::Uuid::new_v4().simple());
                sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}"))).execute(&mut admin).await?;
                admin.close().await?;
                let url = with_database(server, &name)?;
                let description = format!("PostgreSQL {}", version.split_whitespace().next().unwrap_or(&version));
                Ok(Self { dir, kind: Kind::Postgres { server: server.to_owned(), name, url }, description })
            }
        }
    }

    pub fn backend(&self) -> Backend {
        match self.kind {
            Kind::Sqlite => Backend::Sqlite,
            Kind::Postgres { .. } => Backend::Postgres,
        }
    }

    /// The URL Rapport is given: a file in the scratch directory, or the fresh PostgreSQL database.
    pub fn database_url(&self) -> String {
        match &self.kind {
            Kind::Sqlite => format!("sqlite://{}", self.sqlite_path().display()),
            Kind::Postgres { url, .. } => url.clone(),
        }
    }

    /// Where Rapport's SQLite file goes (also where `rapport serve` puts it in this data directory).
    pub fn sqlite_path(&self) -> PathBuf {
        self.data_dir().join("rapport.db")
    }

    /// The data directory `rapport serve` is given.
    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// A directory for the scenario's own files.
    pub fn scratch(&self) -> &Path {
        self.dir.path()
    }

    /// Engine and version, e.g. `PostgreSQL 15.8`.
    pub fn description(&self) -> &str {
        &self.description
    }

    /// Drops the PostgreSQL database (with any connection still open) and the scratch directory.
    pub async fn remove(self) -> anyhow::Result<()> {
        if let Kind::Postgres { server, name, .. } = &self.kind {
            let mut admin = PgConnection::connect(server).await?;
            sqlx::query(sqlx::AssertSqlSafe(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")))
                .execute(&mut admin)
                .await
                .with_context(|| format!("dropping the benchmark database {name}"))?;
            admin.close().await?;
        }
        Ok(())
    }
}

/// `server` with its database path replaced by `name`.
fn with_database(server: &str, name: &str) -> anyhow::Result<String> {
    let mut url = url::Url::parse(server).context("--database-url is not a URL")?;
    url.set_path(&format!("/{name}"));
    Ok(url.to_string())
}

#[cfg(test)]
mod tests {
    use super::with_database;

    #[test]
    fn the_database_name_replaces_the_servers() {
        assert_eq!(
            with_database("postgres://postgres@127.0.0.1:5432/postgres", "rapport_bench_1").unwrap(),
            "postgres://postgres@127.0.0.1:5432/rapport_bench_1"
        );
        assert_eq!(
            with_database("postgres://u:p@db/postgres?sslmode=disable", "b").unwrap(),
            "postgres://u:p@db/b?sslmode=disable"
        );
    }
}
