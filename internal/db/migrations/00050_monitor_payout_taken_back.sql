-- +goose Up
-- The system's own payout_taken_back monitor: the PayPal webhook raises an alert of it, in the
-- transaction of its audit entry, for each payout item taken back after it was paid (refunded by
-- the payee, reversed, returned), so an admin hears that the money is back with the platform
-- while the books say the payee was paid. It is never evaluated: admins cannot create one. The
-- list keeps every kind of 00012 and 00014 (migrations may apply out of order).
ALTER TABLE monitors DROP CONSTRAINT monitors_kind_check;
ALTER TABLE monitors ADD CONSTRAINT monitors_kind_check CHECK (kind IN ('ledger_chain', 'balance_above',
    'held_leg_age', 'payout_failed_age', 'reconciliation_drift', 'kpi_sync_stale', 'webhook_inbox_age',
    'payout_taken_back'));
-- Live names are unique: an admin's monitor already named so leaves the system's its longer name.
INSERT INTO monitors (name, kind, system, created_by)
SELECT CASE WHEN EXISTS (SELECT 1 FROM monitors WHERE name = 'payout taken back' AND deleted_at IS NULL)
            THEN 'payout taken back (system)' ELSE 'payout taken back' END,
       'payout_taken_back', true, 'system';

-- +goose Down
-- Its alerts and their messages go with it: the audit entries (payment.payout_taken_back) stay.
DELETE FROM alert_notifications WHERE monitor_id IN (SELECT id FROM monitors WHERE kind = 'payout_taken_back');
DELETE FROM alerts WHERE monitor_id IN (SELECT id FROM monitors WHERE kind = 'payout_taken_back');
DELETE FROM monitors WHERE kind = 'payout_taken_back';
ALTER TABLE monitors DROP CONSTRAINT monitors_kind_check;
ALTER TABLE monitors ADD CONSTRAINT monitors_kind_check CHECK (kind IN ('ledger_chain', 'balance_above',
    'held_leg_age', 'payout_failed_age', 'reconciliation_drift', 'kpi_sync_stale', 'webhook_inbox_age'));
