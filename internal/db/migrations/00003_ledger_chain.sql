-- Tamper-evident journal and balance monitors.
--
-- Every journal entry is a link of one hash chain: entry_hash = H(prev_hash || canonical entry),
-- where the canonical entry covers its id, idempotency key, currency, reversal target,
-- reference, description, creation time and content_hash (which itself covers the postings as a
-- multiset, see 00001). Editing, inserting or removing any entry or posting afterwards breaks the
-- chain at that entry, which ledger.Verify reports. The database computes the links itself, in a
-- trigger, so every writer (the ledger package, a hand-run script) extends the same chain.
--
-- Also here: monitor definitions, their alerts and the alert notification outbox.

-- +goose Up

-- The chain's tip. Its row is locked FOR UPDATE by every append (in the trigger below), which
-- serialises appends across all processes and lets ids and created_at follow chain order. It also
-- records the last link, so removing entries from the end of the chain is detected too.
CREATE TABLE ledger_chain_head (
    ledger        text        PRIMARY KEY CHECK (ledger = 'main'),
    last_entry_id bigint,
    last_hash     text        NOT NULL,
    updated_at    timestamptz NOT NULL DEFAULT now()
);

-- Nullable: rows planted with the triggers bypassed (session_replication_role = replica) have no
-- link, and the verifier reports exactly that.
ALTER TABLE journal_entries
    ADD COLUMN prev_hash  text,
    ADD COLUMN entry_hash text;

-- +goose StatementBegin
-- Length-prefixed so that no two different field lists encode to the same bytes.
CREATE FUNCTION ledger_chain_field(v text) RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT octet_length(convert_to(coalesce(v, ''), 'UTF8'))::text || ':' || coalesce(v, '')
$$;
-- +goose StatementEnd

