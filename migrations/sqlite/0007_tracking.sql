-- Behaviour tracking: sources (a website, an app, a server) with their write keys, and the
-- events they send in the Segment format. A write key carries its workspace id, so lookups are
-- by (workspace_id, hash). An event's message id is unique per workspace: a replayed batch
-- changes nothing.

CREATE TABLE sources (
    id INTEGER PRIMARY KEY,
    workspace_id INTEGER NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    key_prefix TEXT NOT NULL,
    key_hash TEXT NOT NULL,
    created_at TEXT NOT NULL,
    revoked_at TEXT
);
CREATE UNIQUE INDEX sources_key ON sources (workspace_id, key_hash);

CREATE TABLE events (
    id INTEGER PRIMARY KEY,
    workspace_id INTEGER NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    source_id INTEGER NOT NULL REFERENCES sources (id) ON DELETE CASCADE,
    message_id TEXT NOT NULL,
    type TEXT NOT NULL CHECK (type IN ('track', 'identify', 'page', 'screen', 'group', 'alias')),
    name TEXT,
    user_id TEXT,
    anonymous_id TEXT,
    group_id TEXT,
    previous_id TEXT,
    occurred_at TEXT NOT NULL,
    original_timestamp TEXT,
    sent_at TEXT,
    received_at TEXT NOT NULL,
    properties TEXT NOT NULL,
    traits TEXT NOT NULL,
    context TEXT NOT NULL
);
CREATE UNIQUE INDEX events_message ON events (workspace_id, message_id);
CREATE INDEX events_time ON events (workspace_id, occurred_at);
CREATE INDEX events_user ON events (workspace_id, user_id, occurred_at) WHERE user_id IS NOT NULL;
CREATE INDEX events_anonymous ON events (workspace_id, anonymous_id, occurred_at) WHERE anonymous_id IS NOT NULL;
