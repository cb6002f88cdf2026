-- The audit trail and the security log: append-only rows, hash-chained per (workspace, log).
-- Each row stores the previous row's hash and its own hash over a canonical encoding of every
-- column, so a changed, inserted or deleted row breaks the chain. `audit_heads` holds each
-- chain's latest position and hash; an append updates its head row first, which locks it until
-- commit, so concurrent writers of one workspace queue there instead of forking the chain.
-- After pruning, the head keeps the hash of the last pruned row so that what remains still
-- verifies. `changes` is text, not jsonb: the hash covers its exact bytes, which jsonb would
-- re-encode.

CREATE TABLE audit_heads (
    workspace_id bigint NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    log text NOT NULL CHECK (log IN ('audit', 'security')),
    seq bigint NOT NULL,
    hash text NOT NULL,
    pruned_seq bigint NOT NULL DEFAULT 0,
    pruned_hash text NOT NULL DEFAULT '',
    PRIMARY KEY (workspace_id, log)
);

CREATE TABLE audit_rows (
    workspace_id bigint NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    log text NOT NULL CHECK (log IN ('audit', 'security')),
    seq bigint NOT NULL,
    at timestamptz NOT NULL,
    actor text NOT NULL,
    actor_user_id bigint,
    request_id text,
    entity text NOT NULL,
    entity_id bigint NOT NULL,
    action text NOT NULL,
    changes text NOT NULL,
    prev_hash text NOT NULL,
    hash text NOT NULL,
    PRIMARY KEY (workspace_id, log, seq)
);
CREATE INDEX audit_rows_entity ON audit_rows (workspace_id, log, entity, entity_id, seq);
CREATE INDEX audit_rows_actor ON audit_rows (workspace_id, log, actor_user_id, seq);

-- Roles, teams and field-level permissions. A member keeps a built-in role (owner, admin,
-- manager, member, viewer); a custom role assigned on top replaces its permission set. Grants
-- are a JSON list of {module, action, reach}. Field rules are keyed by role: the built-in
-- role's name or `role:ID`; a field without a rule is visible and writable.

CREATE TABLE roles (
    workspace_id bigint NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    id bigint GENERATED ALWAYS AS IDENTITY,
    name text NOT NULL,
    grants text NOT NULL,
    created_at timestamptz NOT NULL,
    PRIMARY KEY (workspace_id, id),
    UNIQUE (workspace_id, name)
);

ALTER TABLE memberships ADD COLUMN role_id bigint;
ALTER TABLE memberships ADD CONSTRAINT memberships_role FOREIGN KEY (workspace_id, role_id)
    REFERENCES roles (workspace_id, id) ON DELETE SET NULL (role_id);

CREATE TABLE teams (
    workspace_id bigint NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    id bigint GENERATED ALWAYS AS IDENTITY,
    name text NOT NULL,
    created_at timestamptz NOT NULL,
    PRIMARY KEY (workspace_id, id),
    UNIQUE (workspace_id, name)
);

CREATE TABLE team_members (
    workspace_id bigint NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    team_id bigint NOT NULL,
    user_id bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    PRIMARY KEY (workspace_id, team_id, user_id),
    FOREIGN KEY (workspace_id, team_id) REFERENCES teams (workspace_id, id) ON DELETE CASCADE
);
CREATE INDEX team_members_user ON team_members (workspace_id, user_id);

CREATE TABLE field_rules (
    workspace_id bigint NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    role_key text NOT NULL,
    object text NOT NULL,
    field text NOT NULL,
    access text NOT NULL CHECK (access IN ('hidden', 'read_only')),
    PRIMARY KEY (workspace_id, role_key, object, field)
);
