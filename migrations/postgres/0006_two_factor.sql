-- Two-factor authentication: a TOTP secret per user (pending until confirmed with a code),
-- hashed single-use recovery codes, short-lived pending logins between the password and the
-- second factor, and the workspace policy that every member must use it. The first two belong
-- to a user, not a workspace; pending logins carry their workspace like sessions do.

CREATE TABLE two_factor (
    user_id bigint PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    secret text NOT NULL,
    enabled_at timestamptz,
    last_used_step bigint,
    created_at timestamptz NOT NULL
);

CREATE TABLE recovery_codes (
    user_id bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    code_hash text NOT NULL,
    used_at timestamptz,
    PRIMARY KEY (user_id, code_hash)
);

CREATE TABLE pending_logins (
    workspace_id bigint NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    id_hash text NOT NULL,
    user_id bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    expires_at timestamptz NOT NULL,
    used_at timestamptz,
    PRIMARY KEY (workspace_id, id_hash)
);

ALTER TABLE workspaces ADD COLUMN require_two_factor boolean NOT NULL DEFAULT false;
