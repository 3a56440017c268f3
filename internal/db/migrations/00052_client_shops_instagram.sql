-- +goose Up
-- A client can be bound to its Instagram / Facebook Shop: the ID of its Page or commerce account
-- as Meta's deliveries name it per batch entry (entry[].id, digits). One Meta app signs every
-- Page's deliveries alike with its app secret, so another Page's orders posted to a client's URL
-- verified and were stored as that client's; a bound client takes only its Page's entries.
ALTER TABLE client_shops DROP CONSTRAINT client_shops_platform_check;
ALTER TABLE client_shops ADD CONSTRAINT client_shops_platform_check
    CHECK (platform IN ('shopify', 'woocommerce', 'tiktok', 'instagram'));

-- +goose Down
-- Refused while a client is bound to its Page, rather than deleting the binding: the release
-- before would then take every Page's orders for that client again, silently. An admin removes
-- the bindings first (DELETE /api/v1/admin/clients/{id}/shops/instagram, audited).
-- +goose StatementBegin
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM client_shops WHERE platform = 'instagram') THEN
        RAISE EXCEPTION 'client_shops has instagram bindings: remove them (DELETE /api/v1/admin/clients/{id}/shops/instagram) before migrating down past 00052';
    END IF;
END
$$;
-- +goose StatementEnd
ALTER TABLE client_shops DROP CONSTRAINT client_shops_platform_check;
ALTER TABLE client_shops ADD CONSTRAINT client_shops_platform_check
    CHECK (platform IN ('shopify', 'woocommerce', 'tiktok'));
