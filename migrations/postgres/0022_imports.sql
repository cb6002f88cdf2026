-- Imports: an uploaded file (kept under the data directory until the import is undone or
-- removed), how its columns map onto fields, and the run's progress. `next_row` is the first
-- data row not yet committed; each batch moves it in the transaction that writes the batch's
-- records, so a restarted run resumes exactly there and no row is written twice.
CREATE TABLE imports (
    id bigint GENERATED ALWAYS AS IDENTITY,
    workspace_id bigint NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    user_id bigint NOT NULL,
    object text NOT NULL CHECK (object IN ('people', 'companies')),
    file_name text NOT NULL,
    file_size bigint NOT NULL,
    format text NOT NULL CHECK (format IN ('csv', 'xlsx', 'vcard')),
    headers jsonb NOT NULL,
    estimated_rows bigint NOT NULL,
    settings jsonb NOT NULL,
    caller jsonb NOT NULL,
    status text NOT NULL CHECK (status IN ('draft', 'queued', 'running', 'done', 'failed', 'cancelled', 'undoing', 'undone')),
    dry_run boolean NOT NULL DEFAULT FALSE,
    next_row bigint NOT NULL DEFAULT 1,
    created bigint NOT NULL DEFAULT 0,
    updated bigint NOT NULL DEFAULT 0,
    unchanged bigint NOT NULL DEFAULT 0,
    rejected bigint NOT NULL DEFAULT 0,
    error text,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    started_at timestamptz,
    finished_at timestamptz,
    PRIMARY KEY (workspace_id, id),
    FOREIGN KEY (workspace_id, user_id) REFERENCES memberships (workspace_id, user_id)
);

-- What each committed row did: the record it created, or the record it changed with the fields
-- as they were before, so an undo removes the one and restores the other.
CREATE TABLE import_records (
    workspace_id bigint NOT NULL,
    import_id bigint NOT NULL,
    row_number bigint NOT NULL,
    record_id bigint NOT NULL,
    action text NOT NULL CHECK (action IN ('created', 'updated')),
    before jsonb,
    PRIMARY KEY (workspace_id, import_id, row_number),
    FOREIGN KEY (workspace_id, import_id) REFERENCES imports (workspace_id, id) ON DELETE CASCADE
);

-- Rows refused, one line per bad column (`column_name` empty when the row as a whole was
-- refused): the downloadable error report.
CREATE TABLE import_rejections (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    workspace_id bigint NOT NULL,
    import_id bigint NOT NULL,
    row_number bigint NOT NULL,
    column_name text NOT NULL,
    reason text NOT NULL,
    FOREIGN KEY (workspace_id, import_id) REFERENCES imports (workspace_id, id) ON DELETE CASCADE
);
CREATE INDEX import_rejections_import ON import_rejections (workspace_id, import_id, row_number);

-- Mapping templates: a named column-to-field mapping to apply to the next file of the same kind.
CREATE TABLE import_templates (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    workspace_id bigint NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    object text NOT NULL CHECK (object IN ('people', 'companies')),
    name text NOT NULL,
    mapping jsonb NOT NULL,
    created_at timestamptz NOT NULL,
    UNIQUE (workspace_id, object, name)
);
