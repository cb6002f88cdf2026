-- Bulk actions on people or companies: who asked for which action on which selection (explicit
-- ids, or a filter tree evaluated batch by batch), the caller's access when they asked (the job
-- runs as them), and the job's progress. `last_id` is the highest record id processed: a run
-- that was interrupted resumes after it. `errors` holds a capped sample of failed records.
CREATE TABLE bulk_jobs (
    id bigint GENERATED ALWAYS AS IDENTITY,
    workspace_id bigint NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    user_id bigint NOT NULL,
    object text NOT NULL CHECK (object IN ('people', 'companies')),
    action text NOT NULL CHECK (action IN ('add_tag', 'remove_tag', 'set_owner', 'set_field', 'delete', 'export')),
    argument jsonb NOT NULL,
    selection jsonb NOT NULL,
    caller jsonb NOT NULL,
    status text NOT NULL CHECK (status IN ('queued', 'running', 'done', 'failed', 'cancelled')),
    total bigint NOT NULL DEFAULT 0,
    done bigint NOT NULL DEFAULT 0,
    failed bigint NOT NULL DEFAULT 0,
    last_id bigint NOT NULL DEFAULT 0,
    errors jsonb NOT NULL DEFAULT '[]',
    error text,
    export_id bigint,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    finished_at timestamptz,
    PRIMARY KEY (workspace_id, id),
    FOREIGN KEY (workspace_id, user_id) REFERENCES memberships (workspace_id, user_id),
    FOREIGN KEY (workspace_id, export_id) REFERENCES exports (workspace_id, id)
);
CREATE INDEX bulk_jobs_user ON bulk_jobs (workspace_id, user_id, id);
