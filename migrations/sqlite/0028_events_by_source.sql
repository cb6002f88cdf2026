-- A source's page counts its events, and deleting a source cascades to them: both find a
-- source's events by this index rather than reading all the workspace's.

CREATE INDEX events_source ON events (workspace_id, source_id);
