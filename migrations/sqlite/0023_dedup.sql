-- Duplicate detection. `dedup_keys` holds each person's blocking keys (hashed) so that a single
-- record is checked against the few people sharing a key, never against everyone; stale keys
-- of trashed or purged people are harmless, since lookups join the live people. `dedup_models`
-- keeps the model the last scan learnt, `dedup_pairs` the pairs it found, for review.
CREATE TABLE dedup_keys (
    workspace_id INTEGER NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    key INTEGER NOT NULL,
    person_id INTEGER NOT NULL,
    PRIMARY KEY (workspace_id, key, person_id)
) WITHOUT ROWID;

CREATE TABLE dedup_models (
    workspace_id INTEGER PRIMARY KEY REFERENCES workspaces (id) ON DELETE CASCADE,
    model TEXT NOT NULL,
    scanned_at TEXT NOT NULL
);

CREATE TABLE dedup_pairs (
    workspace_id INTEGER NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    person_a INTEGER NOT NULL,
    person_b INTEGER NOT NULL,
    score REAL NOT NULL,
    reasons TEXT NOT NULL,
    PRIMARY KEY (workspace_id, person_a, person_b)
) WITHOUT ROWID;
CREATE INDEX dedup_pairs_score ON dedup_pairs (workspace_id, score DESC, person_a, person_b);
CREATE INDEX dedup_pairs_b ON dedup_pairs (workspace_id, person_b);
