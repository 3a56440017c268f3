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

DROP TRIGGER journal_entries_chain_advance ON journal_entries;
CREATE TRIGGER journal_entries_chain_advance
    AFTER INSERT ON journal_entries
    REFERENCING NEW TABLE AS new_entries
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_chain_advance_statement();

-- +goose Down
DROP TRIGGER journal_entries_chain_advance ON journal_entries;
CREATE TRIGGER journal_entries_chain_advance
    AFTER INSERT ON journal_entries
    FOR EACH ROW EXECUTE FUNCTION ledger_chain_advance();
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
