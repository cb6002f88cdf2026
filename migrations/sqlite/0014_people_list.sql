-- The people list pages newest first by id, filtered by lifecycle stage or not: indexes that
-- serve both orders without sorting the workspace.
CREATE INDEX people_stage ON people (workspace_id, lifecycle_stage);
-- With the rowid implied after it, this index walks a workspace newest first without a sort.
CREATE INDEX people_workspace ON people (workspace_id);
