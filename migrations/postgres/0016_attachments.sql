-- Files attached to a person or a company. The bytes live in the data directory under
-- attachments/<workspace>/<storage_key>, written and synced before the row commits; this row is
-- what makes a file visible. A file without a row (a failed commit, a purge interrupted before
-- its files went) is removed by the sweep job. When the record is purged, a subscriber to its
-- `.purged` domain event removes its rows and then their files.

CREATE TABLE attachments (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    workspace_id bigint NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    target_type text NOT NULL CHECK (target_type IN ('person', 'company')),
    target_id bigint NOT NULL,
    file_name text NOT NULL,
    content_type text NOT NULL,
    size_bytes bigint NOT NULL CHECK (size_bytes > 0),
    sha256 text NOT NULL,
    storage_key text NOT NULL UNIQUE,
    uploaded_by bigint,
    uploader_email text,
    created_at timestamptz NOT NULL
);
CREATE INDEX attachments_target ON attachments (workspace_id, target_type, target_id, id);
