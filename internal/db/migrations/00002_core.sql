-- +goose Up
-- Clients, payees, versioned split rules and the payment state the workflows persist.
-- No customer data is stored: only what splits and reports need.
CREATE TABLE clients (
    id               text PRIMARY KEY,
    name             text NOT NULL,
    default_currency text NOT NULL,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE payees (
    id             text PRIMARY KEY,
    client_id      text NOT NULL REFERENCES clients (id),
    kind           text NOT NULL CHECK (kind IN ('vendor', 'affiliate')),
    stripe_account text NOT NULL DEFAULT '',
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now()
);

-- Rules are immutable versions: a payment records the version it used, so a new rule never
-- changes a split already computed.
CREATE TABLE split_rules (
    client_id              text NOT NULL REFERENCES clients (id),
    version                integer NOT NULL CHECK (version > 0),
    platform_bps           bigint NOT NULL CHECK (platform_bps BETWEEN 0 AND 10000),
    affiliate_bps          bigint NOT NULL CHECK (affiliate_bps BETWEEN 0 AND 10000),
    commission_on_tax      boolean NOT NULL DEFAULT false,
    commission_on_shipping boolean NOT NULL DEFAULT false,
    min_platform_fee       bigint NOT NULL DEFAULT 0 CHECK (min_platform_fee >= 0),
    max_platform_fee       bigint NOT NULL DEFAULT 0 CHECK (max_platform_fee >= 0),
    created_by             text NOT NULL DEFAULT '',
    created_at             timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (client_id, version),
    CHECK (platform_bps + affiliate_bps <= 10000)
);

-- +goose StatementBegin
CREATE FUNCTION split_rules_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'split_rules are immutable: create a new version instead';
END $$;
-- +goose StatementEnd

CREATE TRIGGER split_rules_no_update BEFORE UPDATE OR DELETE ON split_rules
    FOR EACH ROW EXECUTE FUNCTION split_rules_immutable();

-- Order metadata from the storefronts, keyed by the provider's payment reference, for payments
-- whose own metadata is incomplete.
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

-- The payment workflow's state, written after every step so admins can read it and a follow-up
-- run (late refund) can resume from it.
CREATE TABLE payments (
    workflow_id     text PRIMARY KEY,
    provider        text NOT NULL,
    payment_id      text NOT NULL,
    charge_id       text NOT NULL DEFAULT '',
    client_id       text NOT NULL DEFAULT '',
    order_id        text NOT NULL DEFAULT '',
    vendor_id       text NOT NULL DEFAULT '',
    currency        text NOT NULL DEFAULT '',
    gross           bigint NOT NULL DEFAULT 0,
    refunded        bigint NOT NULL DEFAULT 0,
    rule_version    integer NOT NULL DEFAULT 0,
    status          text NOT NULL,
    reason          text NOT NULL DEFAULT '',
    state           jsonb NOT NULL,
    captured_at     timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    CHECK (refunded BETWEEN 0 AND gross)
);
CREATE INDEX payments_client ON payments (client_id, captured_at);
CREATE INDEX payments_status ON payments (status);
CREATE INDEX payments_vendor ON payments (vendor_id);
CREATE INDEX payments_order ON payments (order_id);

-- +goose Down
DROP TABLE payments;
DROP TABLE order_records;
DROP TABLE split_rules;
DROP FUNCTION split_rules_immutable;
DROP TABLE payees;
DROP TABLE clients;
