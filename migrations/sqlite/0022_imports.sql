-- Imports: an uploaded file (kept under the data directory until the import is undone or
-- removed), how its columns map onto fields, and the run's progress. `next_row` is the first
-- data row not yet committed; each batch moves it in the transaction that writes the batch's
-- records, so a restarted run resumes exactly there and no row is written twice.
CREATE TABLE imports (
    id INTEGER PRIMARY KEY,
    workspace_id INTEGER NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    user_id INTEGER NOT NULL,
    object TEXT NOT NULL CHECK (object IN ('people', 'companies')),
    file_name TEXT NOT NULL,
    file_size INTEGER NOT NULL,
    format TEXT NOT NULL CHECK (format IN ('csv', 'xlsx', 'vcard')),
    headers TEXT NOT NULL,
    estimated_rows INTEGER NOT NULL,
    settings TEXT NOT NULL,
    caller TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('draft', 'queued', 'running', 'done', 'failed', 'cancelled', 'undoing', 'undone')),
    dry_run BOOLEAN NOT NULL DEFAULT FALSE,
    next_row INTEGER NOT NULL DEFAULT 1,
    created INTEGER NOT NULL DEFAULT 0,
    updated INTEGER NOT NULL DEFAULT 0,
    unchanged INTEGER NOT NULL DEFAULT 0,
    rejected INTEGER NOT NULL DEFAULT 0,
    error TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    started_at TEXT,
    finished_at TEXT,
    FOREIGN KEY (workspace_id, user_id) REFERENCES memberships (workspace_id, user_id)
);
CREATE INDEX imports_workspace ON imports (workspace_id, id);

-- What each committed row did: the record it created, or the record it changed with the fields
-- as they were before, so an undo removes the one and restores the other.
CREATE TABLE import_records (
    workspace_id INTEGER NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    import_id INTEGER NOT NULL REFERENCES imports (id) ON DELETE CASCADE,
    row_number INTEGER NOT NULL,
    record_id INTEGER NOT NULL,
    action TEXT NOT NULL CHECK (action IN ('created', 'updated')),
    before TEXT,
    PRIMARY KEY (workspace_id, import_id, row_number)
) WITHOUT ROWID;

-- Rows refused, one line per bad column (`column_name` empty when the row as a whole was
-- refused): the downloadable error report.
CREATE TABLE import_rejections (
    id INTEGER PRIMARY KEY,
    workspace_id INTEGER NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    import_id INTEGER NOT NULL REFERENCES imports (id) ON DELETE CASCADE,
    row_number INTEGER NOT NULL,
    column_name TEXT NOT NULL,
    reason TEXT NOT NULL
);
CREATE INDEX import_rejections_import ON import_rejections (workspace_id, import_id, row_number);

-- Mapping templates: a named column-to-field mapping to apply to the next file of the same kind.
CREATE TABLE import_templates (
    id INTEGER PRIMARY KEY,
    workspace_id INTEGER NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    object TEXT NOT NULL CHECK (object IN ('people', 'companies')),
    name TEXT NOT NULL,
    mapping TEXT NOT NULL,
    created_at TEXT NOT NULL,
    UNIQUE (workspace_id, object, name)
);
