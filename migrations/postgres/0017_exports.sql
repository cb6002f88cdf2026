-- Exports of the people or companies list: who asked for which filter in which format, what
-- the caller's access was when they asked (the job runs as them), the job's progress, and when
-- the download link expires. The file lives in the data directory until the sweep job removes
-- it; the link is signed, so no token is stored.
CREATE TABLE exports (
    id bigint GENERATED ALWAYS AS IDENTITY,
    workspace_id bigint NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    user_id bigint NOT NULL,
    object text NOT NULL CHECK (object IN ('people', 'companies')),
    format text NOT NULL CHECK (format IN ('csv', 'jsonl', 'xlsx', 'vcard')),
    filter jsonb NOT NULL,
    caller jsonb NOT NULL,
    status text NOT NULL CHECK (status IN ('queued', 'running', 'done', 'failed', 'expired')),
    rows_done bigint NOT NULL DEFAULT 0,
    rows_total bigint,
    bytes bigint,
    error text,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    finished_at timestamptz,
    expires_at timestamptz,
    PRIMARY KEY (workspace_id, id),
    FOREIGN KEY (workspace_id, user_id) REFERENCES memberships (workspace_id, user_id)
);
CREATE INDEX exports_user ON exports (workspace_id, user_id, id);
CREATE INDEX exports_expiry ON exports (status, expires_at);
