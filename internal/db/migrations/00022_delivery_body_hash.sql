-- +goose Up
-- A delivery can be remembered with the SHA-256 of its body. PayPal's signature covers its
-- transmission ID and time but only a CRC32 of the body, which anyone can match with four chosen
-- bytes: the API records each PayPal transmission ID with its body's hash and refuses the ID when
-- it comes again with another body. Storefront deliveries leave it NULL.
ALTER TABLE webhook_deliveries ADD COLUMN body_sha256 bytea;

-- +goose Down
ALTER TABLE webhook_deliveries DROP COLUMN body_sha256;
