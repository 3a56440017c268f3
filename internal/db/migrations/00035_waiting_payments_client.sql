-- +goose Up
-- A payment waiting for its order is its capture's client's payment (store.SavePayment files it
-- under its order waiter's client since the release of 2026-11-27). Rows saved before it kept
-- client_id '' and fill in only at their next save, which a payment parked for its missing order
-- may never get: it stayed out of its client's admin search, stuck payouts, revenue "not split
-- yet" and weekly report. Filed here as SavePayment files them: the first waiter's client and
-- order. Few rows (payments without a client that waited); the rest of payments is only read.
UPDATE payments p SET client_id = w.client_id, order_id = w.order_id
FROM (SELECT DISTINCT ON (workflow_id) workflow_id, client_id, order_id
      FROM order_waiters ORDER BY workflow_id, created_at) w
WHERE p.client_id = '' AND p.workflow_id = w.workflow_id;

-- +goose Down
-- Nothing to undo: the rows name the client their payment is of, which the previous release
-- writes too at their next save.
SELECT 1;
