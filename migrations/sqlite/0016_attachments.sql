-- Files attached to a person or a company. The bytes live in the data directory under
-- attachments/<workspace>/<storage_key>, written and synced before the row commits; this row is
-- what makes a file visible. A file without a row (a failed commit, a purge interrupted before
-- its files went) is removed by the sweep job. When the record is purged, a subscriber to its
-- `.purged` domain event removes its rows and then their files.

CREATE TABLE attachments (
    id INTEGER PRIMARY KEY,
    workspace_id INTEGER NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    target_type TEXT NOT NULL CHECK (target_type IN ('person', 'company')),
    target_id INTEGER NOT NULL,
    file_name TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size_bytes INTEGER NOT NULL CHECK (size_bytes > 0),
    sha256 TEXT NOT NULL,
    storage_key TEXT NOT NULL UNIQUE,
    uploaded_by INTEGER,
    uploader_email TEXT,
    created_at TEXT NOT NULL
);
CREATE INDEX attachments_target ON attachments (workspace_id, target_type, target_id, id);
