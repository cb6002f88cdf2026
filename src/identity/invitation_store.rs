//! The SQL of invitations. An invitation is pending until it is accepted or revoked; its token
//! carries the workspace id in clear, so a presented link is looked up by (workspace, hash).

use rapport_core::{Timestamp, UserId, WorkspaceId};
use rapport_db::{Db, DbError, Tx, sql};

pub(super) struct NewInvitation<'a> {
    pub workspace: WorkspaceId,
    pub email: &'a str,
    pub email_canonical: &'a str,
    pub role: &'a str,
    pub role_id: Option<i64>,
    pub token_hash: &'a str,
    pub invited_by: UserId,
    pub now: Timestamp,
    pub expires_at: Timestamp,
}

pub(super) async fn insert_invitation(tx: &mut Tx, new: &NewInvitation<'_>) -> Result<i64, DbError> {
    let id = sql!(tx.exec(), c => sqlx::query_scalar(
        "INSERT INTO invitations (workspace_id, email, email_canonical, role, role_id, token_hash, invited_by, created_at, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id"
    )
    .bind(new.workspace).bind(new.email).bind(new.email_canonical).bind(new.role).bind(new.role_id)
    .bind(new.token_hash).bind(new.invited_by).bind(new.now).bind(new.expires_at)
    .fetch_one(c).await)?;
    Ok(id)
}

/// Revokes the pending invitations of an address, which a new invitation replaces.
pub(super) async fn revoke_pending_for(
    tx: &mut Tx,
    workspace: WorkspaceId,
    email_canonical: &str,
    now: Timestamp,
) -> Result<u64, DbError> {
    let revoked = sql!(tx.exec(), c => sqlx::query(
        "UPDATE invitations SET revoked_at = $1
         WHERE workspace_id = $2 AND email_canonical = $3 AND accepted_at IS NULL AND revoked_at IS NULL"
    ).bind(now).bind(workspace).bind(email_canonical).execute(c).await.map(|r| r.rows_affected()))?;
    Ok(revoked)
}

#[derive(sqlx::FromRow)]
pub(super) struct InvitationRow {
    pub id: i64,
    pub email: String,
    pub role: String,
    pub role_id: Option<i64>,
    pub inviter_email: Option<String>,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
}

/// The workspace's pending invitations (expired ones included), newest first; with `only`,
/// that invitation alone.
pub(super) async fn pending(db: &Db, workspace: WorkspaceId, only: Option<i64>) -> Result<Vec<InvitationRow>, DbError> {
    let rows = sql!(db.exec(), c => sqlx::query_as::<_, InvitationRow>(
        "SELECT i.id, i.email, i.role, i.role_id, u.email AS inviter_email, i.created_at, i.expires_at
         FROM invitations i LEFT JOIN users u ON u.id = i.invited_by
         WHERE i.workspace_id = $1 AND ($2 IS NULL OR i.id = $2) AND i.accepted_at IS NULL AND i.revoked_at IS NULL
         ORDER BY i.created_at DESC, i.id DESC"
    ).bind(workspace).bind(only).fetch_all(c).await)?;
    Ok(rows)
}

/// Gives a pending invitation a new token and expiry, killing the old link; its address, or
/// `None` when it is not pending.
pub(super) async fn renew(
    tx: &mut Tx,
    workspace: WorkspaceId,
    id: i64,
    token_hash: &str,
    expires_at: Timestamp,
) -> Result<Option<String>, DbError> {
    let email = sql!(tx.exec(), c => sqlx::query_scalar(
        "UPDATE invitations SET token_hash = $1, expires_at = $2
         WHERE workspace_id = $3 AND id = $4 AND accepted_at IS NULL AND revoked_at IS NULL RETURNING email"
    ).bind(token_hash).bind(expires_at).bind(workspace).bind(id).fetch_optional(c).await)?;
    Ok(email)
}

/// Revokes a pending invitation; its address, or `None` when it was not pending.
pub(super) async fn revoke(
    tx: &mut Tx,
    workspace: WorkspaceId,
    id: i64,
    now: Timestamp,
) -> Result<Option<String>, DbError> {
    let email = sql!(tx.exec(), c => sqlx::query_scalar(
        "UPDATE invitations SET revoked_at = $1
         WHERE workspace_id = $2 AND id = $3 AND accepted_at IS NULL AND revoked_at IS NULL RETURNING email"
    ).bind(now).bind(workspace).bind(id).fetch_optional(c).await)?;
    Ok(email)
}

/// What the accept page shows of a link that still works.
#[derive(sqlx::FromRow)]
pub(super) struct LiveInvitation {
    pub email: String,
    pub role: String,
    pub workspace_name: String,
    pub inviter_email: Option<String>,
    pub existing_user: Option<UserId>,
}

pub(super) async fn live(
    db: &Db,
    workspace: WorkspaceId,
    token_hash: &str,
    now: Timestamp,
) -> Result<Option<LiveInvitation>, DbError> {
    let row = sql!(db.exec(), c => sqlx::query_as::<_, LiveInvitation>(
        "SELECT i.email, i.role, w.name AS workspace_name, inviter.email AS inviter_email,
                (SELECT u.id FROM users u WHERE u.email_canonical = i.email_canonical) AS existing_user
         FROM invitations i
         JOIN workspaces w ON w.id = i.workspace_id
         LEFT JOIN users inviter ON inviter.id = i.invited_by
         WHERE i.workspace_id = $1 AND i.token_hash = $2
           AND i.accepted_at IS NULL AND i.revoked_at IS NULL AND i.expires_at > $3"
    ).bind(workspace).bind(token_hash).bind(now).fetch_optional(c).await)?;
    Ok(row)
}

/// Spends a live link for `user`: its id, role and custom role, or `None` when it no longer
/// works (a concurrent acceptance got there first).
pub(super) async fn accept(
    tx: &mut Tx,
    workspace: WorkspaceId,
    token_hash: &str,
    user: UserId,
    now: Timestamp,
) -> Result<Option<(i64, String, Option<i64>)>, DbError> {
    let row = sql!(tx.exec(), c => sqlx::query_as(
        "UPDATE invitations SET accepted_at = $1, accepted_by = $2
         WHERE workspace_id = $3 AND token_hash = $4 AND accepted_at IS NULL AND revoked_at IS NULL AND expires_at > $1
         RETURNING id, role, role_id"
    ).bind(now).bind(user).bind(workspace).bind(token_hash).fetch_optional(c).await)?;
    Ok(row)
}
