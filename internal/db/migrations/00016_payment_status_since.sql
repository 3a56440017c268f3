-- +goose Up
-- When the payment entered its status. Monitors of payments waiting for an admin (held legs,
-- payout_failed) measure the wait from it: updated_at moves with every save, and a payment left
-- payout_failed is saved by each automatic retry of what it owes, so measured from updated_at
-- the wait never grew past the retry interval and the monitor never fired. Rows from before
-- take updated_at, the best there is.
ALTER TABLE payments ADD COLUMN status_since timestamptz;
UPDATE payments SET status_since = updated_at;
ALTER TABLE payments ALTER COLUMN status_since SET DEFAULT now(), ALTER COLUMN status_since SET NOT NULL;

-- +goose Down
ALTER TABLE payments DROP COLUMN status_since;
