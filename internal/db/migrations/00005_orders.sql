-- +goose Up
-- Orders from the storefronts, normalized to what splits and reports need: no names, emails,
-- addresses or card data. They replace order_records: a payment names its order by client and
-- order ID in its metadata, and enrichment reads the order from here.
DROP TABLE order_records;

CREATE TABLE orders (
    client_id    text NOT NULL REFERENCES clients (id),
    order_id     text NOT NULL,
    platform     text NOT NULL,
    currency     text NOT NULL,
    subtotal     bigint NOT NULL CHECK (subtotal >= 0),
    tax          bigint NOT NULL DEFAULT 0 CHECK (tax >= 0),
    shipping     bigint NOT NULL DEFAULT 0 CHECK (shipping >= 0),
    discount     bigint NOT NULL DEFAULT 0 CHECK (discount >= 0),
    affiliate_id text NOT NULL DEFAULT '',
    status       text NOT NULL DEFAULT '',
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (client_id, order_id)
);

-- One row per vendor line group: each vendor is paid on its own lines' net amount.
CREATE TABLE order_lines (
    client_id text NOT NULL,
    order_id  text NOT NULL,
    line_no   integer NOT NULL,
    vendor_id text NOT NULL,
    subtotal  bigint NOT NULL CHECK (subtotal >= 0),
    tax       bigint NOT NULL DEFAULT 0 CHECK (tax >= 0),
    discount  bigint NOT NULL DEFAULT 0 CHECK (discount >= 0),
    PRIMARY KEY (client_id, order_id, line_no),
    FOREIGN KEY (client_id, order_id) REFERENCES orders (client_id, order_id) ON DELETE CASCADE
);

-- Payments waiting for their order: an order that arrives later wakes them with a signal.
CREATE TABLE order_waiters (
    client_id   text NOT NULL,
    order_id    text NOT NULL,
    workflow_id text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (client_id, order_id, workflow_id)
);

-- Webhook deliveries already taken, for deduplication by the provider's delivery ID.
CREATE TABLE webhook_deliveries (
    provider    text NOT NULL,
    delivery_id text NOT NULL,
    client_id   text NOT NULL DEFAULT '',
    received_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (provider, delivery_id)
);

-- +goose Down
DROP TABLE webhook_deliveries;
DROP TABLE order_waiters;
DROP TABLE order_lines;
DROP TABLE orders;
CREATE TABLE order_records (
    provider     text NOT NULL,
    payment_ref  text NOT NULL,
    client_id    text NOT NULL,
    order_id     text NOT NULL,
    vendor_id    text NOT NULL,
    affiliate_id text NOT NULL DEFAULT '',
    platform     text NOT NULL DEFAULT '',
    subtotal     bigint NOT NULL CHECK (subtotal >= 0),
    tax          bigint NOT NULL DEFAULT 0 CHECK (tax >= 0),
    shipping     bigint NOT NULL DEFAULT 0 CHECK (shipping >= 0),
    discount     bigint NOT NULL DEFAULT 0 CHECK (discount >= 0),
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (provider, payment_ref)
);
