-- Double-entry ledger. The database, not just the Go code, guarantees that every
-- committed entry balances and that nothing is ever rewritten: raw SQL, a buggy
-- service or a hand-run script must not be able to corrupt the books.

-- +goose Up
CREATE TABLE journal_entries (
    id              bigserial   PRIMARY KEY,
    idempotency_key text        NOT NULL UNIQUE CHECK (idempotency_key <> ''),
    -- One currency per entry, so "postings sum to zero" is meaningful.
    currency        text        NOT NULL CHECK (currency ~ '^[a-z]{3}$'),
    reference       text        NOT NULL DEFAULT '',
    description     text        NOT NULL DEFAULT '',
    reverses_id     bigint      REFERENCES journal_entries (id),
    -- Fingerprint of currency + reverses_id + postings multiset. It lets a replayed
    -- idempotency key be told apart from a key reused for different content.
    content_hash    text        NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    CHECK (reverses_id <> id)
);

CREATE TABLE postings (
    id       bigserial PRIMARY KEY,
    entry_id bigint    NOT NULL REFERENCES journal_entries (id),
    account  text      NOT NULL CHECK (account <> ''),
    -- Debit > 0, credit < 0. A zero leg carries no information and would let an
    -- entry reach the two-posting minimum without moving money.
    amount   bigint    NOT NULL CHECK (amount <> 0)
);

-- Balance(account, currency, asOf): walk one account's postings, then filter by
-- the entry's currency/created_at through the primary key. INCLUDE avoids heap
-- visits for the amount.
CREATE INDEX postings_account_entry_idx ON postings (account, entry_id) INCLUDE (amount);
CREATE INDEX postings_entry_idx ON postings (entry_id);
CREATE INDEX journal_entries_created_at_idx ON journal_entries (created_at, currency);
CREATE INDEX journal_entries_reference_idx ON journal_entries (reference, id) WHERE reference <> '';
-- An entry can be reversed at most once, whatever idempotency key is used.
CREATE UNIQUE INDEX journal_entries_one_reversal_idx ON journal_entries (reverses_id)
    WHERE reverses_id IS NOT NULL;

-- +goose StatementBegin
-- Runs at COMMIT (deferred) so that an entry and its postings can be inserted in
-- any order inside one transaction, yet no transaction can commit an entry that
-- does not balance. It fires for new entries (catches entries with no postings)
-- and for new postings (catches postings appended to an already committed entry).
-- An entry with n postings is checked n+1 times: cheap next to a round trip.
CREATE FUNCTION ledger_assert_entry_balanced() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    eid   bigint;
    rev   bigint;
    n     bigint;
    total numeric;
BEGIN
    IF TG_TABLE_NAME = 'journal_entries' THEN
        eid := NEW.id;
    ELSE
        eid := NEW.entry_id;
    END IF;

    SELECT count(*), coalesce(sum(amount), 0) INTO n, total
      FROM postings WHERE entry_id = eid;
    IF n < 2 THEN
        RAISE EXCEPTION 'ledger: journal entry % has % posting(s), at least 2 are required', eid, n
            USING ERRCODE = 'check_violation', CONSTRAINT = 'journal_entries_min_postings',
                  TABLE = 'journal_entries';
    END IF;
    IF total <> 0 THEN
        RAISE EXCEPTION 'ledger: journal entry % is unbalanced: postings sum to % instead of 0', eid, total
            USING ERRCODE = 'check_violation', CONSTRAINT = 'journal_entries_balanced',
                  TABLE = 'journal_entries';
    END IF;

    -- Appending a posting to an already committed entry would rewrite history
    -- (Balance asOf its created_at would change) even if the entry still
    -- balances. The entry and its postings must be written by the same
    -- (sub)transaction, which leaves them the same xmin.
    IF EXISTS (
        SELECT 1 FROM postings p JOIN journal_entries e ON e.id = p.entry_id
        WHERE p.entry_id = eid AND p.xmin <> e.xmin
    ) THEN
        RAISE EXCEPTION 'ledger: postings were added to journal entry % after it was written: entries are immutable, post a new entry instead', eid
            USING ERRCODE = 'restrict_violation', CONSTRAINT = 'journal_entries_sealed',
                  TABLE = 'journal_entries';
    END IF;

    -- A reversal must undo exactly the original: same postings multiset, negated.
    SELECT reverses_id INTO rev FROM journal_entries WHERE id = eid;
    IF rev IS NOT NULL AND EXISTS (
        (SELECT account, amount FROM postings WHERE entry_id = eid
         EXCEPT ALL
         SELECT account, -amount FROM postings WHERE entry_id = rev)
        UNION ALL
        (SELECT account, -amount FROM postings WHERE entry_id = rev
         EXCEPT ALL
         SELECT account, amount FROM postings WHERE entry_id = eid)
    ) THEN
        RAISE EXCEPTION 'ledger: journal entry % does not negate the postings of entry % it reverses', eid, rev
            USING ERRCODE = 'check_violation', CONSTRAINT = 'journal_entries_reversal_negates',
                  TABLE = 'journal_entries';
    END IF;
    RETURN NULL;
