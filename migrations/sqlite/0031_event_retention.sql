-- How long a workspace keeps its raw events. Past `keep_months` the hourly retention job deletes
-- them, a batch at a time; with `roll_up` it first adds them to `event_rollups`, one row per
-- day (UTC), type and name, so trends over the years stay. Per-person aggregates
-- (`person_activity`, `person_event_counts`) are counters kept as events arrive and are not
-- touched: a customer's history in numbers outlives the raw events.

CREATE TABLE event_retention (
    workspace_id INTEGER PRIMARY KEY REFERENCES workspaces (id) ON DELETE CASCADE,
    keep_months INTEGER NOT NULL CHECK (keep_months BETWEEN 1 AND 120),
    roll_up BOOLEAN NOT NULL,
    updated_at TEXT NOT NULL
);

CREATE TABLE event_rollups (
    workspace_id INTEGER NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    day TEXT NOT NULL,
    type TEXT NOT NULL,
    name TEXT NOT NULL,
    events INTEGER NOT NULL,
    PRIMARY KEY (workspace_id, day, type, name)
);
