-- Custom fields: a workspace's own fields on people and companies. A definition is kept for
-- good once created: retiring hides it (its values stay), renaming changes its key and label
-- only, because records store values under the definition's id, never its key.
--
-- `custom_values` repeats each stored value in a typed, indexed form, one row per value (one
-- per option of a multi select), so that filters and sorts on a custom field read an index
-- range instead of scanning records. `unique_value` is set only for fields that must be unique
-- and makes the uniqueness the database's to enforce, even between concurrent writes.

CREATE TABLE custom_fields (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    workspace_id bigint NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    object text NOT NULL,
    key text NOT NULL,
    label text NOT NULL,
    kind text NOT NULL,
    options jsonb NOT NULL DEFAULT '[]',
    target text,
    required boolean NOT NULL DEFAULT false,
    is_unique boolean NOT NULL DEFAULT false,
    default_value jsonb,
    help text,
    position bigint NOT NULL,
    retired_at timestamptz,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL
);
CREATE UNIQUE INDEX custom_fields_key ON custom_fields (workspace_id, object, key);

ALTER TABLE people ADD COLUMN custom jsonb NOT NULL DEFAULT '{}';
ALTER TABLE companies ADD COLUMN custom jsonb NOT NULL DEFAULT '{}';

CREATE TABLE custom_values (
    workspace_id bigint NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    field_id bigint NOT NULL REFERENCES custom_fields (id) ON DELETE CASCADE,
    object text NOT NULL,
    record_id bigint NOT NULL,
    text_value text,
    number_value double precision,
    unique_value text
);
CREATE INDEX custom_values_text ON custom_values (workspace_id, field_id, text_value, record_id);
CREATE INDEX custom_values_number ON custom_values (workspace_id, field_id, number_value, record_id);
CREATE INDEX custom_values_record ON custom_values (workspace_id, object, record_id);
CREATE UNIQUE INDEX custom_values_unique ON custom_values (workspace_id, field_id, unique_value)
    WHERE unique_value IS NOT NULL;

-- Saved list views: a filter tree, a sort and columns, private to their owner or shared.
CREATE TABLE saved_views (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    workspace_id bigint NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    object text NOT NULL,
    name text NOT NULL,
    owner_id bigint NOT NULL,
    shared boolean NOT NULL DEFAULT false,
    filter jsonb,
    sort text,
    columns jsonb NOT NULL DEFAULT '[]',
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL
);
CREATE INDEX saved_views_object ON saved_views (workspace_id, object);

-- The sorts lists offer: each an index range in either direction.
CREATE INDEX people_last_name ON people (workspace_id, last_name, id);
CREATE INDEX people_first_name ON people (workspace_id, first_name, id);
CREATE INDEX people_updated ON people (workspace_id, updated_at, id);
CREATE INDEX companies_name ON companies (workspace_id, name, id);
CREATE INDEX companies_updated ON companies (workspace_id, updated_at, id);
