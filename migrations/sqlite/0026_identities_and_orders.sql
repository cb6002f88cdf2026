-- Who the tracked ids are, and what customers bought.
--
-- `person_identities` resolves a sender's ids (a `userId`, an `anonymousId`) to one person.
-- Every event is resolved once, in the background, after it was acknowledged: `resolved_at`
-- marks it done and `person_id` names whom it belongs to (NULL for a visitor nobody has
-- identified yet; an identify later attaches their earlier events). The partial index keeps the
-- backlog cheap to find however large the table grows; events stored before this version are
-- resolved as new ones are.
--
-- Per-person aggregates are kept current as events arrive: `person_activity` (first and last
-- seen, events), `person_event_counts` by type and name, and from orders `person_spend` per
-- currency and `person_categories`.
--
-- Products are keyed by sku; orders by the sender's order id, with line items, a status history
-- and returns. Amounts are integer minor units of the order's currency.

ALTER TABLE events ADD COLUMN person_id INTEGER;
ALTER TABLE events ADD COLUMN resolved_at TEXT;
CREATE INDEX events_unresolved ON events (workspace_id, id) WHERE resolved_at IS NULL;
CREATE INDEX events_person ON events (workspace_id, person_id, occurred_at) WHERE person_id IS NOT NULL;

CREATE TABLE person_identities (
    workspace_id INTEGER NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    kind TEXT NOT NULL CHECK (kind IN ('user_id', 'anonymous_id')),
    value TEXT NOT NULL,
    person_id INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (workspace_id, kind, value)
);
CREATE INDEX person_identities_person ON person_identities (workspace_id, person_id);

CREATE TABLE person_activity (
    workspace_id INTEGER NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    person_id INTEGER NOT NULL,
    first_seen_at TEXT NOT NULL,
    last_seen_at TEXT NOT NULL,
    events INTEGER NOT NULL,
    PRIMARY KEY (workspace_id, person_id)
);

CREATE TABLE person_event_counts (
    workspace_id INTEGER NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    person_id INTEGER NOT NULL,
    type TEXT NOT NULL,
    name TEXT NOT NULL,
    count INTEGER NOT NULL,
    first_at TEXT NOT NULL,
    last_at TEXT NOT NULL,
    PRIMARY KEY (workspace_id, person_id, type, name)
);

CREATE TABLE products (
    id INTEGER PRIMARY KEY,
    workspace_id INTEGER NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    sku TEXT NOT NULL,
    name TEXT,
    category TEXT,
    brand TEXT,
    price_minor INTEGER,
    currency TEXT,
    image_url TEXT,
    url TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE UNIQUE INDEX products_sku ON products (workspace_id, sku);
CREATE INDEX products_category ON products (workspace_id, category, id);

CREATE TABLE orders (
    id INTEGER PRIMARY KEY,
    workspace_id INTEGER NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    reference TEXT NOT NULL,
    person_id INTEGER,
    status TEXT NOT NULL CHECK (status IN
        ('placed', 'paid', 'fulfilled', 'shipped', 'delivered', 'cancelled', 'returned', 'refunded')),
    currency TEXT NOT NULL,
    subtotal_minor INTEGER NOT NULL,
    discount_minor INTEGER NOT NULL,
    tax_minor INTEGER NOT NULL,
    shipping_minor INTEGER NOT NULL,
    total_minor INTEGER NOT NULL,
    refunded_minor INTEGER NOT NULL DEFAULT 0,
    coupon TEXT,
    carrier TEXT,
    tracking_number TEXT,
    placed_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    origin TEXT NOT NULL CHECK (origin IN ('event', 'api'))
);
CREATE UNIQUE INDEX orders_reference ON orders (workspace_id, reference);
CREATE INDEX orders_person ON orders (workspace_id, person_id, placed_at) WHERE person_id IS NOT NULL;
CREATE INDEX orders_recent ON orders (workspace_id, placed_at, id);

CREATE TABLE order_items (
    workspace_id INTEGER NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    order_id INTEGER NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    line INTEGER NOT NULL,
    sku TEXT NOT NULL,
    name TEXT,
    category TEXT,
    quantity INTEGER NOT NULL,
    price_minor INTEGER NOT NULL,
    returned INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (workspace_id, order_id, line)
);
CREATE INDEX order_items_sku ON order_items (workspace_id, sku, order_id);

CREATE TABLE order_history (
    id INTEGER PRIMARY KEY,
    workspace_id INTEGER NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    order_id INTEGER NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    status TEXT NOT NULL,
    carrier TEXT,
    tracking_number TEXT,
    note TEXT,
    actor TEXT NOT NULL,
    at TEXT NOT NULL
);
CREATE INDEX order_history_order ON order_history (workspace_id, order_id, id);

CREATE TABLE order_returns (
    id INTEGER PRIMARY KEY,
    workspace_id INTEGER NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    order_id INTEGER NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    items TEXT NOT NULL,
    reason TEXT,
    amount_minor INTEGER NOT NULL,
    actor TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX order_returns_order ON order_returns (workspace_id, order_id, id);

CREATE TABLE person_spend (
    workspace_id INTEGER NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    person_id INTEGER NOT NULL,
    currency TEXT NOT NULL,
    orders INTEGER NOT NULL,
    total_minor INTEGER NOT NULL,
    first_order_at TEXT NOT NULL,
    last_order_at TEXT NOT NULL,
    PRIMARY KEY (workspace_id, person_id, currency)
);
CREATE INDEX person_spend_total ON person_spend (workspace_id, currency, total_minor);

CREATE TABLE person_categories (
    workspace_id INTEGER NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    person_id INTEGER NOT NULL,
    category TEXT NOT NULL,
    items INTEGER NOT NULL,
    last_bought_at TEXT NOT NULL,
    PRIMARY KEY (workspace_id, person_id, category)
);
CREATE INDEX person_categories_category ON person_categories (workspace_id, category, last_bought_at);
