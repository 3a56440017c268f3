-- +goose Up
-- The balances trigger (00019) joined an append's postings to journal_entries for their currency.
-- A session plans a trigger's query once and keeps the plan until the table is analyzed again; on
-- a young journal the planner made that join a hash join over a sequential scan of the whole
-- journal, so every later append on that connection read every entry written before it (a
-- worker's pool connections live all day; ledger TestPostDoesNotScanTheJournalFromAnEarlyPlan).
-- The currency is now looked up by primary key for each posting of the statement, a plan that
-- reads the postings' own entries only, however large or young the journal. The rows written,
-- their order and the guard are those of 00019 (a posting without its entry cannot be stored:
-- postings.entry_id is a foreign key, and a NULL currency would be refused here besides).
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

-- +goose Down
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION ledger_balances_add() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO ledger_balances (account, currency, balance)
    SELECT p.account, e.currency, sum(p.amount)
      FROM new_postings p JOIN journal_entries e ON e.id = p.entry_id
     GROUP BY p.account, e.currency
     ORDER BY p.account, e.currency
    ON CONFLICT (account, currency) DO UPDATE SET balance = ledger_balances.balance + EXCLUDED.balance;
    RETURN NULL;
END;
$$;
-- +goose StatementEnd
