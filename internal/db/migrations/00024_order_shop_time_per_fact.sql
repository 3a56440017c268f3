-- +goose Up
-- 00023 kept one shop time per order, and status-only events (a Shopify refund, a TikTok or Meta
-- status change) moved it: a full order body made before the status change but after the stored
-- body was then dropped, its amounts with it. The time of the stored amounts is now kept apart:
-- shop_updated_at is the shop's time of the stored status, shop_amounts_at that of the body the
-- amounts and lines come from (store.SaveOrderIfNewer, store.UpdateOrderStatusIfNewer).
ALTER TABLE orders ADD COLUMN shop_amounts_at timestamptz,
	ADD COLUMN shop_write_seq bigint NOT NULL DEFAULT 0;

-- Meta events are now all timed by the entry's time and TikTok's by update_time only (00023 took
-- Meta's last_updated when present, TikTok's push timestamp when update_time was missing): a time
-- stored from the other clock cannot be compared with the new ones, so it becomes unknown.
UPDATE orders SET shop_updated_at = NULL WHERE platform IN ('instagram', 'tiktok') AND shop_updated_at IS NOT NULL;

-- The previous release's SaveOrder upsert (still running during a rolling deploy, and for good
-- after a rollback) changes an order without touching the shop times, which then date a state
-- it replaced. This release bumps shop_write_seq in every write of an order; a write that does
-- not is one that names no shop time, and leaves the order's times unknown (NULL): the next event
-- is then decided by the rank of its status, as one that names no time.
-- +goose StatementBegin
CREATE FUNCTION orders_untimed_write() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF NEW.shop_write_seq IS NOT DISTINCT FROM OLD.shop_write_seq THEN
		NEW.shop_updated_at := NULL;
		NEW.shop_amounts_at := NULL;
	END IF;
	RETURN NEW;
END
$$;
-- +goose StatementEnd
CREATE TRIGGER orders_untimed_write BEFORE UPDATE ON orders
	FOR EACH ROW EXECUTE FUNCTION orders_untimed_write();

-- +goose Down
DROP TRIGGER orders_untimed_write ON orders;
DROP FUNCTION orders_untimed_write();
ALTER TABLE orders DROP COLUMN shop_write_seq, DROP COLUMN shop_amounts_at;
