-- +goose Up
-- Access control (API keys, browser sessions), the admin audit log, per-client configuration
-- (encrypted webhook secrets, dashboard settings) and what the client dashboard reads (daily KPIs,
-- weekly reports).

-- A key is shown once when it is created; only its SHA-256 is kept. Keys are 256 random bits, so
-- a plain hash (no salt, no stretching) is enough: there is nothing to guess from it.
CREATE TABLE api_keys (
    id         text PRIMARY KEY,
    role       text NOT NULL CHECK (role IN ('admin', 'client')),
    client_id  text REFERENCES clients (id),
    name       text NOT NULL DEFAULT '',
    key_hash   bytea NOT NULL UNIQUE CHECK (length(key_hash) = 32),
    created_by text NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL DEFAULT now(),
    revoked_at timestamptz,
    -- A client key always names its client, an admin key never does.
    CHECK ((role = 'client') = (client_id IS NOT NULL))
);
CREATE INDEX api_keys_client ON api_keys (client_id);

-- A browser session is opened by exchanging a key; it dies with the key. Only hashes of the
-- session token and of its CSRF token are stored.
CREATE TABLE sessions (
    token_hash bytea PRIMARY KEY CHECK (length(token_hash) = 32),
    csrf_hash  bytea NOT NULL CHECK (length(csrf_hash) = 32),
    -- 'bootstrap' for the ADMIN_API_KEY from the environment, else an api_keys id.
    key_id     text NOT NULL,
    role       text NOT NULL CHECK (role IN ('admin', 'client')),
    client_id  text REFERENCES clients (id),
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    CHECK ((role = 'client') = (client_id IS NOT NULL))
);
CREATE INDEX sessions_expires ON sessions (expires_at);
CREATE INDEX sessions_key ON sessions (key_id);

-- Every admin change: who, what, when, and the target's state before and after (never a secret).
CREATE TABLE audit_log (
    id         bigserial PRIMARY KEY,
    actor      text NOT NULL,
    action     text NOT NULL,
    target     text NOT NULL,
    before     jsonb,
    after      jsonb,
    request_id text NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX audit_log_target ON audit_log (target, id);

-- +goose StatementBegin
CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only: % is not allowed', TG_OP
        USING ERRCODE = 'restrict_violation';
END $$;
-- +goose StatementEnd

CREATE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE OR TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();

-- Storefront webhook signing secrets, AES-256-GCM sealed under SECRETS_KEY and bound to
-- (client_id, provider). Write-only through the API.
CREATE TABLE client_webhook_secrets (
    client_id  text NOT NULL REFERENCES clients (id),
    provider   text NOT NULL,
    sealed     bytea NOT NULL,
    updated_by text NOT NULL DEFAULT '',
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (client_id, provider)
);

-- Dashboard settings; the layout is the same for every client, these only tune it.
CREATE TABLE client_settings (
    client_id      text PRIMARY KEY REFERENCES clients (id),
    default_period text NOT NULL DEFAULT '30d' CHECK (default_period IN ('7d', '30d')),
    accent_color   text NOT NULL DEFAULT '#2563eb' CHECK (accent_color ~ '^#[0-9a-f]{6}$'),
    updated_at     timestamptz NOT NULL DEFAULT now()
);

-- Daily storefront KPIs per client, filled by the analytics sync.
CREATE TABLE kpi_daily (
    client_id       text NOT NULL REFERENCES clients (id),
    day             date NOT NULL,
    visitors        bigint NOT NULL DEFAULT 0 CHECK (visitors >= 0),
    new_visitors    bigint NOT NULL DEFAULT 0 CHECK (new_visitors >= 0),
    bounce_rate_bps integer NOT NULL DEFAULT 0 CHECK (bounce_rate_bps BETWEEN 0 AND 10000),
    sessions        bigint NOT NULL DEFAULT 0 CHECK (sessions >= 0),
    revenue         bigint NOT NULL DEFAULT 0,
    currency        text NOT NULL DEFAULT '',
    updated_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (client_id, day)
);

-- Weekly client reports (ISO week, e.g. 2026-W07) and where the rendered file is stored.
CREATE TABLE reports (
    client_id  text NOT NULL REFERENCES clients (id),
    iso_week   text NOT NULL CHECK (iso_week ~ '^[0-9]{4}-W[0-9]{2}$'),
    s3_key     text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (client_id, iso_week)
);

-- +goose Down
DROP TABLE reports;
DROP TABLE kpi_daily;
DROP TABLE client_settings;
DROP TABLE client_webhook_secrets;
DROP TABLE audit_log;
DROP FUNCTION audit_log_append_only;
DROP TABLE sessions;
DROP TABLE api_keys;
