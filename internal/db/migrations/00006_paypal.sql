-- +goose Up
-- Where PayPal payments pay a payee: a PayPal payer ID (preferred: no personal data) or the
-- payee's business email.
ALTER TABLE payees ADD COLUMN paypal_receiver text NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE payees DROP COLUMN paypal_receiver;
