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

-- +goose Down
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
