-- Customer profiles: people, with their contact details kept on the row (labelled emails and
-- phones as JSON arrays; the primary email and phone copied to columns for lookups and sorting),
-- the index a record's timeline reads its events by, and the responses of idempotent creates.
-- The owner must be a member of the workspace: the foreign key to memberships says so without
-- any code asking.

CREATE TABLE people (
    id bigint GENERATED ALWAYS AS IDENTITY,
    workspace_id bigint NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    first_name text,
    last_name text,
    email text,
    email_canonical text,
    phone text,
    emails jsonb NOT NULL DEFAULT '[]',
    phones jsonb NOT NULL DEFAULT '[]',
    birthday date,
    street text,
    street2 text,
    city text,
    region text,
    postal_code text,
    country text,
    language text,
    time_zone text,
    currency text,
    lifecycle_stage text,
    owner_id bigint,
    source text,
    tags jsonb NOT NULL DEFAULT '[]',
    social jsonb NOT NULL DEFAULT '{}',
    external_id text,
    version bigint NOT NULL DEFAULT 1,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    deleted_at timestamptz,
    PRIMARY KEY (workspace_id, id),
    FOREIGN KEY (workspace_id, owner_id) REFERENCES memberships (workspace_id, user_id)
);
CREATE UNIQUE INDEX people_external_id ON people (workspace_id, external_id) WHERE external_id IS NOT NULL;
CREATE INDEX people_email ON people (workspace_id, email_canonical);
CREATE INDEX people_phone ON people (workspace_id, phone);
CREATE INDEX people_trash ON people (deleted_at) WHERE deleted_at IS NOT NULL;

-- A record's timeline reads its domain events newest first.
CREATE INDEX domain_events_entity ON domain_events (workspace_id, entity_type, entity_id, id);

CREATE TABLE idempotency_keys (
    workspace_id bigint NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    key text NOT NULL,
    route text NOT NULL,
    status integer NOT NULL,
    body jsonb NOT NULL,
    created_at timestamptz NOT NULL,
    PRIMARY KEY (workspace_id, key)
);
