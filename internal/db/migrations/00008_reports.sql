-- +goose Up
-- Weekly client reports (workflows/report): who receives them and in which time zone a client's
-- week is cut, and one delivery record per client and ISO week. The record makes every step of a
-- delivery idempotent: generate stores the data and the rendered file, upload records what is in
-- S3 (and the `reports` row the API lists), email counts the sends asked for and made, so a rerun
-- sends nothing unless an admin asked for another send.

CREATE TABLE report_settings (
    client_id  text PRIMARY KEY REFERENCES clients (id),
    -- IANA zone name; the schedule runs Monday 06:00 there and the week is cut at local midnight.
    time_zone  text NOT NULL DEFAULT 'UTC' CHECK (time_zone ~ '^[A-Za-z0-9_+/-]{1,64}$'),
    -- Business addresses the client chose; never logged, never copied into delivery records.
    recipients text[] NOT NULL DEFAULT '{}' CHECK (cardinality(recipients) <= 20),
    enabled    boolean NOT NULL DEFAULT true,
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX report_settings_time_zone ON report_settings (time_zone);

CREATE TABLE report_deliveries (
    client_id       text NOT NULL REFERENCES clients (id),
    iso_week        text NOT NULL CHECK (iso_week ~ '^[0-9]{4}-W[0-9]{2}$'),
    -- The report's data (internal/report.Data) as rendered: a retry or resend renders and sends
    -- exactly this, whatever the KPI tables say by then. Regenerate replaces it.
    data            jsonb NOT NULL,
    -- The rendered PDF until it is in S3 (then S3 holds it and this is cleared).
    pdf             bytea,
    pdf_sha256      text NOT NULL CHECK (pdf_sha256 ~ '^[0-9a-f]{64}$'),
    pdf_bytes       integer NOT NULL CHECK (pdf_bytes > 0),
    pages           integer NOT NULL CHECK (pages > 0),
    generated_at    timestamptz NOT NULL,
    s3_key          text NOT NULL DEFAULT '',
    -- Digest of the file in S3: upload is skipped when it equals pdf_sha256.
    uploaded_sha256 text NOT NULL DEFAULT '',
    uploaded_at     timestamptz,
    -- The schedule asks for one send, each admin resend for one more; email sends while
    -- sends_done < sends_wanted. Concurrent requests coalesce into one send.
    sends_wanted    integer NOT NULL DEFAULT 0 CHECK (sends_wanted >= 0),
    sends_done      integer NOT NULL DEFAULT 0 CHECK (sends_done >= 0),
    emailed_at      timestamptz,
    message_id      text NOT NULL DEFAULT '',
    -- How many addresses the last send went to (the addresses themselves stay in report_settings).
    recipients      integer NOT NULL DEFAULT 0 CHECK (recipients >= 0),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (client_id, iso_week)
);

-- +goose Down
DROP TABLE report_deliveries;
DROP TABLE report_settings;
