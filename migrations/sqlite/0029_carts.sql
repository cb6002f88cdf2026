-- Carts, kept current from the e-commerce events of tracked visitors (`Product Added`,
-- `Product Removed`, `Cart Viewed`, `Checkout Started`, `Order Completed`). A cart is keyed by
-- the sender's `cart_id`, else by the visitor's anonymous id, user id or person; one row per key
-- lives on, starting a new round of items after it became an order. A cart with items that saw
-- no checkout for the workspace's `abandon_after_minutes` (60 when it has set none) is marked
-- abandoned once, recording `cart.abandoned`; new activity takes the mark away.
--
-- Orders and carts of a visitor nobody had identified keep the visitor's ids, so that an
-- identify later gives them to the person along with the visitor's events.

CREATE TABLE cart_settings (
    workspace_id INTEGER PRIMARY KEY REFERENCES workspaces (id) ON DELETE CASCADE,
    abandon_after_minutes INTEGER NOT NULL CHECK (abandon_after_minutes BETWEEN 1 AND 43200),
    updated_at TEXT NOT NULL
);

CREATE TABLE carts (
    id INTEGER PRIMARY KEY,
    workspace_id INTEGER NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    cart_key TEXT NOT NULL,
    person_id INTEGER,
    anonymous_id TEXT,
    user_id TEXT,
    status TEXT NOT NULL CHECK (status IN ('open', 'checkout', 'ordered')),
    currency TEXT NOT NULL,
    items INTEGER NOT NULL,
    value_minor INTEGER NOT NULL,
    order_reference TEXT,
    last_activity_at TEXT NOT NULL,
    checkout_at TEXT,
    ordered_at TEXT,
    abandoned_at TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE UNIQUE INDEX carts_key ON carts (workspace_id, cart_key);
CREATE INDEX carts_person ON carts (workspace_id, person_id, last_activity_at) WHERE person_id IS NOT NULL;
CREATE INDEX carts_visitor ON carts (workspace_id, anonymous_id) WHERE person_id IS NULL AND anonymous_id IS NOT NULL;
CREATE INDEX carts_unknown_user ON carts (workspace_id, user_id) WHERE person_id IS NULL AND user_id IS NOT NULL;
CREATE INDEX carts_due ON carts (workspace_id, last_activity_at)
    WHERE status = 'open' AND abandoned_at IS NULL AND items > 0;
CREATE INDEX carts_recent ON carts (workspace_id, last_activity_at, id);

CREATE TABLE cart_items (
    workspace_id INTEGER NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    cart_id INTEGER NOT NULL REFERENCES carts (id) ON DELETE CASCADE,
    sku TEXT NOT NULL,
    name TEXT,
    category TEXT,
    quantity INTEGER NOT NULL,
    price_minor INTEGER NOT NULL,
    added_at TEXT NOT NULL,
    PRIMARY KEY (workspace_id, cart_id, sku)
);

ALTER TABLE orders ADD COLUMN anonymous_id TEXT;
ALTER TABLE orders ADD COLUMN user_id TEXT;
CREATE INDEX orders_visitor ON orders (workspace_id, anonymous_id) WHERE person_id IS NULL AND anonymous_id IS NOT NULL;
CREATE INDEX orders_unknown_user ON orders (workspace_id, user_id) WHERE person_id IS NULL AND user_id IS NOT NULL;
