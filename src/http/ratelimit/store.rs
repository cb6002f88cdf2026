//! The SQL of per-IP limits: one row per (endpoint, address) holding the current window.

use rapport_core::Timestamp;
use rapport_db::{DbError, Tx, sql};

/// Counts a hit, starting a new window when the current one began before `expired_before`;
/// returns the hits in the window and when it began.
pub(super) async fn count_hit(
    tx: &mut Tx,
    scope: &str,
    ip: &str,
    now: Timestamp,
    expired_before: Timestamp,
) -> Result<(i32, Timestamp), DbError> {
    let row = sql!(tx.exec(), c => sqlx::query_as(
        "INSERT INTO ip_limits (scope, ip, window_started_at, hits) VALUES ($1, $2, $3, 1)
         ON CONFLICT (scope, ip) DO UPDATE SET
           hits = CASE WHEN ip_limits.window_started_at <= $4 THEN 1 ELSE ip_limits.hits + 1 END,
           window_started_at = CASE WHEN ip_limits.window_started_at <= $4 THEN $3 ELSE ip_limits.window_started_at END
         RETURNING hits, window_started_at"
    ).bind(scope).bind(ip).bind(now).bind(expired_before).fetch_one(c).await)?;
    Ok(row)
}
