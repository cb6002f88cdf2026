-- Identity: account state on users, browser sessions and API tokens. Session cookies and API
-- tokens carry their workspace id, so every lookup is by (workspace_id, hash) and stays on one
-- shard when tables are distributed by workspace.

ALTER TABLE users ADD COLUMN status text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'deactivated'));
ALTER TABLE users ADD COLUMN failed_logins integer NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN locked_until timestamptz;
ALTER TABLE users ADD COLUMN password_changed_at timestamptz;

CREATE TABLE sessions (
    workspace_id bigint NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    id_hash text NOT NULL,
    user_id bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    csrf_token text NOT NULL,
    created_at timestamptz NOT NULL,
    last_seen_at timestamptz NOT NULL,
    idle_expires_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    ip text,
    user_agent text,
    revoked_at timestamptz,
    PRIMARY KEY (workspace_id, id_hash)
);
CREATE INDEX sessions_user ON sessions (user_id, workspace_id);

CREATE TABLE api_tokens (
    workspace_id bigint NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    id bigint GENERATED ALWAYS AS IDENTITY,
    user_id bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name text NOT NULL,
    prefix text NOT NULL,
    secret_hash text NOT NULL,
    scopes jsonb NOT NULL,
    expires_at timestamptz,
    last_used_at timestamptz,
    revoked_at timestamptz,
    created_at timestamptz NOT NULL,
    PRIMARY KEY (workspace_id, id)
);
CREATE UNIQUE INDEX api_tokens_secret_hash ON api_tokens (workspace_id, secret_hash);
CREATE INDEX api_tokens_user ON api_tokens (workspace_id, user_id);
