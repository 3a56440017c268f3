-- +goose Up
-- A weekly report goes to the recipients the SMTP server accepts; one it refuses for good (550 no
-- such mailbox) used to fail the whole send, and nobody got the report. A send now records which
-- recipients were refused, as their positions (0-based) in report_settings.recipients as it was at
-- that send: the addresses stay in report_settings only. `recipients` counts those who got it.
-- sent_by_run is the Temporal run whose email step made the last send: that step, retried after
-- its completion was lost (the worker died after recording the send), answers that its send was
-- made rather than "already sent", so the week's outcome says sent.
ALTER TABLE report_deliveries
    ADD COLUMN refused_recipients integer[] NOT NULL DEFAULT '{}' CHECK (cardinality(refused_recipients) <= 20),
    ADD COLUMN sent_by_run text NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE report_deliveries DROP COLUMN sent_by_run, DROP COLUMN refused_recipients;
