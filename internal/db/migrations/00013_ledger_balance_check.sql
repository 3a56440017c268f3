-- +goose Up
-- The balance trigger reads an entry's postings in one aggregate query instead of three lookups.
-- Besides the two round trips into the executor it saves, the seal check was an EXISTS, which
-- the planner may answer with a sequential scan "until the first match" when postings is a few
-- pages: a session that planned it then (right after autovacuum first vacuumed a young table)
-- kept that plan and read every posting ever written on every append. An aggregate must read all
-- of the entry's postings, so the planner takes postings_entry_idx once the table is a few pages.
-- The checks and their errors are those of 00001.
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

-- +goose Down
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION ledger_assert_entry_balanced() RETURNS trigger
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
    IF EXISTS (
        SELECT 1 FROM postings p JOIN journal_entries e ON e.id = p.entry_id
        WHERE p.entry_id = eid AND p.xmin <> e.xmin
    ) THEN
        RAISE EXCEPTION 'ledger: postings were added to journal entry % after it was written: entries are immutable, post a new entry instead', eid
            USING ERRCODE = 'restrict_violation', CONSTRAINT = 'journal_entries_sealed',
                  TABLE = 'journal_entries';
    END IF;
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
