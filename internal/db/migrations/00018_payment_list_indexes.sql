-- +goose Up
-- Lists and monitors that read a page, or a handful, of payments must not read the whole table
-- (internal/scale proves each at a year of data).
--
-- GET /api/v1/admin/payments lists newest first and filters from/to on the payment's time: its
-- capture time, its creation time before capture. Both use that one expression, so the newest
-- page (of everyone, or of one client), a window and a page after a cursor are one index range.
-- The expression must stay the one in store.ListPayments.
CREATE INDEX payments_at ON payments ((COALESCE(captured_at, created_at)), workflow_id);
CREATE INDEX payments_client_at ON payments (client_id, (COALESCE(captured_at, created_at)), workflow_id);

-- A held_leg_age monitor reads the payments with a held leg, a handful. The predicate must stay
-- the one in monitor.Store.observe (heldWhere), or the planner cannot use the index.
CREATE INDEX payments_held ON payments (status_since, workflow_id)
    WHERE (status = 'held' OR state->'legs' @> '[{"state": "held"}]');

-- +goose Down
DROP INDEX payments_held;
DROP INDEX payments_client_at;
DROP INDEX payments_at;
