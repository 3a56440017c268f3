-- +goose Up
-- Monitors may watch the webhook inbox (events acknowledged but not yet taken by Temporal).
-- The list also names payout_failed_age (00014) and payout_taken_back (00050): migrations may
-- apply out of order, and one that came after them must not take those kinds away (or fail on a
-- monitor of them).
ALTER TABLE monitors DROP CONSTRAINT monitors_kind_check;
ALTER TABLE monitors ADD CONSTRAINT monitors_kind_check CHECK (kind IN ('ledger_chain', 'balance_above',
    'held_leg_age', 'payout_failed_age', 'reconciliation_drift', 'kpi_sync_stale', 'webhook_inbox_age',
    'payout_taken_back'));

-- +goose Down
DELETE FROM monitors WHERE kind = 'webhook_inbox_age';
ALTER TABLE monitors DROP CONSTRAINT monitors_kind_check;
ALTER TABLE monitors ADD CONSTRAINT monitors_kind_check CHECK (kind IN ('ledger_chain', 'balance_above',
    'held_leg_age', 'reconciliation_drift', 'kpi_sync_stale'));
