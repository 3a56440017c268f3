-- +goose NO TRANSACTION
-- +goose Up
-- Built CONCURRENTLY, outside a transaction: the old tasks still save payments while this runs
-- (see 00017), and a plain CREATE INDEX would hold their writes for the whole build. A build
-- that failed leaves an invalid index behind and goose runs the migration again, so each index
-- is dropped first if it exists.
--
-- Lists and monitors that read a page, or a handful, of payments must not read the whole table
-- (internal/scale proves each at months of data).
--
-- GET /api/v1/admin/payments lists newest first and filters from/to on the payment's time: its
-- capture time, its creation time before capture. Both use that one expression, so the newest
-- page (of everyone, or of one client), a window and a page after a cursor are one index range.
-- The expression must stay the one in store.ListPayments.
DROP INDEX CONCURRENTLY IF EXISTS payments_at;
CREATE INDEX CONCURRENTLY payments_at ON payments ((COALESCE(captured_at, created_at)), workflow_id);
DROP INDEX CONCURRENTLY IF EXISTS payments_client_at;
CREATE INDEX CONCURRENTLY payments_client_at ON payments (client_id, (COALESCE(captured_at, created_at)), workflow_id);

-- A held_leg_age monitor reads the payments with a held leg, a handful. The predicate must stay
-- heldWhere in internal/monitor/store.go, or the planner cannot use the index.
DROP INDEX CONCURRENTLY IF EXISTS payments_held;
CREATE INDEX CONCURRENTLY payments_held ON payments (status_since, workflow_id)
    WHERE (status = 'held' OR state->'legs' @> '[{"state": "held"}]');

-- +goose Down
DROP INDEX CONCURRENTLY IF EXISTS payments_held;
DROP INDEX CONCURRENTLY IF EXISTS payments_client_at;
DROP INDEX CONCURRENTLY IF EXISTS payments_at;
