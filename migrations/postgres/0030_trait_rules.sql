-- A workspace's own rules for the traits of identify and group calls: which profile field (a
-- built-in one or a custom field's key) a trait fills, or that a trait is ignored (`field` NULL).
-- Rules come before the built-in mapping of Segment's reserved traits. `position` keeps them in
-- the order they were given.

CREATE TABLE trait_rules (
    workspace_id bigint NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    object text NOT NULL CHECK (object IN ('person', 'company')),
    trait text NOT NULL,
    field text,
    position bigint NOT NULL,
    PRIMARY KEY (workspace_id, object, trait)
);
