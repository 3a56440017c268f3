-- +goose NO TRANSACTION
-- +goose Up
-- Built CONCURRENTLY, outside a transaction: the old tasks still save payments while this runs
-- (see 00017), and a plain CREATE INDEX would hold their writes for the whole build. A build
-- that failed leaves an invalid index behind and goose runs the whole migration again: only an
-- invalid index is dropped and built again, an index already built is kept (building it again
-- would read the whole table once more). CONCURRENTLY cannot run in a DO block, so the block
-- only renames an invalid index out of the way (which locks the index, not the table), and the
-- statements after it drop what it renamed and build what is missing.
--
-- Lists and monitors that read a page, or a handful, of payments must not read the whole table
-- (internal/scale proves each at months of data).
--
-- GET /api/v1/admin/payments lists newest first and filters from/to on the payment's time: its
-- capture time, its creation time before capture. Both use that one expression, so the newest
-- page (of everyone, or of one client), a window and a page after a cursor are one index range.
-- The expression must stay the one in store.ListPayments.

-- Left by a run stopped between the renaming and the drop below.
DROP INDEX CONCURRENTLY IF EXISTS payments_at_invalid;
DROP INDEX CONCURRENTLY IF EXISTS payments_client_at_invalid;
DROP INDEX CONCURRENTLY IF EXISTS payments_held_invalid;

-- +goose StatementBegin
DO $$
DECLARE
    name text;
BEGIN
    FOR name IN SELECT n FROM unnest(ARRAY['payments_at', 'payments_client_at', 'payments_held']) n
                  JOIN pg_index i ON i.indexrelid = to_regclass(n)
                 WHERE NOT i.indisvalid
    LOOP
        EXECUTE format('ALTER INDEX %I RENAME TO %I', name, name || '_invalid');
    END LOOP;
END;
$$;
-- +goose StatementEnd

DROP INDEX CONCURRENTLY IF EXISTS payments_at_invalid;
DROP INDEX CONCURRENTLY IF EXISTS payments_client_at_invalid;
DROP INDEX CONCURRENTLY IF EXISTS payments_held_invalid;

CREATE INDEX CONCURRENTLY IF NOT EXISTS payments_at ON payments ((COALESCE(captured_at, created_at)), workflow_id);
CREATE INDEX CONCURRENTLY IF NOT EXISTS payments_client_at ON payments (client_id, (COALESCE(captured_at, created_at)), workflow_id);

-- A held_leg_age monitor reads the payments with a held leg, a handful. The predicate must stay
-- heldWhere in internal/monitor/store.go, or the planner cannot use the index.
CREATE INDEX CONCURRENTLY IF NOT EXISTS payments_held ON payments (status_since, workflow_id)
    WHERE (status = 'held' OR state->'legs' @> '[{"state": "held"}]');

-- +goose Down
DROP INDEX CONCURRENTLY IF EXISTS payments_held;
DROP INDEX CONCURRENTLY IF EXISTS payments_client_at;
DROP INDEX CONCURRENTLY IF EXISTS payments_at;
