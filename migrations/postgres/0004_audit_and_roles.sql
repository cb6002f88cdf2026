-- The audit trail and the security log: append-only rows, hash-chained per (workspace, log).
-- Each row stores the previous row's hash and its own hash over a canonical encoding of every
-- column, so a changed, inserted or deleted row breaks the chain. `audit_heads` holds each
-- chain's latest position and hash; an append updates its head row first, which locks it until
-- commit, so concurrent writers of one workspace queue there instead of forking the chain.
-- After pruning, the head keeps the hash of the last pruned row so that what remains still
-- verifies. `changes` is text, not jsonb: the hash covers its exact bytes, which jsonb would
-- re-encode.

CREATE TABLE audit_heads (
    workspace_id bigint NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    log text NOT NULL CHECK (log IN ('audit', 'security')),
    seq bigint NOT NULL,
    hash text NOT NULL,
    pruned_seq bigint NOT NULL DEFAULT 0,
    pruned_hash text NOT NULL DEFAULT '',
    PRIMARY KEY (workspace_id, log)
);

CREATE TABLE audit_rows (
    workspace_id bigint NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    log text NOT NULL CHECK (log IN ('audit', 'security')),
    seq bigint NOT NULL,
    at timestamptz NOT NULL,
    actor text NOT NULL,
    actor_user_id bigint,
    request_id text,
    entity text NOT NULL,
    entity_id bigint NOT NULL,
    action text NOT NULL,
    changes text NOT NULL,
    prev_hash text NOT NULL,
    hash text NOT NULL,
    PRIMARY KEY (workspace_id, log, seq)
);
CREATE INDEX audit_rows_entity ON audit_rows (workspace_id, log, entity, entity_id, seq);
CREATE INDEX audit_rows_actor ON audit_rows (workspace_id, log, actor_user_id, seq);
