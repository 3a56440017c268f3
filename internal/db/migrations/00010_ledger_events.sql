-- +goose Up
-- Tell listeners that the books moved, so balance monitors can be evaluated on ledger events
-- and not only on their schedule. One notification per statement; listeners debounce.
-- +goose StatementBegin
CREATE FUNCTION notify_ledger_event() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('paysplit_ledger_events', TG_TABLE_NAME);
    RETURN NULL;
END $$;
-- +goose StatementEnd

CREATE TRIGGER journal_entries_notify AFTER INSERT ON journal_entries
    FOR EACH STATEMENT EXECUTE FUNCTION notify_ledger_event();

-- A payment's status change (a leg held, a payout failed) matters to the held-leg monitors.
CREATE TRIGGER payments_notify AFTER INSERT OR UPDATE OF status ON payments
    FOR EACH STATEMENT EXECUTE FUNCTION notify_ledger_event();

-- +goose Down
DROP TRIGGER payments_notify ON payments;
DROP TRIGGER journal_entries_notify ON journal_entries;
DROP FUNCTION notify_ledger_event;
