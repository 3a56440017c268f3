-- +goose NO TRANSACTION
-- +goose Up
-- GET /api/v1/admin/payments?vendor_id= lists one vendor's payments newest first, a page at a
-- time. payments_vendor (00002) finds the vendor's payments but not in that order: a big vendor's
-- list read all its payments to sort them, or walked everyone's newest (payments_at) for its own.
-- This index is one range per page, as payments_client_at is for a client (internal/scale). The
-- expression must stay the one in store.ListPayments.
--
-- Built CONCURRENTLY, and a failed build is dropped and built again on the next run, an index
-- already built kept: see 00018.
DROP INDEX CONCURRENTLY IF EXISTS payments_vendor_at_invalid;

-- +goose StatementBegin
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_index WHERE indexrelid = to_regclass('payments_vendor_at') AND NOT indisvalid) THEN
        ALTER INDEX payments_vendor_at RENAME TO payments_vendor_at_invalid;
    END IF;
END;
$$;
-- +goose StatementEnd

DROP INDEX CONCURRENTLY IF EXISTS payments_vendor_at_invalid;
CREATE INDEX CONCURRENTLY IF NOT EXISTS payments_vendor_at ON payments (vendor_id, (COALESCE(captured_at, created_at)), workflow_id);

-- +goose Down
DROP INDEX CONCURRENTLY IF EXISTS payments_vendor_at;
