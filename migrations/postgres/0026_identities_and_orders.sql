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

ALTER TABLE events ADD COLUMN person_id bigint;
ALTER TABLE events ADD COLUMN resolved_at timestamptz;
CREATE INDEX events_unresolved ON events (workspace_id, id) WHERE resolved_at IS NULL;
CREATE INDEX events_person ON events (workspace_id, person_id, occurred_at) WHERE person_id IS NOT NULL;

CREATE TABLE person_identities (
    workspace_id bigint NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    kind text NOT NULL CHECK (kind IN ('user_id', 'anonymous_id')),
    value text NOT NULL,
    person_id bigint NOT NULL,
    created_at timestamptz NOT NULL,
    PRIMARY KEY (workspace_id, kind, value)
);
CREATE INDEX person_identities_person ON person_identities (workspace_id, person_id);

CREATE TABLE person_activity (
    workspace_id bigint NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    person_id bigint NOT NULL,
    first_seen_at timestamptz NOT NULL,
    last_seen_at timestamptz NOT NULL,
    events bigint NOT NULL,
    PRIMARY KEY (workspace_id, person_id)
);

CREATE TABLE person_event_counts (
    workspace_id bigint NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    person_id bigint NOT NULL,
    type text NOT NULL,
    name text NOT NULL,
    count bigint NOT NULL,
    first_at timestamptz NOT NULL,
    last_at timestamptz NOT NULL,
    PRIMARY KEY (workspace_id, person_id, type, name)
);

CREATE TABLE products (
    workspace_id bigint NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    id bigint GENERATED ALWAYS AS IDENTITY,
    sku text NOT NULL,
    name text,
    category text,
    brand text,
    price_minor bigint,
    currency text,
    image_url text,
    url text,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    PRIMARY KEY (workspace_id, id)
);
CREATE UNIQUE INDEX products_sku ON products (workspace_id, sku);
CREATE INDEX products_category ON products (workspace_id, category, id);

CREATE TABLE orders (
    workspace_id bigint NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    id bigint GENERATED ALWAYS AS IDENTITY,
    reference text NOT NULL,
    person_id bigint,
    status text NOT NULL CHECK (status IN
        ('placed', 'paid', 'fulfilled', 'shipped', 'delivered', 'cancelled', 'returned', 'refunded')),
    currency text NOT NULL,
    subtotal_minor bigint NOT NULL,
    discount_minor bigint NOT NULL,
    tax_minor bigint NOT NULL,
    shipping_minor bigint NOT NULL,
    total_minor bigint NOT NULL,
    refunded_minor bigint NOT NULL DEFAULT 0,
    coupon text,
    carrier text,
    tracking_number text,
    placed_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    origin text NOT NULL CHECK (origin IN ('event', 'api')),
    PRIMARY KEY (workspace_id, id)
);
CREATE UNIQUE INDEX orders_reference ON orders (workspace_id, reference);
CREATE INDEX orders_person ON orders (workspace_id, person_id, placed_at) WHERE person_id IS NOT NULL;
CREATE INDEX orders_recent ON orders (workspace_id, placed_at, id);

CREATE TABLE order_items (
    workspace_id bigint NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    order_id bigint NOT NULL,
    line bigint NOT NULL,
    sku text NOT NULL,
    name text,
    category text,
    quantity bigint NOT NULL,
    price_minor bigint NOT NULL,
    returned bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (workspace_id, order_id, line),
    FOREIGN KEY (workspace_id, order_id) REFERENCES orders (workspace_id, id) ON DELETE CASCADE
);
CREATE INDEX order_items_sku ON order_items (workspace_id, sku, order_id);

CREATE TABLE order_history (
    workspace_id bigint NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    id bigint GENERATED ALWAYS AS IDENTITY,
    order_id bigint NOT NULL,
    status text NOT NULL,
    carrier text,
    tracking_number text,
    note text,
    actor text NOT NULL,
    at timestamptz NOT NULL,
    PRIMARY KEY (workspace_id, id),
    FOREIGN KEY (workspace_id, order_id) REFERENCES orders (workspace_id, id) ON DELETE CASCADE
);
CREATE INDEX order_history_order ON order_history (workspace_id, order_id, id);

CREATE TABLE order_returns (
    workspace_id bigint NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    id bigint GENERATED ALWAYS AS IDENTITY,
    order_id bigint NOT NULL,
    items jsonb NOT NULL,
    reason text,
    amount_minor bigint NOT NULL,
    actor text NOT NULL,
    created_at timestamptz NOT NULL,
    PRIMARY KEY (workspace_id, id),
    FOREIGN KEY (workspace_id, order_id) REFERENCES orders (workspace_id, id) ON DELETE CASCADE
);
CREATE INDEX order_returns_order ON order_returns (workspace_id, order_id, id);

CREATE TABLE person_spend (
    workspace_id bigint NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    person_id bigint NOT NULL,
    currency text NOT NULL,
    orders bigint NOT NULL,
    total_minor bigint NOT NULL,
    first_order_at timestamptz NOT NULL,
    last_order_at timestamptz NOT NULL,
    PRIMARY KEY (workspace_id, person_id, currency)
);
CREATE INDEX person_spend_total ON person_spend (workspace_id, currency, total_minor);

CREATE TABLE person_categories (
    workspace_id bigint NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    person_id bigint NOT NULL,
    category text NOT NULL,
    items bigint NOT NULL,
    last_bought_at timestamptz NOT NULL,
    PRIMARY KEY (workspace_id, person_id, category)
);
CREATE INDEX person_categories_category ON person_categories (workspace_id, category, last_bought_at);
