-- Custom fields: a workspace's own fields on people and companies. A definition is kept for
-- good once created: retiring hides it (its values stay), renaming changes its key and label
-- only, because records store values under the definition's id, never its key.
--
-- `custom_values` repeats each stored value in a typed, indexed form, one row per value (one
-- per option of a multi select), so that filters and sorts on a custom field read an index
-- range instead of scanning records. `unique_value` is set only for fields that must be unique
-- and makes the uniqueness the database's to enforce, even between concurrent writes.

CREATE TABLE custom_fields (
    id INTEGER PRIMARY KEY,
    workspace_id INTEGER NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    object TEXT NOT NULL,
    key TEXT NOT NULL,
    label TEXT NOT NULL,
    kind TEXT NOT NULL,
    options TEXT NOT NULL DEFAULT '[]',
    target TEXT,
    required INTEGER NOT NULL DEFAULT 0,
    is_unique INTEGER NOT NULL DEFAULT 0,
    default_value TEXT,
    help TEXT,
    position INTEGER NOT NULL,
    retired_at TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE UNIQUE INDEX custom_fields_key ON custom_fields (workspace_id, object, key);

ALTER TABLE people ADD COLUMN custom TEXT NOT NULL DEFAULT '{}';
ALTER TABLE companies ADD COLUMN custom TEXT NOT NULL DEFAULT '{}';

CREATE TABLE custom_values (
    workspace_id INTEGER NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    field_id INTEGER NOT NULL REFERENCES custom_fields (id) ON DELETE CASCADE,
    object TEXT NOT NULL,
    record_id INTEGER NOT NULL,
    text_value TEXT,
    number_value REAL,
    unique_value TEXT
);
CREATE INDEX custom_values_text ON custom_values (workspace_id, field_id, text_value, record_id);
CREATE INDEX custom_values_number ON custom_values (workspace_id, field_id, number_value, record_id);
CREATE INDEX custom_values_record ON custom_values (workspace_id, object, record_id);
CREATE UNIQUE INDEX custom_values_unique ON custom_values (workspace_id, field_id, unique_value)
    WHERE unique_value IS NOT NULL;

-- Saved list views: a filter tree, a sort and columns, private to their owner or shared.
CREATE TABLE saved_views (
    id INTEGER PRIMARY KEY,
    workspace_id INTEGER NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    object TEXT NOT NULL,
    name TEXT NOT NULL,
    owner_id INTEGER NOT NULL,
    shared INTEGER NOT NULL DEFAULT 0,
    filter TEXT,
    sort TEXT,
    columns TEXT NOT NULL DEFAULT '[]',
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX saved_views_object ON saved_views (workspace_id, object);

-- The sorts lists offer: each an index range in either direction (the rowid follows).
CREATE INDEX people_last_name ON people (workspace_id, last_name);
CREATE INDEX people_first_name ON people (workspace_id, first_name);
CREATE INDEX people_updated ON people (workspace_id, updated_at);
CREATE INDEX companies_name ON companies (workspace_id, name);
CREATE INDEX companies_updated ON companies (workspace_id, updated_at);
