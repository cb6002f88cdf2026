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
    workspace_id bigint PRIMARY KEY REFERENCES workspaces (id) ON DELETE CASCADE,
    abandon_after_minutes bigint NOT NULL CHECK (abandon_after_minutes BETWEEN 1 AND 43200),
    updated_at timestamptz NOT NULL
);

CREATE TABLE carts (
    workspace_id bigint NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    id bigint GENERATED ALWAYS AS IDENTITY,
    cart_key text NOT NULL,
    person_id bigint,
    anonymous_id text,
    user_id text,
    status text NOT NULL CHECK (status IN ('open', 'checkout', 'ordered')),
    currency text NOT NULL,
    items bigint NOT NULL,
    value_minor bigint NOT NULL,
    order_reference text,
    last_activity_at timestamptz NOT NULL,
    checkout_at timestamptz,
    ordered_at timestamptz,
    abandoned_at timestamptz,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    PRIMARY KEY (workspace_id, id)
);
CREATE UNIQUE INDEX carts_key ON carts (workspace_id, cart_key);
CREATE INDEX carts_person ON carts (workspace_id, person_id, last_activity_at) WHERE person_id IS NOT NULL;
CREATE INDEX carts_visitor ON carts (workspace_id, anonymous_id) WHERE person_id IS NULL AND anonymous_id IS NOT NULL;
CREATE INDEX carts_unknown_user ON carts (workspace_id, user_id) WHERE person_id IS NULL AND user_id IS NOT NULL;
CREATE INDEX carts_due ON carts (workspace_id, last_activity_at)
    WHERE status = 'open' AND abandoned_at IS NULL AND items > 0;
CREATE INDEX carts_recent ON carts (workspace_id, last_activity_at, id);

CREATE TABLE cart_items (
    workspace_id bigint NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    cart_id bigint NOT NULL,
    sku text NOT NULL,
    name text,
    category text,
    quantity bigint NOT NULL,
    price_minor bigint NOT NULL,
    added_at timestamptz NOT NULL,
    PRIMARY KEY (workspace_id, cart_id, sku),
    FOREIGN KEY (workspace_id, cart_id) REFERENCES carts (workspace_id, id) ON DELETE CASCADE
);

ALTER TABLE orders ADD COLUMN anonymous_id text;
ALTER TABLE orders ADD COLUMN user_id text;
CREATE INDEX orders_visitor ON orders (workspace_id, anonymous_id) WHERE person_id IS NULL AND anonymous_id IS NOT NULL;
CREATE INDEX orders_unknown_user ON orders (workspace_id, user_id) WHERE person_id IS NULL AND user_id IS NOT NULL;
