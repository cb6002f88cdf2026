-- Reach `own` and `team` list people by their owner: `owner_id IN (…)` within one workspace.
CREATE INDEX people_owner ON people (workspace_id, owner_id);
