-- Accounts: single-use password reset links. Only the SHA-256 of a link's token is stored; a
-- link is spent by setting used_at, so it works once even if two requests race. Users belong to
-- no single workspace, so neither do their reset links.

CREATE TABLE password_resets (
    token_hash text PRIMARY KEY,
    user_id bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    used_at timestamptz
);
CREATE INDEX password_resets_user ON password_resets (user_id);

-- Per-address limits on sign-in and password reset: the current window of each (endpoint,
-- address), shared by every instance.
CREATE TABLE ip_limits (
    scope text NOT NULL,
    ip text NOT NULL,
    window_started_at timestamptz NOT NULL,
    hits integer NOT NULL,
    PRIMARY KEY (scope, ip)
);
