-- +goose Up
-- Client KPI sync (workflows/kpisync): per-client source settings, what each source last did, the
-- parts of a daily row each source filled, hourly rows for today, and indexes the retention
-- workflow deletes by. Postgres keeps a hot window (KPI_RETENTION_DAYS); older days are fetched
-- from the sources on demand.

-- Where a client's KPIs come from. Credentials are a reference (a file path or the name of an
-- environment variable the deployment fills from its secret store), never the secret itself.
CREATE TABLE kpi_settings (
    client_id           text PRIMARY KEY REFERENCES clients (id),
    ga4_property_id     text NOT NULL DEFAULT '' CHECK (ga4_property_id ~ '^([0-9]{1,20})?$'),
    ga4_credentials_ref text NOT NULL DEFAULT ''
        CHECK (length(ga4_credentials_ref) <= 512 AND ga4_credentials_ref ~ '^((file:/[^[:space:]]+)|(env:[A-Z_][A-Z0-9_]{0,127}))?$'),
    -- Revenue older than the hot window from the payment provider (Stripe charges).
    provider_revenue    boolean NOT NULL DEFAULT true,
    -- 0 means the deployment's KPI_SYNC_EVERY.
    sync_every_seconds  integer NOT NULL DEFAULT 0 CHECK (sync_every_seconds = 0 OR sync_every_seconds BETWEEN 60 AND 86400),
    updated_at          timestamptz NOT NULL DEFAULT now()
);

-- One row per client and source: the last good sync, the last try and its error. A source down
-- for hours shows as stale with the time of its last good sync; its stored numbers stay as they
-- were, never zeroed.
CREATE TABLE kpi_sync_status (
    client_id       text NOT NULL REFERENCES clients (id),
    source          text NOT NULL CHECK (source ~ '^[a-z0-9_]{1,32}$'),
    last_success_at timestamptz,
    last_attempt_at timestamptz NOT NULL,
    last_error      text NOT NULL DEFAULT '' CHECK (length(last_error) <= 1000),
    failures        integer NOT NULL DEFAULT 0 CHECK (failures >= 0),
    PRIMARY KEY (client_id, source)
);

-- Which source filled which part of a day: a client without analytics has revenue and no traffic,
-- and the API must not show the missing part as zeros. Rows written before this migration (both
-- NULL) count as complete.
ALTER TABLE kpi_daily
    ADD COLUMN gross             bigint NOT NULL DEFAULT 0,
    ADD COLUMN refunds           bigint NOT NULL DEFAULT 0,
    ADD COLUMN commission        bigint,
    ADD COLUMN traffic_source    text,
    ADD COLUMN traffic_synced_at timestamptz,
    ADD COLUMN revenue_source    text,
    ADD COLUMN revenue_synced_at timestamptz;

-- Today by the hour (and the hours of the last few days until retention removes them).
CREATE TABLE kpi_hourly (
    client_id       text NOT NULL REFERENCES clients (id),
    hour            timestamptz NOT NULL CHECK (date_trunc('hour', hour) = hour),
    visitors        bigint CHECK (visitors >= 0),
    new_visitors    bigint CHECK (new_visitors >= 0),
    sessions        bigint CHECK (sessions >= 0),
    bounce_rate_bps integer CHECK (bounce_rate_bps BETWEEN 0 AND 10000),
    gross           bigint,
    refunds         bigint,
    currency        text NOT NULL DEFAULT '',
    updated_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (client_id, hour)
);

-- Retention deletes by age across clients, in small batches: these keep each batch an index scan.
CREATE INDEX kpi_daily_day ON kpi_daily (day);
CREATE INDEX kpi_hourly_hour ON kpi_hourly (hour);
CREATE INDEX webhook_deliveries_received_at ON webhook_deliveries (received_at);

-- +goose Down
DROP INDEX webhook_deliveries_received_at;
DROP TABLE kpi_hourly;
DROP INDEX kpi_daily_day;
ALTER TABLE kpi_daily
    DROP COLUMN gross,
    DROP COLUMN refunds,
    DROP COLUMN commission,
    DROP COLUMN traffic_source,
    DROP COLUMN traffic_synced_at,
    DROP COLUMN revenue_source,
    DROP COLUMN revenue_synced_at;
DROP TABLE kpi_sync_status;
DROP TABLE kpi_settings;
