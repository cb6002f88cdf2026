-- The platform's tables: tenants and the people who sign in, the domain-event outbox with
-- per-subscriber progress, durable jobs and the recurring-job slots.
--
-- Business tables carry workspace_id in every primary key, unique constraint and foreign key, so
-- that each can be distributed by workspace_id (Citus) without rewriting a query. Users sign in
-- across workspaces and are a reference table; jobs and the outbox are infrastructure.

CREATE TABLE workspaces (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name text NOT NULL,
    created_at timestamptz NOT NULL
);

CREATE TABLE users (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    email text NOT NULL,
    email_canonical text NOT NULL,
    password_hash text NOT NULL,
    created_at timestamptz NOT NULL,
    CONSTRAINT users_email_canonical_key UNIQUE (email_canonical)
);

CREATE TABLE memberships (
    workspace_id bigint NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    user_id bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role text NOT NULL,
    created_at timestamptz NOT NULL,
    PRIMARY KEY (workspace_id, user_id)
);

CREATE TABLE instance_settings (
    key text PRIMARY KEY,
    value text NOT NULL
);

CREATE TABLE domain_events (
    id bigint GENERATED ALWAYS AS IDENTITY,
    workspace_id bigint NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    kind text NOT NULL,
    entity_type text NOT NULL,
    entity_id bigint NOT NULL,
    payload jsonb NOT NULL,
    actor text NOT NULL,
    request_id text,
    occurred_at timestamptz NOT NULL,
    -- Identity values are handed out before commit, so a smaller id can become visible after a
    -- larger one. Subscribers therefore read in (writing transaction, id) order and only up to the
    -- oldest transaction still running: nothing can later appear behind their position.
    xact_id bigint NOT NULL DEFAULT (pg_current_xact_id()::text::bigint),
    PRIMARY KEY (workspace_id, id)
);
CREATE INDEX domain_events_position ON domain_events (xact_id, id);

CREATE TABLE subscriber_positions (
    subscriber text PRIMARY KEY,
    xact_id bigint NOT NULL,
    event_id bigint NOT NULL,
    -- One instance at a time delivers to a subscriber, so its handler sees events in order.
    leased_by text,
    lease_expires_at timestamptz,
    last_error text,
    updated_at timestamptz NOT NULL
);

CREATE TABLE jobs (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    queue text NOT NULL,
    kind text NOT NULL,
    payload jsonb NOT NULL,
    workspace_id bigint REFERENCES workspaces (id) ON DELETE CASCADE,
    priority integer NOT NULL DEFAULT 0,
    status text NOT NULL CHECK (status IN ('queued', 'running', 'done', 'dead')),
    attempts integer NOT NULL DEFAULT 0,
    max_attempts integer NOT NULL,
    run_at timestamptz NOT NULL,
    dedupe_key text,
    locked_by text,
    lease_expires_at timestamptz,
    last_error text,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    finished_at timestamptz
);
CREATE INDEX jobs_claim ON jobs (queue, priority DESC, run_at, id) WHERE status = 'queued';
CREATE INDEX jobs_leases ON jobs (lease_expires_at) WHERE status = 'running';
CREATE UNIQUE INDEX jobs_dedupe ON jobs (dedupe_key) WHERE status IN ('queued', 'running');
CREATE INDEX jobs_status ON jobs (status, updated_at);

CREATE TABLE schedule_slots (
    name text NOT NULL,
    slot timestamptz NOT NULL,
    job_id bigint NOT NULL,
    PRIMARY KEY (name, slot)
);
