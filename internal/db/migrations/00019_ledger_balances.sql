-- +goose Up
-- Every account's balance in every currency, kept as postings are appended, so the balances
-- "now" (the admin balances page, a balance_above monitor's opening balance) no longer re-sum
-- every posting ever written. Balances as of a past time are still summed from the journal,
-- which stays the record: this table is derived from it and ledger tests check the two agree.
--
-- numeric, like the sums it replaces: a balance beyond int64 is an error when read (as before),
-- never a posting refused or a wrapped total.
CREATE TABLE ledger_balances (
    account  text    NOT NULL,
    currency text    NOT NULL,
    balance  numeric NOT NULL,
    PRIMARY KEY (account, currency)
);

-- +goose StatementBegin
-- One upsert per account and currency per statement (Post inserts an entry's postings in one
-- statement), in key order. Appends are serialised by the chain lock (ledger_chain_link), which
-- the writer holds until it commits, so the rows here are updated one append at a time, and a
-- rolled back append leaves them as they were.
CREATE FUNCTION ledger_balances_add() RETURNS trigger
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

-- Old tasks may append while this runs: the lock waits for their appends to commit and holds
-- new ones until this transaction has the trigger and the backfill, so every posting is counted
-- once, by the backfill or by the trigger.
LOCK TABLE postings IN SHARE ROW EXCLUSIVE MODE;

CREATE TRIGGER postings_balances
    AFTER INSERT ON postings
    REFERENCING NEW TABLE AS new_postings
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_balances_add();

INSERT INTO ledger_balances (account, currency, balance)
SELECT p.account, e.currency, sum(p.amount)
  FROM postings p JOIN journal_entries e ON e.id = p.entry_id
 GROUP BY p.account, e.currency;

-- +goose StatementBegin
-- Only the trigger above writes balances (its statements run one trigger level down); a hand-run
-- statement is refused like an edit of the journal. Chain verification also compares the table
-- with the postings it walks, which catches writes around the triggers.
CREATE FUNCTION ledger_balances_guard() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF pg_trigger_depth() < 2 THEN
        RAISE EXCEPTION 'ledger: % on ledger_balances is not allowed: balances follow the postings appended to the journal', TG_OP
            USING ERRCODE = 'restrict_violation', TABLE = 'ledger_balances';
    END IF;
    RETURN NULL;
END;
$$;
-- +goose StatementEnd

CREATE TRIGGER ledger_balances_guard
    BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE ON ledger_balances
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_balances_guard();

-- +goose Down
DROP TRIGGER postings_balances ON postings;
DROP FUNCTION ledger_balances_add();
DROP TABLE ledger_balances;
DROP FUNCTION ledger_balances_guard();
