//! Helpers shared by the storage tests: rows to write and read back, waiting with a deadline,
//! and holding the SQLite writer so that the next writes are committed as one group.

use std::collections::BTreeSet;
use std::time::Duration;

use rapport_db::{Backend, Db, DbError, sql};
use tokio::sync::oneshot;

pub use rapport_test_db::skip_unless;

/// Inserts one instance setting named `key` in its own write.
pub async fn insert_setting(db: &Db, key: impl Into<String>) -> Result<(), DbError> {
    let key = key.into();
    db.write(move |tx| Box::pin(async move { insert_setting_in(tx, &key).await })).await
}

pub async fn insert_setting_in(tx: &mut rapport_db::Tx, key: &str) -> Result<(), DbError> {
    sql!(tx.exec(), c => sqlx::query("INSERT INTO instance_settings (key, value) VALUES ($1, 'v')")
        .bind(key).execute(c).await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// Every committed setting name.
pub async fn setting_keys(db: &Db) -> BTreeSet<String> {
    let keys: Vec<String> =
        sql!(db.exec(), c => sqlx::query_scalar("SELECT key FROM instance_settings").fetch_all(c).await)
            .expect("the settings can be read");
    keys.into_iter().collect()
}

/// Polls `check` until it holds, failing the test after five seconds.
pub async fn eventually<F, Fut>(what: &str, check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    rapport_test_db::eventually(what, Duration::from_secs(5), check).await;
}

/// A write that keeps the SQLite writer busy until released, so that writes queued meanwhile
/// are taken as one group. On PostgreSQL writes do not queue and holding changes nothing.
pub struct HeldWriter {
    release: oneshot::Sender<()>,
    write: tokio::task::JoinHandle<Result<(), DbError>>,
}

impl HeldWriter {
    pub async fn hold(db: &Db) -> Self {
        let (started, is_running) = oneshot::channel();
        let (release, released) = oneshot::channel::<()>();
        let write = tokio::spawn({
            let db = db.clone();
            async move {
                db.write(move |_tx| {
                    Box::pin(async move {
                        let _ = started.send(());
                        let _ = released.await;
                        Ok::<_, DbError>(())
                    })
                })
                .await
            }
        });
        is_running.await.expect("the holding write starts");
        Self { release, write }
    }

    /// Waits until `writes` writes queue behind the held one (immediately on PostgreSQL), then
    /// lets the writer go on.
    pub async fn release_after(self, db: &Db, writes: usize) {
        if db.backend() == Backend::Sqlite {
            eventually("the writes are queued", || async { db.pool_stats().pending_writes >= writes }).await;
        }
        let _ = self.release.send(());
        self.write.await.expect("the holding write does not panic").expect("the holding write commits");
    }
}
