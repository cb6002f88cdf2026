-- Inventory: how many of each sku a workspace holds at each location, and a ledger that explains
-- every change. A sku with no level is not stocked: movements for it are ignored. Quantities may
-- go below zero (an oversold sku shows as such rather than refusing the order). A level whose
-- own threshold is null falls back to the workspace's default (5 when it has set none); the
-- bounds on quantities keep sums of movements inside 64-bit integers.

CREATE TABLE inventory_settings (
    workspace_id bigint PRIMARY KEY REFERENCES workspaces (id) ON DELETE CASCADE,
    low_stock_threshold bigint NOT NULL CHECK (low_stock_threshold >= 0),
    updated_at timestamptz NOT NULL
);

CREATE TABLE stock_levels (
    id bigint GENERATED ALWAYS AS IDENTITY,
    workspace_id bigint NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    sku text NOT NULL,
    location text NOT NULL,
    quantity bigint NOT NULL CHECK (quantity BETWEEN -1000000000000000 AND 1000000000000000),
    low_stock_threshold bigint CHECK (low_stock_threshold >= 0),
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    PRIMARY KEY (workspace_id, id),
    UNIQUE (workspace_id, sku, location)
);

CREATE TABLE stock_movements (
    id bigint GENERATED ALWAYS AS IDENTITY,
    workspace_id bigint NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    level_id bigint NOT NULL,
    sku text NOT NULL,
    location text NOT NULL,
    delta bigint NOT NULL,
    quantity_after bigint NOT NULL,
    reason text NOT NULL CHECK (reason IN ('set', 'adjust', 'order', 'cancel', 'return')),
    reference text,
    note text,
    actor text NOT NULL,
    at timestamptz NOT NULL,
    PRIMARY KEY (workspace_id, id),
    FOREIGN KEY (workspace_id, level_id) REFERENCES stock_levels (workspace_id, id) ON DELETE CASCADE
);
CREATE INDEX stock_movements_sku ON stock_movements (workspace_id, sku, id);
