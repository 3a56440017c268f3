-- +goose Up
-- The shop's own time of the order state stored (Shopify updated_at or a refund's created_at,
-- WooCommerce date_modified_gmt, TikTok update_time, Meta last_updated): an order event older
-- than it is not stored. Shopify's and WooCommerce's delivery IDs are not signed, so an old
-- signed body could be resent under a new ID and bring a refunded or cancelled order's old state
-- back; shops also deliver out of order. NULL for orders stored before, which any event updates.
ALTER TABLE orders ADD COLUMN shop_updated_at timestamptz;

-- +goose Down
ALTER TABLE orders DROP COLUMN shop_updated_at;
