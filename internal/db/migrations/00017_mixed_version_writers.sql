-- +goose Up
-- Migrations run as the first new task starts, while the old tasks still serve (and after a
-- rollback the old code runs on this schema for good), so the schema must take what the previous
-- release writes.
--
-- 00015's CHECK that bootstrap sessions carry key_mac refused the previous API's bootstrap login
-- (500). The API refuses a bootstrap session whose MAC the configured key does not reproduce
-- (store.SessionByToken), a missing MAC included, so the constraint adds nothing but the outage:
-- such a session is stored and then not taken.
ALTER TABLE sessions DROP CONSTRAINT sessions_bootstrap_key_mac;

-- 00016's status_since was moved by the new SavePayment only: a status change the previous
-- worker saved kept the time of the status before it, and a payout_failed_age monitor fired at
-- once. A trigger moves it whoever writes.
-- +goose StatementBegin
CREATE FUNCTION payments_status_since() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF NEW.status IS DISTINCT FROM OLD.status THEN
		NEW.status_since := now();
	END IF;
	RETURN NEW;
END
$$;
-- +goose StatementEnd
CREATE TRIGGER payments_status_since BEFORE UPDATE ON payments
	FOR EACH ROW EXECUTE FUNCTION payments_status_since();

-- +goose Down
DROP TRIGGER payments_status_since ON payments;
DROP FUNCTION payments_status_since();
ALTER TABLE sessions ADD CONSTRAINT sessions_bootstrap_key_mac CHECK ((key_id = 'bootstrap') = (key_mac IS NOT NULL)) NOT VALID;
