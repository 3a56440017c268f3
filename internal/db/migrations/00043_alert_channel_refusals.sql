-- +goose Up
-- A channel that refuses an alert message for good (an SMTP server's 5xx to the end of its DATA:
-- too large, its content filter; a webhook's 4xx other than 408/429: a revoked URL's 404/410, a
-- payload it will not take) refuses it again however often it is sent, yet nothing recorded that
-- it gave up (delivered_at would say the message reached on-call), so every delivery round for
-- the message's 48 hours sent it again. <channel>_refused_at and <channel>_refusal (the reason) say
-- that channel gave up on the message: no round sends it there again; the other channel carries
-- on. given_up_at is set when no channel is left to try and one of them gave up: the message is
-- then neither delivered nor pending. Nullable columns without a default: instant on a table with
-- rows.
ALTER TABLE alert_notifications
    ADD COLUMN webhook_refused_at timestamptz,
    ADD COLUMN webhook_refusal    text,
    ADD COLUMN email_refused_at   timestamptz,
    ADD COLUMN email_refusal      text,
    ADD COLUMN given_up_at        timestamptz;

-- +goose Down
-- The previous release takes a given-up message for pending and tries it again until its 48 hours
-- are over, as before.
ALTER TABLE alert_notifications
    DROP COLUMN given_up_at,
    DROP COLUMN email_refusal,
    DROP COLUMN email_refused_at,
    DROP COLUMN webhook_refusal,
    DROP COLUMN webhook_refused_at;
