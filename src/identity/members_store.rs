//! The SQL of workspace members: who belongs to a workspace, with which role, since when, and
//! whether their membership is deactivated. Every query names the workspace.

use rapport_core::{Timestamp, UserId, WorkspaceId};
use rapport_db::{Db, DbError, Tx, sql};

#[derive(sqlx::FromRow)]
pub(super) struct MemberRow {
    pub user_id: UserId,
    pub email: String,
    pub role: String,
    pub role_id: Option<i64>,
    pub joined_at: Timestamp,
    pub deactivated_at: Option<Timestamp>,
    pub email_verified_at: Option<Timestamp>,
    pub two_factor: bool,
    pub last_active_at: Option<Timestamp>,
}

/// The workspace's members, oldest first; with `only`, that member alone.
pub(super) async fn members(db: &Db, workspace: WorkspaceId, only: Option<UserId>) -> Result<Vec<MemberRow>, DbError> {
    let rows = sql!(db.exec(), c => sqlx::query_as::<_, MemberRow>(
        "SELECT u.id AS user_id, u.email, m.role, m.role_id, m.created_at AS joined_at, m.deactivated_at,
                u.email_verified_at,
                EXISTS (SELECT 1 FROM two_factor f WHERE f.user_id = u.id AND f.enabled_at IS NOT NULL) AS two_factor,
                (SELECT max(s.last_seen_at) FROM sessions s
                 WHERE s.workspace_id = m.workspace_id AND s.user_id = m.user_id) AS last_active_at
         FROM memberships m JOIN users u ON u.id = m.user_id
         WHERE m.workspace_id = $1 AND ($2 IS NULL OR m.user_id = $2)
         ORDER BY m.created_at, u.id"
    ).bind(workspace).bind(only).fetch_all(c).await)?;
    Ok(rows)
}

/// A member's built-in role and when they were deactivated, read inside the changing transaction.
pub(super) async fn membership(
    tx: &mut Tx,
    workspace: WorkspaceId,
    user: UserId,
) -> Result<Option<(String, Option<Timestamp>)>, DbError> {
    let row = sql!(tx.exec(), c => sqlx::query_as(
        "SELECT role, deactivated_at FROM memberships WHERE workspace_id = $1 AND user_id = $2"
    ).bind(workspace).bind(user).fetch_optional(c).await)?;
    Ok(row)
}

pub(super) async fn set_role(tx: &mut Tx, workspace: WorkspaceId, user: UserId, role: &str) -> Result<(), DbError> {
    sql!(tx.exec(), c => sqlx::query("UPDATE memberships SET role = $1 WHERE workspace_id = $2 AND user_id = $3")
        .bind(role).bind(workspace).bind(user).execute(c).await.map(|r| r.rows_affected()))?;
    Ok(())
}

pub(super) async fn set_deactivated(
    tx: &mut Tx,
    workspace: WorkspaceId,
    user: UserId,
    at: Option<Timestamp>,
) -> Result<(), DbError> {
    sql!(tx.exec(), c => sqlx::query(
        "UPDATE memberships SET deactivated_at = $1 WHERE workspace_id = $2 AND user_id = $3"
    ).bind(at).bind(workspace).bind(user).execute(c).await.map(|r| r.rows_affected()))?;
    Ok(())
}

pub(super) async fn active_owners(tx: &mut Tx, workspace: WorkspaceId) -> Result<i64, DbError> {
    let count = sql!(tx.exec(), c => sqlx::query_scalar(
        "SELECT count(*) FROM memberships WHERE workspace_id = $1 AND role = 'owner' AND deactivated_at IS NULL"
    ).bind(workspace).fetch_one(c).await)?;
    Ok(count)
}

/// Adds a member; false when they already were one.
pub(super) async fn insert_membership(
    tx: &mut Tx,
    workspace: WorkspaceId,
    user: UserId,
    (role, role_id): (&str, Option<i64>),
    now: Timestamp,
) -> Result<bool, DbError> {
    let added = sql!(tx.exec(), c => sqlx::query(
        "INSERT INTO memberships (workspace_id, user_id, role, role_id, created_at) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (workspace_id, user_id) DO NOTHING"
    ).bind(workspace).bind(user).bind(role).bind(role_id).bind(now).execute(c).await.map(|r| r.rows_affected()))?;
    Ok(added == 1)
}
