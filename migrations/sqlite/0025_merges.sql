-- Merges of duplicate people. The person merged away stays as a trashed row pointing at the
-- survivor (`merged_into`), so the merge can be undone until the trash purges it; `merges`
-- keeps what an undo needs: the survivor's fields before and after, the external id the merged
-- person gave up, the records moved to the survivor and the pair as the queue showed it.
-- `merge_runs` are bulk merges of every queued pair above a score, run as a job.
ALTER TABLE people ADD COLUMN merged_into INTEGER;

CREATE TABLE merges (
    id INTEGER PRIMARY KEY,
    workspace_id INTEGER NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    survivor_id INTEGER NOT NULL,
    merged_id INTEGER NOT NULL,
    survivor_before TEXT NOT NULL,
    survivor_after TEXT NOT NULL,
    merged_external_id TEXT,
    moved TEXT NOT NULL,
    pair TEXT,
    run_id INTEGER,
    actor TEXT NOT NULL,
    merged_at TEXT NOT NULL,
    undone_at TEXT
);
CREATE INDEX merges_recent ON merges (workspace_id, id);
CREATE INDEX merges_merged ON merges (workspace_id, merged_id);

CREATE TABLE merge_runs (
    id INTEGER PRIMARY KEY,
    workspace_id INTEGER NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    user_id INTEGER NOT NULL,
    min_score REAL NOT NULL,
    caller TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('queued', 'running', 'done', 'failed')),
    merged INTEGER NOT NULL DEFAULT 0,
    skipped INTEGER NOT NULL DEFAULT 0,
    error TEXT,
    created_at TEXT NOT NULL,
    finished_at TEXT,
    FOREIGN KEY (workspace_id, user_id) REFERENCES memberships (workspace_id, user_id)
);
