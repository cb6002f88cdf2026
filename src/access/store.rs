//! The access module's SQL.

use chrono::Utc;
use rapport_core::{UserId, WorkspaceId};
use rapport_db::{Db, DbError, Tx, sql};

pub(super) async fn grants_json(db: &Db, workspace: WorkspaceId, role: i64) -> Result<Option<String>, DbError> {
    let grants = sql!(db.exec(), c => sqlx::query_scalar("SELECT grants FROM roles WHERE workspace_id = $1 AND id = $2")
        .bind(workspace).bind(role).fetch_optional(c).await)?;
    Ok(grants)
}

pub(super) async fn insert_role(tx: &mut Tx, workspace: WorkspaceId, name: &str, grants: &str) -> Result<i64, DbError> {
    let id = sql!(tx.exec(), c => sqlx::query_scalar(
        "INSERT INTO roles (workspace_id, name, grants, created_at) VALUES ($1, $2, $3, $4) RETURNING id"
    ).bind(workspace).bind(name).bind(grants).bind(Utc::now()).fetch_one(c).await)?;
    Ok(id)
}

/// Replaces a role's grants and returns the previous ones; `None` when there is no such role.
pub(super) async fn replace_grants(
    tx: &mut Tx,
    workspace: WorkspaceId,
    role: i64,
    grants: &str,
) -> Result<Option<String>, DbError> {
    let old: Option<String> = sql!(tx.exec(), c => sqlx::query_scalar(
        "SELECT grants FROM roles WHERE workspace_id = $1 AND id = $2"
    ).bind(workspace).bind(role).fetch_optional(c).await)?;
    if old.is_some() {
        sql!(tx.exec(), c => sqlx::query("UPDATE roles SET grants = $1 WHERE workspace_id = $2 AND id = $3")
            .bind(grants).bind(workspace).bind(role).execute(c).await.map(|r| r.rows_affected()))?;
    }
    Ok(old)
}

pub(super) async fn roles(db: &Db, workspace: WorkspaceId) -> Result<Vec<(i64, String, String)>, DbError> {
    let rows = sql!(db.exec(), c => sqlx::query_as("SELECT id, name, grants FROM roles WHERE workspace_id = $1 ORDER BY name")
        .bind(workspace).fetch_all(c).await)?;
    Ok(rows)
}

/// Sets a member's custom role and returns the previous one; `None` when `user` is no member.
pub(super) async fn set_member_role(
    tx: &mut Tx,
    workspace: WorkspaceId,
    user: UserId,
    role: Option<i64>,
) -> Result<Option<Option<i64>>, DbError> {
    let old: Option<Option<i64>> = sql!(tx.exec(), c => sqlx::query_scalar(
        "SELECT role_id FROM memberships WHERE workspace_id = $1 AND user_id = $2"
    ).bind(workspace).bind(user).fetch_optional(c).await)?;
    if old.is_some() {
        sql!(tx.exec(), c => sqlx::query("UPDATE memberships SET role_id = $1 WHERE workspace_id = $2 AND user_id = $3")
            .bind(role).bind(workspace).bind(user).execute(c).await.map(|r| r.rows_affected()))?;
    }
    Ok(old)
}

pub(super) async fn insert_team(tx: &mut Tx, workspace: WorkspaceId, name: &str) -> Result<i64, DbError> {
    let id = sql!(tx.exec(), c => sqlx::query_scalar(
        "INSERT INTO teams (workspace_id, name, created_at) VALUES ($1, $2, $3) RETURNING id"
    ).bind(workspace).bind(name).bind(Utc::now()).fetch_one(c).await)?;
    Ok(id)
}

pub(super) async fn team_id(db: &Db, workspace: WorkspaceId, name: &str) -> Result<Option<i64>, DbError> {
    let id = sql!(db.exec(), c => sqlx::query_scalar("SELECT id FROM teams WHERE workspace_id = $1 AND name = $2")
        .bind(workspace).bind(name).fetch_optional(c).await)?;
    Ok(id)
}

pub(super) async fn add_team_member(
    tx: &mut Tx,
    workspace: WorkspaceId,
    team: i64,
    user: UserId,
) -> Result<(), DbError> {
    sql!(tx.exec(), c => sqlx::query(
        "INSERT INTO team_members (workspace_id, team_id, user_id) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING"
    ).bind(workspace).bind(team).bind(user).execute(c).await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// Everyone who shares a team with `user`, `user` included.
pub(super) async fn team_mates(db: &Db, workspace: WorkspaceId, user: UserId) -> Result<Vec<UserId>, DbError> {
    let mates = sql!(db.exec(), c => sqlx::query_scalar(
        "SELECT DISTINCT other.user_id FROM team_members mine
         JOIN team_members other ON other.workspace_id = mine.workspace_id AND other.team_id = mine.team_id
         WHERE mine.workspace_id = $1 AND mine.user_id = $2
         UNION SELECT $2
         ORDER BY 1"
    ).bind(workspace).bind(user).fetch_all(c).await)?;
    Ok(mates)
}

/// Sets (or with `None` removes) a field rule; returns the previous access.
pub(super) async fn set_field_rule(
    tx: &mut Tx,
    workspace: WorkspaceId,
    (role_key, object, field): (&str, &str, &str),
    access: Option<&str>,
) -> Result<Option<String>, DbError> {
    let old = sql!(tx.exec(), c => sqlx::query_scalar(
        "DELETE FROM field_rules WHERE workspace_id = $1 AND role_key = $2 AND object = $3 AND field = $4 RETURNING access"
    ).bind(workspace).bind(role_key).bind(object).bind(field).fetch_optional(c).await)?;
    if let Some(access) = access {
        sql!(tx.exec(), c => sqlx::query(
            "INSERT INTO field_rules (workspace_id, role_key, object, field, access) VALUES ($1, $2, $3, $4, $5)"
        ).bind(workspace).bind(role_key).bind(object).bind(field).bind(access).execute(c).await.map(|r| r.rows_affected()))?;
    }
    Ok(old)
}

pub(super) async fn field_rules(
    db: &Db,
    workspace: WorkspaceId,
    role_key: &str,
    object: &str,
) -> Result<Vec<(String, String)>, DbError> {
    let rules = sql!(db.exec(), c => sqlx::query_as(
        "SELECT field, access FROM field_rules WHERE workspace_id = $1 AND role_key = $2 AND object = $3"
    ).bind(workspace).bind(role_key).bind(object).fetch_all(c).await)?;
    Ok(rules)
}
