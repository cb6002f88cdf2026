//! Online backup of a live SQLite database with `VACUUM INTO`: it reads one consistent snapshot
//! while writers go on, and writes a compacted copy. Copying the database file instead would
//! miss whatever still sits in the WAL and can tear pages mid-write.

use std::path::Path;

use sqlx::{ConnectOptions, Connection};

use crate::{DbError, DbOptions};

#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error("backups of PostgreSQL are taken with pg_dump and restored with pg_restore")]
    Postgres,
    #[error("{0} already exists; choose a new file name")]
    TargetExists(String),
    #[error(transparent)]
    Db(#[from] DbError),
}

/// Writes a consistent copy of the database at `url` into `target`, which must not exist.
pub async fn backup_sqlite(options: &DbOptions, target: &Path) -> Result<(), BackupError> {
    let url = options.url.expose();
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        return Err(BackupError::Postgres);
    }
    if target.exists() {
        return Err(BackupError::TargetExists(target.display().to_string()));
    }
    let connect = crate::sqlite::connect_options(url, options)?.create_if_missing(false);
    let mut conn = connect.connect().await.map_err(DbError::from)?;
    let target = target.to_string_lossy().into_owned();
    sqlx::query("VACUUM INTO $1").bind(&target).execute(&mut conn).await.map_err(DbError::from)?;
    conn.close().await.map_err(DbError::from)?;
    sync_to_disk(Path::new(&target)).map_err(|e| DbError::Unavailable(format!("syncing the backup: {e}")))?;
    Ok(())
}

/// `VACUUM INTO` does not fsync what it wrote; a backup is only a backup once it is on disk,
/// together with the directory entry that names it.
fn sync_to_disk(file: &Path) -> std::io::Result<()> {
    std::fs::File::open(file)?.sync_all()?;
    if let Some(dir) = file.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::File::open(dir)?.sync_all()?;
    }
    Ok(())
}
