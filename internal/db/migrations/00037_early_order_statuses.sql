-- +goose Up
-- A storefront status change (a Shopify refund, a TikTok or Meta status change) that arrives
-- before its order was answered unknown_order and dropped; the order, stored later, kept the older
-- status of its own body. It is kept here instead and applied, by the orders' rule (newest state
-- wins), when the order arrives. IDs, status and the shop's time only, plus what a Shopify refund
-- gave back (its amount and currency decide a full refund from a partial one): no customer data.
-- Rows that never find their order go with the webhook delivery records (KPI_RETENTION_DAYS).
CREATE TABLE early_order_statuses (
    id          bigserial PRIMARY KEY,
    client_id   text NOT NULL REFERENCES clients (id),
    order_id    text NOT NULL,
    platform    text NOT NULL,
    status      text NOT NULL,
    refunded    bigint NOT NULL DEFAULT 0 CHECK (refunded >= 0),
    currency    text NOT NULL DEFAULT '',
    shop_time   timestamptz,
    received_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX early_order_statuses_order ON early_order_statuses (client_id, order_id);
CREATE INDEX early_order_statuses_received ON early_order_statuses (received_at);

-- +goose Down
-- The previous release drops such statuses: what is kept here is lost with the table.
DROP TABLE early_order_statuses;
