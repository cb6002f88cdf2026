-- Possible duplicates an import found among the rows that would create people: how many (on
-- the import), and for the rows created with a warning, whom each probably duplicates. The
-- duplicate is a person (`duplicate_id`), or in a dry run, which creates no one, an earlier
-- row of the file (`duplicate_row`). A row refused as a duplicate is in `import_rejections`.
ALTER TABLE imports ADD COLUMN possible_duplicates bigint NOT NULL DEFAULT 0;

CREATE TABLE import_duplicates (
    workspace_id bigint NOT NULL,
    import_id bigint NOT NULL,
    row_number bigint NOT NULL,
    duplicate_id bigint,
    duplicate_row bigint,
    duplicate_name text NOT NULL,
    score double precision NOT NULL,
    reasons jsonb NOT NULL,
    PRIMARY KEY (workspace_id, import_id, row_number),
    FOREIGN KEY (workspace_id, import_id) REFERENCES imports (workspace_id, id) ON DELETE CASCADE,
    CHECK ((duplicate_id IS NULL) <> (duplicate_row IS NULL))
);
