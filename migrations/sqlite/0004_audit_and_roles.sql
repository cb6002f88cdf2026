-- The audit trail and the security log: append-only rows, hash-chained per (workspace, log).
-- Each row stores the previous row's hash and its own hash over a canonical encoding of every
-- column, so a changed, inserted or deleted row breaks the chain. `audit_heads` holds each
-- chain's latest position and hash (appends serialise on it) and, after pruning, the hash of
-- the last pruned row so that what remains still verifies. `changes` is TEXT on both backends:
-- the hash covers its exact bytes, which a JSON column type would re-encode.

CREATE TABLE audit_heads (
    workspace_id INTEGER NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    log TEXT NOT NULL CHECK (log IN ('audit', 'security')),
    seq INTEGER NOT NULL,
    hash TEXT NOT NULL,
    pruned_seq INTEGER NOT NULL DEFAULT 0,
    pruned_hash TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (workspace_id, log)
);

CREATE TABLE audit_rows (
    workspace_id INTEGER NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    log TEXT NOT NULL CHECK (log IN ('audit', 'security')),
    seq INTEGER NOT NULL,
    at TEXT NOT NULL,
    actor TEXT NOT NULL,
    actor_user_id INTEGER,
    request_id TEXT,
    entity TEXT NOT NULL,
    entity_id INTEGER NOT NULL,
    action TEXT NOT NULL,
    changes TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL,
    PRIMARY KEY (workspace_id, log, seq)
);
CREATE INDEX audit_rows_entity ON audit_rows (workspace_id, log, entity, entity_id, seq);
CREATE INDEX audit_rows_actor ON audit_rows (workspace_id, log, actor_user_id, seq);

-- Roles, teams and field-level permissions. A member keeps a built-in role (owner, admin,
-- manager, member, viewer); a custom role assigned on top replaces its permission set. Grants
-- are a JSON list of {module, action, reach}. Field rules are keyed by role: the built-in
-- role's name or `role:ID`; a field without a rule is visible and writable.

CREATE TABLE roles (
    id INTEGER PRIMARY KEY,
    workspace_id INTEGER NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    grants TEXT NOT NULL,
    created_at TEXT NOT NULL,
    UNIQUE (workspace_id, name)
);

ALTER TABLE memberships ADD COLUMN role_id INTEGER REFERENCES roles (id) ON DELETE SET NULL;

CREATE TABLE teams (
    id INTEGER PRIMARY KEY,
    workspace_id INTEGER NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    created_at TEXT NOT NULL,
    UNIQUE (workspace_id, name)
);

CREATE TABLE team_members (
    workspace_id INTEGER NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    team_id INTEGER NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    PRIMARY KEY (workspace_id, team_id, user_id)
);
CREATE INDEX team_members_user ON team_members (workspace_id, user_id);

CREATE TABLE field_rules (
    workspace_id INTEGER NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    role_key TEXT NOT NULL,
    object TEXT NOT NULL,
    field TEXT NOT NULL,
    access TEXT NOT NULL CHECK (access IN ('hidden', 'read_only')),
    PRIMARY KEY (workspace_id, role_key, object, field)
);
