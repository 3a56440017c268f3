-- +goose Up
-- A ledger batch is now one statement (ledger.PostBatch), so the balances trigger sees a
-- payment's capture and its transfers together: the vendor's and affiliate's payables, credited
-- by the capture and debited by the transfers, net to zero in it. Their rows are inserted when
-- new (an account with postings has a row, as Balances promises, 0 included) but an existing
-- row is no longer rewritten to add nothing: the upsert's WHERE skips the update (it still takes
-- the row's lock, as before). The balances, the rows that exist and the order they are taken in
-- are those of 00032; only a write that changed nothing is gone.
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION ledger_balances_add() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO ledger_balances (account, currency, balance)
    SELECT p.account, p.currency, sum(p.amount)
      FROM (SELECT n.account, n.amount,
                   (SELECT e.currency FROM journal_entries e WHERE e.id = n.entry_id) AS currency
              FROM new_postings n) p
     GROUP BY p.account, p.currency
     ORDER BY p.account, p.currency
    ON CONFLICT (account, currency) DO UPDATE SET balance = ledger_balances.balance + EXCLUDED.balance
     WHERE EXCLUDED.balance <> 0;
    RETURN NULL;
END;
$$;
-- +goose StatementEnd

-- The chain's head moved once an entry (ledger_chain_advance, a row trigger of 00003): a batch of
-- a capture and its transfers, one statement now, rewrote the head row once for each of them in
-- one transaction. It now moves once a statement, to the statement's last entry (the highest id:
-- ids are drawn under the chain lock in chain order), which is where the row trigger left it after
-- the statement's last row. Nothing reads the head between the rows of one statement: each link
-- takes its previous link from the journal itself (ledger_chain_link). A statement whose keys
-- were all taken inserts no row, so the head stays where it was, as before. The swap runs in this
-- migration's transaction: every append commits under one trigger or the other.
--
-- The row trigger is disabled, not dropped: DROP TRIGGER takes the journal in ACCESS EXCLUSIVE
-- mode, so it waited for any reader of the journal (a chain verification's walk holds it for its
-- whole snapshot) while every read and append queued behind it. Disabling a trigger and creating
-- one take SHARE ROW EXCLUSIVE, which readers do not hold: appends wait for the swap a moment,
-- reads not at all (db TestMigration00044DoesNotQueueTheJournalBehindAReader). Enabled again (by
-- a hand-run ENABLE TRIGGER ALL) it would move the head to the same place, row by row.
-- +goose StatementBegin
CREATE FUNCTION ledger_chain_advance_statement() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE ledger_chain_head h
       SET last_entry_id = n.id, last_hash = n.entry_hash, updated_at = now()
      FROM (SELECT id, entry_hash FROM new_entries ORDER BY id DESC LIMIT 1) n
     WHERE h.ledger = 'main' AND (h.last_entry_id IS NULL OR h.last_entry_id < n.id);
    RETURN NULL;
END;
$$;
-- +goose StatementEnd

ALTER TABLE journal_entries DISABLE TRIGGER journal_entries_chain_advance;
CREATE TRIGGER journal_entries_chain_advance_statement
    AFTER INSERT ON journal_entries
    REFERENCING NEW TABLE AS new_entries
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_chain_advance_statement();

-- The balance check (00013) asked "rev IS NOT NULL AND EXISTS (...)" in one condition: plpgsql
-- runs a condition with a subquery as a query, so every check (an entry's and each of its
-- postings', 9.9 a payment) ran it, for entries that reverse nothing too. The reversal's test is
-- now nested under "rev IS NOT NULL", a plain expression. The checks and their errors are 00013's.
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION ledger_assert_entry_balanced() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    eid      bigint;
    rev      bigint;
    n        bigint;
    total    numeric;
    resealed boolean;
BEGIN
    IF TG_TABLE_NAME = 'journal_entries' THEN
        eid := NEW.id;
    ELSE
        eid := NEW.entry_id;
    END IF;
    SELECT count(p.id), coalesce(sum(p.amount), 0), coalesce(bool_or(p.xmin <> e.xmin), false), e.reverses_id
      INTO n, total, resealed, rev
      FROM journal_entries e LEFT JOIN postings p ON p.entry_id = e.id
     WHERE e.id = eid
     GROUP BY e.id;
    n := coalesce(n, 0);
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
    -- Postings written by another (sub)transaction than their entry were appended afterwards.
    IF resealed THEN
        RAISE EXCEPTION 'ledger: postings were added to journal entry % after it was written: entries are immutable, post a new entry instead', eid
            USING ERRCODE = 'restrict_violation', CONSTRAINT = 'journal_entries_sealed',
                  TABLE = 'journal_entries';
    END IF;
    -- Nested, so that an entry that reverses nothing (nearly all) runs no query for it: a
    -- condition with a subquery is a query, run through the executor however it ends.
    IF rev IS NOT NULL THEN
        IF EXISTS (
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
    END IF;
    RETURN NULL;
END;
$$;
-- +goose StatementEnd


-- +goose Down
DROP TRIGGER journal_entries_chain_advance_statement ON journal_entries;
ALTER TABLE journal_entries ENABLE TRIGGER journal_entries_chain_advance;
DROP FUNCTION ledger_chain_advance_statement();
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION ledger_balances_add() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO ledger_balances (account, currency, balance)
    SELECT p.account, p.currency, sum(p.amount)
      FROM (SELECT n.account, n.amount,
                   (SELECT e.currency FROM journal_entries e WHERE e.id = n.entry_id) AS currency
              FROM new_postings n) p
     GROUP BY p.account, p.currency
     ORDER BY p.account, p.currency
    ON CONFLICT (account, currency) DO UPDATE SET balance = ledger_balances.balance + EXCLUDED.balance;
    RETURN NULL;
END;
$$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE OR REPLACE FUNCTION ledger_assert_entry_balanced() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    eid      bigint;
    rev      bigint;
    n        bigint;
    total    numeric;
    resealed boolean;
BEGIN
    IF TG_TABLE_NAME = 'journal_entries' THEN
        eid := NEW.id;
    ELSE
        eid := NEW.entry_id;
    END IF;
    SELECT count(p.id), coalesce(sum(p.amount), 0), coalesce(bool_or(p.xmin <> e.xmin), false), e.reverses_id
      INTO n, total, resealed, rev
      FROM journal_entries e LEFT JOIN postings p ON p.entry_id = e.id
     WHERE e.id = eid
     GROUP BY e.id;
    n := coalesce(n, 0);
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
    -- Postings written by another (sub)transaction than their entry were appended afterwards.
    IF resealed THEN
        RAISE EXCEPTION 'ledger: postings were added to journal entry % after it was written: entries are immutable, post a new entry instead', eid
            USING ERRCODE = 'restrict_violation', CONSTRAINT = 'journal_entries_sealed',
                  TABLE = 'journal_entries';
    END IF;
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
