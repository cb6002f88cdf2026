-- Members and invitations: an email address proven by a link, a membership that can be
-- deactivated without deleting it (its history keeps pointing at the member), and invitations
-- to join a workspace. Only the SHA-256 of a link's token is stored; a link is spent by setting
-- its used_at / accepted_at, so it works once even if two requests race.

ALTER TABLE users ADD COLUMN email_verified_at timestamptz;
ALTER TABLE memberships ADD COLUMN deactivated_at timestamptz;

CREATE TABLE email_verifications (
    token_hash text PRIMARY KEY,
    user_id bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    used_at timestamptz
);
CREATE INDEX email_verifications_user ON email_verifications (user_id);

CREATE TABLE invitations (
    workspace_id bigint NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    id bigint GENERATED ALWAYS AS IDENTITY,
    email text NOT NULL,
    email_canonical text NOT NULL,
    role text NOT NULL CHECK (role IN ('owner', 'admin', 'manager', 'member', 'viewer')),
    role_id bigint,
    token_hash text NOT NULL,
    invited_by bigint REFERENCES users (id) ON DELETE SET NULL,
    created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    accepted_at timestamptz,
    accepted_by bigint REFERENCES users (id) ON DELETE SET NULL,
    revoked_at timestamptz,
    PRIMARY KEY (workspace_id, id),
    CONSTRAINT invitations_token UNIQUE (workspace_id, token_hash),
    CONSTRAINT invitations_role FOREIGN KEY (workspace_id, role_id)
        REFERENCES roles (workspace_id, id) ON DELETE SET NULL (role_id)
);
CREATE INDEX invitations_email ON invitations (workspace_id, email_canonical);
