-- +goose Up
-- Stripe forgets an idempotency key once it is 24 hours old and makes a second transfer (or
-- reversal) under it after that. A payout sent as a local activity by a worker that died before
-- its workflow task completed leaves nothing in the run's history: the next worker, maybe days
-- later, sends the key again as new. The Stripe rail records each key's first send here before it
-- calls Stripe, and a send that finds its key here looks for the movement made under it first.
-- The key alone (workflow, leg, attempt: no customer data), when it was first sent and how often.
-- Kept at least 30 days, pruned with the webhook delivery records (KPI_RETENTION_DAYS).
CREATE TABLE stripe_key_sends (
    key           text PRIMARY KEY,
    first_sent_at timestamptz NOT NULL DEFAULT now(),
    sends         integer NOT NULL DEFAULT 1
);
CREATE INDEX stripe_key_sends_first_sent ON stripe_key_sends (first_sent_at);

-- +goose Down
-- The previous release sends a key it has no record of as new, as before.
DROP TABLE stripe_key_sends;
