-- Accounts: single-use password reset links. Only the SHA-256 of a link's token is stored; a
-- link is spent by setting used_at, so it works once even if two requests race.

CREATE TABLE password_resets (
    token_hash TEXT PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    used_at TEXT
);
CREATE INDEX password_resets_user ON password_resets (user_id);

-- Per-address limits on sign-in and password reset: the current window of each (endpoint,
-- address), shared by every instance.
CREATE TABLE ip_limits (
    scope TEXT NOT NULL,
    ip TEXT NOT NULL,
    window_started_at TEXT NOT NULL,
    hits INTEGER NOT NULL,
    PRIMARY KEY (scope, ip)
);
