-- Bulk actions on people or companies: who asked for which action on which selection (explicit
-- ids, or a filter tree evaluated batch by batch), the caller's access when they asked (the job
-- runs as them), and the job's progress. `last_id` is the highest record id processed: a run
-- that was interrupted resumes after it. `errors` holds a capped sample of failed records.
CREATE TABLE bulk_jobs (
    id INTEGER PRIMARY KEY,
    workspace_id INTEGER NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    user_id INTEGER NOT NULL,
    object TEXT NOT NULL CHECK (object IN ('people', 'companies')),
    action TEXT NOT NULL CHECK (action IN ('add_tag', 'remove_tag', 'set_owner', 'set_field', 'delete', 'export')),
    argument TEXT NOT NULL,
    selection TEXT NOT NULL,
    caller TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('queued', 'running', 'done', 'failed', 'cancelled')),
    total INTEGER NOT NULL DEFAULT 0,
    done INTEGER NOT NULL DEFAULT 0,
    failed INTEGER NOT NULL DEFAULT 0,
    last_id INTEGER NOT NULL DEFAULT 0,
    errors TEXT NOT NULL DEFAULT '[]',
    error TEXT,
    export_id INTEGER REFERENCES exports (id),
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    finished_at TEXT,
    FOREIGN KEY (workspace_id, user_id) REFERENCES memberships (workspace_id, user_id)
);
CREATE INDEX bulk_jobs_user ON bulk_jobs (workspace_id, user_id, id);
