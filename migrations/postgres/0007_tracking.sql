-- Behaviour tracking: sources (a website, an app, a server) with their write keys, and the
-- events they send in the Segment format. A write key carries its workspace id, so lookups are
-- by (workspace_id, hash) and stay on one shard. An event's message id is unique per workspace:
-- a replayed batch changes nothing.

CREATE TABLE sources (
    workspace_id bigint NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    id bigint GENERATED ALWAYS AS IDENTITY,
    name text NOT NULL,
    key_prefix text NOT NULL,
    key_hash text NOT NULL,
    created_at timestamptz NOT NULL,
    revoked_at timestamptz,
    PRIMARY KEY (workspace_id, id)
);
CREATE UNIQUE INDEX sources_key ON sources (workspace_id, key_hash);

CREATE TABLE events (
    workspace_id bigint NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    id bigint GENERATED ALWAYS AS IDENTITY,
    source_id bigint NOT NULL,
    message_id text NOT NULL,
    type text NOT NULL CHECK (type IN ('track', 'identify', 'page', 'screen', 'group', 'alias')),
    name text,
    user_id text,
    anonymous_id text,
    group_id text,
    previous_id text,
    occurred_at timestamptz NOT NULL,
    original_timestamp timestamptz,
    sent_at timestamptz,
    received_at timestamptz NOT NULL,
    properties jsonb NOT NULL,
    traits jsonb NOT NULL,
    context jsonb NOT NULL,
    PRIMARY KEY (workspace_id, id),
    FOREIGN KEY (workspace_id, source_id) REFERENCES sources (workspace_id, id) ON DELETE CASCADE
);
CREATE UNIQUE INDEX events_message ON events (workspace_id, message_id);
CREATE INDEX events_time ON events (workspace_id, occurred_at);
CREATE INDEX events_user ON events (workspace_id, user_id, occurred_at) WHERE user_id IS NOT NULL;
CREATE INDEX events_anonymous ON events (workspace_id, anonymous_id, occurred_at) WHERE anonymous_id IS NOT NULL;
