-- Activities attached to a person or a company: notes (sanitised HTML) and tasks (due time,
-- assignee, reminder, done). The record they belong to is named by type and id; when it is
-- purged, a subscriber to its `.purged` domain event removes them.

CREATE TABLE notes (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    workspace_id bigint NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    target_type text NOT NULL CHECK (target_type IN ('person', 'company')),
    target_id bigint NOT NULL,
    body text NOT NULL,
    author_id bigint,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL
);
CREATE INDEX notes_target ON notes (workspace_id, target_type, target_id, id);

CREATE TABLE tasks (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    workspace_id bigint NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    target_type text CHECK (target_type IN ('person', 'company')),
    target_id bigint,
    title text NOT NULL,
    due_at timestamptz,
    assignee_id bigint,
    remind_at timestamptz,
    reminded_at timestamptz,
    done_at timestamptz,
    created_by bigint,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    FOREIGN KEY (workspace_id, assignee_id) REFERENCES memberships (workspace_id, user_id)
);
CREATE INDEX tasks_target ON tasks (workspace_id, target_type, target_id, id);
CREATE INDEX tasks_assignee ON tasks (workspace_id, assignee_id, done_at, due_at);
