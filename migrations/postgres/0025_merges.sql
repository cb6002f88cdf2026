-- Merges of duplicate people. The person merged away stays as a trashed row pointing at the
-- survivor (`merged_into`), so the merge can be undone until the trash purges it; `merges`
-- keeps what an undo needs: the survivor's fields before and after, the external id the merged
-- person gave up, the records moved to the survivor and the pair as the queue showed it.
-- `merge_runs` are bulk merges of every queued pair above a score, run as a job.
ALTER TABLE people ADD COLUMN merged_into bigint;

CREATE TABLE merges (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    workspace_id bigint NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    survivor_id bigint NOT NULL,
    merged_id bigint NOT NULL,
    survivor_before jsonb NOT NULL,
    survivor_after jsonb NOT NULL,
    merged_external_id text,
    moved jsonb NOT NULL,
    pair jsonb,
    run_id bigint,
    actor text NOT NULL,
    merged_at timestamptz NOT NULL,
    undone_at timestamptz
);
CREATE INDEX merges_recent ON merges (workspace_id, id);
CREATE INDEX merges_merged ON merges (workspace_id, merged_id);

CREATE TABLE merge_runs (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    workspace_id bigint NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    user_id bigint NOT NULL,
    min_score double precision NOT NULL,
    caller jsonb NOT NULL,
    status text NOT NULL CHECK (status IN ('queued', 'running', 'done', 'failed')),
    merged bigint NOT NULL DEFAULT 0,
    skipped bigint NOT NULL DEFAULT 0,
    error text,
    created_at timestamptz NOT NULL,
    finished_at timestamptz,
    FOREIGN KEY (workspace_id, user_id) REFERENCES memberships (workspace_id, user_id)
);
