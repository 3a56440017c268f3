-- +goose Up
-- Monitors may watch payments left payout_failed (a failed payout, or a top-up or reversal due).
-- The list also names payout_taken_back (00050), which a database may have first (out of order).
ALTER TABLE monitors DROP CONSTRAINT monitors_kind_check;
ALTER TABLE monitors ADD CONSTRAINT monitors_kind_check CHECK (kind IN ('ledger_chain', 'balance_above',
    'held_leg_age', 'payout_failed_age', 'reconciliation_drift', 'kpi_sync_stale', 'webhook_inbox_age',
    'payout_taken_back'));

-- +goose Down
DELETE FROM monitors WHERE kind = 'payout_failed_age';
ALTER TABLE monitors DROP CONSTRAINT monitors_kind_check;
ALTER TABLE monitors ADD CONSTRAINT monitors_kind_check CHECK (kind IN ('ledger_chain', 'balance_above',
    'held_leg_age', 'reconciliation_drift', 'kpi_sync_stale', 'webhook_inbox_age'));
