//! The storage layer's one error enum. Callers match on the variants that carry meaning for
//! them (a unique key taken, the database busy) and pass the rest up as internal errors.

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("the database URL must start with sqlite:// or postgres://")]
    UnsupportedUrl,
    #[error("a unique constraint was violated: {constraint}")]
    UniqueViolation { constraint: String },
    #[error("a foreign key constraint was violated")]
    ForeignKeyViolation,
    #[error("no row matched")]
    NotFound,
    #[error("the database is busy or unreachable: {0}")]
    Unavailable(String),
    #[error("the database settings are not what Rapport requires: {0}")]
    SelfCheck(String),
    #[error("migrations failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("the writer has shut down")]
    WriterGone,
    #[error("the write was aborted before it committed")]
    WriteAborted,
    #[error(transparent)]
    Sqlx(sqlx::Error),
}

impl From<sqlx::Error> for DbError {
    fn from(err: sqlx::Error) -> Self {
        match &err {
            sqlx::Error::RowNotFound => Self::NotFound,
            sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed => Self::Unavailable(err.to_string()),
            sqlx::Error::Database(db) => {
                if db.is_unique_violation() {
                    Self::UniqueViolation {
                        constraint: db.constraint().map_or_else(|| db.message().to_string(), str::to_string),
                    }
                } else if db.is_foreign_key_violation() {
                    Self::ForeignKeyViolation
                } else if is_busy(db.code().as_deref()) {
                    Self::Unavailable(db.message().to_string())
                } else {
                    Self::Sqlx(err)
                }
            }
            _ => Self::Sqlx(err),
        }
    }
}

/// SQLITE_BUSY (5) and SQLITE_LOCKED (6) with their extended codes: another process held the lock
/// past `busy_timeout`. They surface as [`DbError::Unavailable`], never as their raw message.
fn is_busy(code: Option<&str>) -> bool {
    code.and_then(|c| c.parse::<i32>().ok()).is_some_and(|c| matches!(c & 0xff, 5 | 6))
}

impl DbError {
    /// Whether the unique constraint `name` (PostgreSQL) or a unique index over `column` of
    /// `table` (SQLite reports `table.column`) was the one violated.
    pub fn is_unique(&self, table: &str, column: &str, pg_constraint: &str) -> bool {
        match self {
            Self::UniqueViolation { constraint } => {
                constraint == pg_constraint || constraint.contains(&format!("{table}.{column}"))
            }
            _ => false,
        }
    }
}
