-- +goose Up
-- Provider events are acknowledged once they are here, and forwarded to their payment's
-- workflow by the API's relay. The event is the reduced form the workflow takes (order metadata
-- only, no customer data). Forwarded rows stay for a while so a re-delivery is answered as a
-- duplicate without asking Temporal; retention deletes them.
CREATE TABLE webhook_inbox (
    id              bigserial PRIMARY KEY,
    provider        text        NOT NULL,
    event_id        text        NOT NULL,
    payment_id      text        NOT NULL,
    task_queue      text        NOT NULL,
    event           jsonb       NOT NULL,
    trace           jsonb,
    received_at     timestamptz NOT NULL DEFAULT now(),
    attempts        integer     NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    last_error      text,
    forwarded_at    timestamptz,
    UNIQUE (provider, event_id)
);

-- The relay's queue: only what is still to forward, per task queue, in arrival order. An API
-- forwards the events it was configured for (its TASK_QUEUE), so deployments sharing a
-- database never start each other's workflows.
CREATE INDEX webhook_inbox_pending ON webhook_inbox (task_queue, id) WHERE forwarded_at IS NULL;
CREATE INDEX webhook_inbox_forwarded ON webhook_inbox (forwarded_at) WHERE forwarded_at IS NOT NULL;

-- +goose Down
DROP TABLE webhook_inbox;
