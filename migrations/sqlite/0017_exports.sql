-- Exports of the people or companies list: who asked for which filter in which format, what
-- the caller's access was when they asked (the job runs as them), the job's progress, and when
-- the download link expires. The file lives in the data directory until the sweep job removes
-- it; the link is signed, so no token is stored.
CREATE TABLE exports (
    id INTEGER PRIMARY KEY,
    workspace_id INTEGER NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    user_id INTEGER NOT NULL,
    object TEXT NOT NULL CHECK (object IN ('people', 'companies')),
    format TEXT NOT NULL CHECK (format IN ('csv', 'jsonl', 'xlsx', 'vcard')),
    filter TEXT NOT NULL,
    caller TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('queued', 'running', 'done', 'failed', 'expired')),
    rows_done INTEGER NOT NULL DEFAULT 0,
    rows_total INTEGER,
    bytes INTEGER,
    error TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    finished_at TEXT,
    expires_at TEXT,
    FOREIGN KEY (workspace_id, user_id) REFERENCES memberships (workspace_id, user_id)
);
CREATE INDEX exports_user ON exports (workspace_id, user_id, id);
CREATE INDEX exports_expiry ON exports (status, expires_at);
