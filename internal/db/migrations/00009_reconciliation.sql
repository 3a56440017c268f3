-- +goose Up
-- Reconciliation compares what the ledger says was paid out with what the provider says, and
-- records the drift. It never moves money: drift is for a person to look at.
CREATE TABLE reconciliation_runs (
    id           bigserial PRIMARY KEY,
    provider     text NOT NULL,
    window_start timestamptz NOT NULL,
    window_end   timestamptz NOT NULL,
    workflow_id  text NOT NULL DEFAULT '',
    checked      integer NOT NULL DEFAULT 0,
    drift_count  integer NOT NULL DEFAULT 0,
    created_at   timestamptz NOT NULL DEFAULT now(),
    -- A retried activity writes its run once.
    UNIQUE (provider, window_start, window_end, workflow_id)
);

CREATE TABLE reconciliation_drifts (
    run_id          bigint NOT NULL REFERENCES reconciliation_runs (id),
    payment         text NOT NULL,
    payee_id        text NOT NULL,
    currency        text NOT NULL,
    kind            text NOT NULL CHECK (kind IN ('missing_at_provider', 'extra_at_provider', 'amount_differs')),
    ledger_amount   bigint NOT NULL,
    provider_amount bigint NOT NULL,
    PRIMARY KEY (run_id, payment, payee_id, currency)
);

-- +goose Down
DROP TABLE reconciliation_drifts;
DROP TABLE reconciliation_runs;
