-- Activities attached to a person or a company: notes (sanitised HTML) and tasks (due time,
-- assignee, reminder, done). The record they belong to is named by type and id; when it is
-- purged, a subscriber to its `.purged` domain event removes them.

CREATE TABLE notes (
    id INTEGER PRIMARY KEY,
    workspace_id INTEGER NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    target_type TEXT NOT NULL CHECK (target_type IN ('person', 'company')),
    target_id INTEGER NOT NULL,
    body TEXT NOT NULL,
    author_id INTEGER,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX notes_target ON notes (workspace_id, target_type, target_id, id);

CREATE TABLE tasks (
    id INTEGER PRIMARY KEY,
    workspace_id INTEGER NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    target_type TEXT CHECK (target_type IN ('person', 'company')),
    target_id INTEGER,
    title TEXT NOT NULL,
    due_at TEXT,
    assignee_id INTEGER,
    remind_at TEXT,
    reminded_at TEXT,
    done_at TEXT,
    created_by INTEGER,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    FOREIGN KEY (workspace_id, assignee_id) REFERENCES memberships (workspace_id, user_id)
);
CREATE INDEX tasks_target ON tasks (workspace_id, target_type, target_id, id);
CREATE INDEX tasks_assignee ON tasks (workspace_id, assignee_id, done_at, due_at);
