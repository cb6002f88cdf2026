-- The platform's tables: tenants and the people who sign in, the domain-event outbox with
-- per-subscriber progress, durable jobs and the recurring-job slots.

CREATE TABLE workspaces (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    created_at TEXT NOT NULL
);

CREATE TABLE users (
    id INTEGER PRIMARY KEY,
    email TEXT NOT NULL,
    email_canonical TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    created_at TEXT NOT NULL
);

CREATE TABLE memberships (
    workspace_id INTEGER NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (workspace_id, user_id)
);

CREATE TABLE instance_settings (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE domain_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    workspace_id INTEGER NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    entity_type TEXT NOT NULL,
    entity_id INTEGER NOT NULL,
    payload TEXT NOT NULL,
    actor TEXT NOT NULL,
    request_id TEXT,
    occurred_at TEXT NOT NULL,
    -- SQLite commits one writer at a time, so ids become visible in order and the transaction
    -- position is constant; PostgreSQL records the writing transaction here.
    xact_id INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX domain_events_position ON domain_events (xact_id, id);

CREATE TABLE subscriber_positions (
    subscriber TEXT PRIMARY KEY,
    xact_id INTEGER NOT NULL,
    event_id INTEGER NOT NULL,
    -- One instance at a time delivers to a subscriber, so its handler sees events in order.
    leased_by TEXT,
    lease_expires_at TEXT,
    last_error TEXT,
    updated_at TEXT NOT NULL
);

CREATE TABLE jobs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    queue TEXT NOT NULL,
    kind TEXT NOT NULL,
    payload TEXT NOT NULL,
    workspace_id INTEGER REFERENCES workspaces (id) ON DELETE CASCADE,
    priority INTEGER NOT NULL DEFAULT 0,
    status TEXT NOT NULL CHECK (status IN ('queued', 'running', 'done', 'dead')),
    attempts INTEGER NOT NULL DEFAULT 0,
    max_attempts INTEGER NOT NULL,
    run_at TEXT NOT NULL,
    dedupe_key TEXT,
    locked_by TEXT,
    lease_expires_at TEXT,
    last_error TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    finished_at TEXT
);
CREATE INDEX jobs_claim ON jobs (queue, priority DESC, run_at, id) WHERE status = 'queued';
CREATE INDEX jobs_leases ON jobs (lease_expires_at) WHERE status = 'running';
CREATE UNIQUE INDEX jobs_dedupe ON jobs (dedupe_key) WHERE status IN ('queued', 'running');
CREATE INDEX jobs_status ON jobs (status, updated_at);

CREATE TABLE schedule_slots (
    name TEXT NOT NULL,
    slot TEXT NOT NULL,
    job_id INTEGER NOT NULL,
    PRIMARY KEY (name, slot)
);
