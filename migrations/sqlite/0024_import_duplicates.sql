-- Possible duplicates an import found among the rows that would create people: how many (on
-- the import), and for the rows created with a warning, whom each probably duplicates. The
-- duplicate is a person (`duplicate_id`), or in a dry run, which creates no one, an earlier
-- row of the file (`duplicate_row`). A row refused as a duplicate is in `import_rejections`.
ALTER TABLE imports ADD COLUMN possible_duplicates INTEGER NOT NULL DEFAULT 0;

CREATE TABLE import_duplicates (
    workspace_id INTEGER NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    import_id INTEGER NOT NULL REFERENCES imports (id) ON DELETE CASCADE,
    row_number INTEGER NOT NULL,
    duplicate_id INTEGER,
    duplicate_row INTEGER,
    duplicate_name TEXT NOT NULL,
    score REAL NOT NULL,
    reasons TEXT NOT NULL,
    PRIMARY KEY (workspace_id, import_id, row_number),
    CHECK ((duplicate_id IS NULL) <> (duplicate_row IS NULL))
) WITHOUT ROWID;