-- +goose StatementBegin
-- The one definition of a link's hash; internal/ledger/chain.go computes the same bytes to verify.
-- created_at enters as integer microseconds since the Unix epoch (timestamptz's resolution).
CREATE FUNCTION ledger_chain_hash(prev_hash text, id bigint, idempotency_key text, currency text,
        reverses_id bigint, reference text, description text, created_at timestamptz, content_hash text)
RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT encode(sha256(convert_to(
        'paysplit-ledger-chain-v1'
        || ledger_chain_field(prev_hash)
        || ledger_chain_field(id::text)
        || ledger_chain_field(idempotency_key)
        || ledger_chain_field(currency)
        || ledger_chain_field(reverses_id::text)
        || ledger_chain_field(reference)
        || ledger_chain_field(description)
        || ledger_chain_field((extract(epoch FROM created_at) * 1000000)::bigint::text)
        || ledger_chain_field(content_hash),
        'UTF8')), 'hex')
$$;
-- +goose StatementEnd

-- Existing entries join the chain in id order, with the times they already have. The append-only
-- trigger is switched off for this one transaction (goose runs each migration in one), so no
-- other session ever sees the journal writable.
ALTER TABLE journal_entries DISABLE TRIGGER journal_entries_append_only;

-- +goose StatementBegin
DO $$
DECLARE
    r    record;
    prev text := repeat('0', 64);
BEGIN
    FOR r IN SELECT * FROM journal_entries ORDER BY id LOOP
        UPDATE journal_entries
           SET prev_hash = prev,
               entry_hash = ledger_chain_hash(prev, r.id, r.idempotency_key, r.currency, r.reverses_id,
                                              r.reference, r.description, r.created_at, r.content_hash)
         WHERE id = r.id
        RETURNING entry_hash INTO prev;
    END LOOP;
END;
$$;
-- +goose StatementEnd

ALTER TABLE journal_entries ENABLE TRIGGER journal_entries_append_only;

INSERT INTO ledger_chain_head (ledger, last_entry_id, last_hash)
SELECT 'main', max(id), coalesce((SELECT entry_hash FROM journal_entries ORDER BY id DESC LIMIT 1), repeat('0', 64))
  FROM journal_entries;

-- +goose StatementBegin
-- BEFORE INSERT: takes the chain lock, then gives the entry its id, its time and its link. The id
-- is drawn again under the lock (the column default ran before it) so ids, times and the chain
-- all have one order; the gap this leaves in the sequence is harmless. The time is the clock at
-- append, never earlier than the previous link's, so a balance "as of" a time only ever includes
-- a prefix of the chain.
CREATE FUNCTION ledger_chain_link() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    prev_hash       text;
    prev_created_at timestamptz;
BEGIN
    PERFORM 1 FROM ledger_chain_head WHERE ledger = 'main' FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'ledger: the chain head row is missing: the journal cannot be appended to'
            USING ERRCODE = 'restrict_violation', TABLE = 'ledger_chain_head';
    END IF;
    -- The last linked entry, not the head row: in a multi-row INSERT the earlier rows of the same
    -- statement are visible here, but the head is only advanced after each row (AFTER trigger).
    SELECT e.entry_hash, e.created_at INTO prev_hash, prev_created_at
      FROM journal_entries e WHERE e.entry_hash IS NOT NULL
     ORDER BY e.id DESC LIMIT 1;

    NEW.id := nextval(pg_get_serial_sequence('journal_entries', 'id'));
    NEW.created_at := greatest(clock_timestamp(), prev_created_at);
    NEW.prev_hash := coalesce(prev_hash, repeat('0', 64));
    NEW.entry_hash := ledger_chain_hash(NEW.prev_hash, NEW.id, NEW.idempotency_key, NEW.currency,
        NEW.reverses_id, NEW.reference, NEW.description, NEW.created_at, NEW.content_hash);
    RETURN NEW;
END;
$$;
-- +goose StatementEnd

-- +goose StatementBegin
-- AFTER INSERT fires only for rows really inserted: an INSERT ... ON CONFLICT DO NOTHING that
-- found its idempotency key taken leaves the head (and so the chain) where it was.
CREATE FUNCTION ledger_chain_advance() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE ledger_chain_head
       SET last_entry_id = NEW.id, last_hash = NEW.entry_hash, updated_at = now()
     WHERE ledger = 'main' AND (last_entry_id IS NULL OR last_entry_id < NEW.id);
    RETURN NULL;
END;
$$;
-- +goose StatementEnd

CREATE TRIGGER journal_entries_chain_link
    BEFORE INSERT ON journal_entries
    FOR EACH ROW EXECUTE FUNCTION ledger_chain_link();

CREATE TRIGGER journal_entries_chain_advance
    AFTER INSERT ON journal_entries
    FOR EACH ROW EXECUTE FUNCTION ledger_chain_advance();

-- The head only moves forward through the trigger above; it is never deleted.
CREATE TRIGGER ledger_chain_head_append_only
    BEFORE DELETE OR TRUNCATE ON ledger_chain_head
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_reject_mutation();

-- Monitors: admin-defined checks evaluated on a schedule. params depend on kind (see
-- internal/monitor). The ledger_chain monitor is the system's own and is fed by chain verification.
CREATE TABLE monitors (
    id                bigserial   PRIMARY KEY,
    name              text        NOT NULL CHECK (name <> ''),
    kind              text        NOT NULL CHECK (kind IN ('ledger_chain', 'balance_above', 'held_leg_age',
                                                           'reconciliation_drift', 'kpi_sync_stale')),
    params            jsonb       NOT NULL DEFAULT '{}',
    -- Notifications are deduplicated per monitor and period: at most one "firing" and one
    -- "resolved" message per period.
    period_seconds    bigint      NOT NULL DEFAULT 86400 CHECK (period_seconds BETWEEN 60 AND 31536000),
    system            boolean     NOT NULL DEFAULT false,
    created_by        text        NOT NULL DEFAULT '',
    created_at        timestamptz NOT NULL DEFAULT now(),
    deleted_at        timestamptz,
    last_status       text        NOT NULL DEFAULT '',
    last_summary      text        NOT NULL DEFAULT '',
    last_evaluated_at timestamptz
);
CREATE UNIQUE INDEX monitors_live_name ON monitors (name) WHERE deleted_at IS NULL;

INSERT INTO monitors (name, kind, system, created_by) VALUES ('ledger chain', 'ledger_chain', true, 'system');

-- One row per incident: opened when a monitor starts firing, resolved when it clears.
CREATE TABLE alerts (
    id          bigserial   PRIMARY KEY,
    monitor_id  bigint      NOT NULL REFERENCES monitors (id),
    state       text        NOT NULL CHECK (state IN ('firing', 'resolved')),
    summary     text        NOT NULL,
    value       bigint      NOT NULL DEFAULT 0,
    subjects    jsonb       NOT NULL DEFAULT '[]',
    fired_at    timestamptz NOT NULL,
    resolved_at timestamptz,
    updated_at  timestamptz NOT NULL DEFAULT now(),
    CHECK ((state = 'resolved') = (resolved_at IS NOT NULL))
);
-- At most one open incident per monitor, whoever evaluates it and however often.
CREATE UNIQUE INDEX alerts_one_firing_per_monitor ON alerts (monitor_id) WHERE state = 'firing';
CREATE INDEX alerts_recent ON alerts (fired_at DESC, id DESC);

-- Outbox of messages to the webhook and email. The unique key is the deduplication: one message
-- per monitor, event and period, whatever the number of evaluations or retries.
CREATE TABLE alert_notifications (
    id              bigserial   PRIMARY KEY,
    alert_id        bigint      NOT NULL REFERENCES alerts (id),
    monitor_id      bigint      NOT NULL REFERENCES monitors (id),
    event           text        NOT NULL CHECK (event IN ('firing', 'resolved')),
    period_start    timestamptz NOT NULL,
    summary         text        NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    webhook_sent_at timestamptz,
    email_sent_at   timestamptz,
    delivered_at    timestamptz,
    attempts        integer     NOT NULL DEFAULT 0,
    last_error      text        NOT NULL DEFAULT '',
    UNIQUE (monitor_id, event, period_start)
);
CREATE INDEX alert_notifications_pending ON alert_notifications (id) WHERE delivered_at IS NULL;

-- +goose Down
DROP TABLE alert_notifications;
DROP TABLE alerts;
DROP TABLE monitors;
DROP TRIGGER journal_entries_chain_advance ON journal_entries;
DROP TRIGGER journal_entries_chain_link ON journal_entries;
DROP FUNCTION ledger_chain_advance();
DROP FUNCTION ledger_chain_link();
ALTER TABLE journal_entries DROP COLUMN entry_hash, DROP COLUMN prev_hash;
DROP FUNCTION ledger_chain_hash(text, bigint, text, text, bigint, text, text, timestamptz, text);
DROP FUNCTION ledger_chain_field(text);
DROP TABLE ledger_chain_head;
