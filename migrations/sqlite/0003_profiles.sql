-- Customer profiles: people, with their contact details kept on the row (labelled emails and
-- phones as JSON arrays; the primary email and phone copied to columns for lookups and sorting),
-- the index a record's timeline reads its events by, and the responses of idempotent creates.
-- The owner must be a member of the workspace: the foreign key to memberships says so without
-- any code asking.

CREATE TABLE people (
    id INTEGER PRIMARY KEY,
    workspace_id INTEGER NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    first_name TEXT,
    last_name TEXT,
    email TEXT,
    email_canonical TEXT,
    phone TEXT,
    emails TEXT NOT NULL DEFAULT '[]',
    phones TEXT NOT NULL DEFAULT '[]',
    birthday TEXT,
    street TEXT,
    street2 TEXT,
    city TEXT,
    region TEXT,
    postal_code TEXT,
    country TEXT,
    language TEXT,
    time_zone TEXT,
    currency TEXT,
    lifecycle_stage TEXT,
    owner_id INTEGER,
    source TEXT,
    tags TEXT NOT NULL DEFAULT '[]',
    social TEXT NOT NULL DEFAULT '{}',
    external_id TEXT,
    version INTEGER NOT NULL DEFAULT 1,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    deleted_at TEXT,
    FOREIGN KEY (workspace_id, owner_id) REFERENCES memberships (workspace_id, user_id)
);
CREATE UNIQUE INDEX people_external_id ON people (workspace_id, external_id) WHERE external_id IS NOT NULL;
CREATE INDEX people_email ON people (workspace_id, email_canonical);
CREATE INDEX people_phone ON people (workspace_id, phone);
CREATE INDEX people_trash ON people (deleted_at) WHERE deleted_at IS NOT NULL;

-- A record's timeline reads its domain events newest first.
CREATE INDEX domain_events_entity ON domain_events (workspace_id, entity_type, entity_id, id);

CREATE TABLE idempotency_keys (
    workspace_id INTEGER NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    key TEXT NOT NULL,
    route TEXT NOT NULL,
    status INTEGER NOT NULL,
    body TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (workspace_id, key)
);
