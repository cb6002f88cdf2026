//! Schema migrations, embedded in the binary: `migrations/sqlite` and `migrations/postgres` hold
//! files of identical names (a test enforces it), one per schema change, each written in the
//! dialect of its engine.

use sqlx::SqliteConnection;
use sqlx::migrate::Migrator;

use crate::{Db, DbError, sql};

static SQLITE: Migrator = sqlx::migrate!("../../migrations/sqlite");
static POSTGRES: Migrator = sqlx::migrate!("../../migrations/postgres");

/// Whether the database has every migration this binary embeds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MigrationStatus {
    pub applied: usize,
    pub embedded: usize,
}

impl MigrationStatus {
    pub fn is_current(self) -> bool {
        self.applied >= self.embedded
    }
}

pub(crate) async fn run_sqlite(conn: &mut SqliteConnection) -> Result<(), DbError> {
    SQLITE.run(conn).await?;
    Ok(())
}

impl Db {
    /// Applies pending migrations. SQLite migrates on the writer connection when it opens; on
    /// PostgreSQL sqlx serialises concurrent instances with an advisory lock.
    pub async fn migrate(&self) -> Result<(), DbError> {
        if let Some(pool) = self.postgres_pool() {
            POSTGRES.run(pool).await?;
        }
        Ok(())
    }

    pub async fn migration_status(&self) -> Result<MigrationStatus, DbError> {
        let embedded = match self.backend() {
            crate::Backend::Sqlite => SQLITE.iter().count(),
            crate::Backend::Postgres => POSTGRES.iter().count(),
        };
        let applied: i64 = sql!(self.exec(), c => sqlx::query_scalar(
            "SELECT count(*) FROM _sqlx_migrations WHERE success"
        ).fetch_one(c).await)?;
        Ok(MigrationStatus { applied: usize::try_from(applied).unwrap_or(0), embedded })
    }
}
