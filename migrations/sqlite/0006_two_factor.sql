-- Two-factor authentication: a TOTP secret per user (pending until confirmed with a code),
-- hashed single-use recovery codes, short-lived pending logins between the password and the
-- second factor, and the workspace policy that every member must use it.

CREATE TABLE two_factor (
    user_id INTEGER PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    secret TEXT NOT NULL,
    enabled_at TEXT,
    last_used_step INTEGER,
    created_at TEXT NOT NULL
);

CREATE TABLE recovery_codes (
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    code_hash TEXT NOT NULL,
    used_at TEXT,
    PRIMARY KEY (user_id, code_hash)
);

CREATE TABLE pending_logins (
    workspace_id INTEGER NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    id_hash TEXT NOT NULL,
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    expires_at TEXT NOT NULL,
    used_at TEXT,
    PRIMARY KEY (workspace_id, id_hash)
);

ALTER TABLE workspaces ADD COLUMN require_two_factor BOOLEAN NOT NULL DEFAULT FALSE;
