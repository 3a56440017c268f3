-- +goose Up
-- The shop each client's storefront webhooks come from, as the deliveries name it: Shopify's
-- X-Shopify-Shop-Domain (acme.myshopify.com), WooCommerce's X-WC-Webhook-Source (the site's home
-- URL), TikTok Shop's shop_id. One Shopify app signs every shop's webhooks with its one client
-- secret, so a delivery of one client's shop verified at another client's URL and was stored as
-- that client's order; a client with a row here refuses a delivery naming another shop. No row:
-- not bound, deliveries taken as before. A shop is one client's (the unique index).
CREATE TABLE client_shops (
    client_id  text NOT NULL REFERENCES clients (id),
    platform   text NOT NULL CHECK (platform IN ('shopify', 'woocommerce', 'tiktok')),
    shop       text NOT NULL CHECK (shop <> ''),
    updated_by text NOT NULL DEFAULT '',
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (client_id, platform)
);
CREATE UNIQUE INDEX client_shops_shop ON client_shops (platform, shop);

-- +goose Down
DROP TABLE client_shops;