END;
$$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE CONSTRAINT TRIGGER journal_entries_balanced
    AFTER INSERT ON journal_entries
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION ledger_assert_entry_balanced();
-- +goose StatementEnd

-- +goose StatementBegin
CREATE CONSTRAINT TRIGGER postings_balanced
    AFTER INSERT ON postings
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION ledger_assert_entry_balanced();
-- +goose StatementEnd

-- +goose StatementBegin
-- A reversal of a reversal would make "is this payment undone?" ambiguous, and a
-- reversal in another currency could never net the original to zero.
CREATE FUNCTION ledger_check_reversal() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    orig_currency text;
    orig_reverses bigint;
BEGIN
    IF NEW.reverses_id IS NULL THEN
        RETURN NEW;
    END IF;
    SELECT currency, reverses_id INTO orig_currency, orig_reverses
      FROM journal_entries WHERE id = NEW.reverses_id;
    IF NOT FOUND THEN
        RETURN NEW; -- the foreign key reports the missing entry
    END IF;
    IF orig_reverses IS NOT NULL THEN
        RAISE EXCEPTION 'ledger: journal entry % is itself a reversal and cannot be reversed', NEW.reverses_id
            USING ERRCODE = 'check_violation', CONSTRAINT = 'journal_entries_no_reversal_of_reversal',
                  TABLE = 'journal_entries';
    END IF;
    IF orig_currency <> NEW.currency THEN
        RAISE EXCEPTION 'ledger: reversal currency % differs from currency % of entry %',
                NEW.currency, orig_currency, NEW.reverses_id
            USING ERRCODE = 'check_violation', CONSTRAINT = 'journal_entries_reversal_currency',
                  TABLE = 'journal_entries';
    END IF;
    RETURN NEW;
END;
$$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER journal_entries_check_reversal
    BEFORE INSERT ON journal_entries
    FOR EACH ROW EXECUTE FUNCTION ledger_check_reversal();
-- +goose StatementEnd

-- +goose StatementBegin
-- Corrections are new entries (reversals), never edits: history must stay
-- reproducible for audits and for Balance(asOf).
CREATE FUNCTION ledger_reject_mutation() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'ledger: % on % is not allowed: the ledger is append-only, post a reversing entry instead',
            TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'restrict_violation', TABLE = TG_TABLE_NAME;
END;
$$;
-- +goose StatementEnd

-- +goose StatementBegin
-- Statement-level so the rejection happens even when no row matches, and so
-- TRUNCATE (which has no row triggers) is covered too.
CREATE TRIGGER journal_entries_append_only
    BEFORE UPDATE OR DELETE OR TRUNCATE ON journal_entries
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_reject_mutation();
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER postings_append_only
    BEFORE UPDATE OR DELETE OR TRUNCATE ON postings
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_reject_mutation();
-- +goose StatementEnd

-- +goose Down
DROP TABLE postings;
DROP TABLE journal_entries;
DROP FUNCTION ledger_reject_mutation();
DROP FUNCTION ledger_check_reversal();
DROP FUNCTION ledger_assert_entry_balanced();
