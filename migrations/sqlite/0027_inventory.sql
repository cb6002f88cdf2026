-- Inventory: how many of each sku a workspace holds at each location, and a ledger that explains
-- every change. A sku with no level is not stocked: movements for it are ignored. Quantities may
-- go below zero (an oversold sku shows as such rather than refusing the order). A level whose
-- own threshold is null falls back to the workspace's default (5 when it has set none); the
-- bounds on quantities keep sums of movements inside 64-bit integers.

CREATE TABLE inventory_settings (
    workspace_id INTEGER PRIMARY KEY REFERENCES workspaces (id) ON DELETE CASCADE,
    low_stock_threshold INTEGER NOT NULL CHECK (low_stock_threshold >= 0),
    updated_at TEXT NOT NULL
);

CREATE TABLE stock_levels (
    id INTEGER PRIMARY KEY,
    workspace_id INTEGER NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    sku TEXT NOT NULL,
    location TEXT NOT NULL,
    quantity INTEGER NOT NULL CHECK (quantity BETWEEN -1000000000000000 AND 1000000000000000),
    low_stock_threshold INTEGER CHECK (low_stock_threshold >= 0),
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    UNIQUE (workspace_id, sku, location)
);

CREATE TABLE stock_movements (
    id INTEGER PRIMARY KEY,
    workspace_id INTEGER NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    level_id INTEGER NOT NULL REFERENCES stock_levels (id) ON DELETE CASCADE,
    sku TEXT NOT NULL,
    location TEXT NOT NULL,
    delta INTEGER NOT NULL,
    quantity_after INTEGER NOT NULL,
    reason TEXT NOT NULL CHECK (reason IN ('set', 'adjust', 'order', 'cancel', 'return')),
    reference TEXT,
    note TEXT,
    actor TEXT NOT NULL,
    at TEXT NOT NULL
);
CREATE INDEX stock_movements_sku ON stock_movements (workspace_id, sku, id);
