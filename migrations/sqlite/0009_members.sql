-- Members and invitations: an email address proven by a link, a membership that can be
-- deactivated without deleting it (its history keeps pointing at the member), and invitations
-- to join a workspace. Only the SHA-256 of a link's token is stored; a link is spent by setting
-- its used_at / accepted_at, so it works once even if two requests race.

ALTER TABLE users ADD COLUMN email_verified_at TEXT;
ALTER TABLE memberships ADD COLUMN deactivated_at TEXT;

CREATE TABLE email_verifications (
    token_hash TEXT PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    used_at TEXT
);
CREATE INDEX email_verifications_user ON email_verifications (user_id);

CREATE TABLE invitations (
    id INTEGER PRIMARY KEY,
    workspace_id INTEGER NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    email TEXT NOT NULL,
    email_canonical TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('owner', 'admin', 'manager', 'member', 'viewer')),
    role_id INTEGER REFERENCES roles (id) ON DELETE SET NULL,
    token_hash TEXT NOT NULL,
    invited_by INTEGER REFERENCES users (id) ON DELETE SET NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    accepted_at TEXT,
    accepted_by INTEGER REFERENCES users (id) ON DELETE SET NULL,
    revoked_at TEXT
);
CREATE UNIQUE INDEX invitations_token ON invitations (workspace_id, token_hash);
CREATE INDEX invitations_email ON invitations (workspace_id, email_canonical);
