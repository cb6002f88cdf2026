-- Reach `own` and `team` list companies by their owner: `owner_id IN (…)` within one workspace.
CREATE INDEX companies_owner ON companies (workspace_id, owner_id);
