-- +goose Up
-- A session opened with the bootstrap ADMIN_API_KEY (key_id 'bootstrap') has no api_keys row that
-- revoking would end, so it is bound to the key itself: key_mac is HMAC-SHA256 under the key of
-- the session's token, and a session whose MAC the configured key does not reproduce is refused
-- (rotating ADMIN_API_KEY ends every session it opened). The token is only stored hashed, so the
-- MAC helps nobody guess the key. Bootstrap sessions opened before this cannot be checked: they end.
DELETE FROM sessions WHERE key_id = 'bootstrap';
ALTER TABLE sessions ADD COLUMN key_mac bytea CHECK (length(key_mac) = 32);
ALTER TABLE sessions ADD CONSTRAINT sessions_bootstrap_key_mac CHECK ((key_id = 'bootstrap') = (key_mac IS NOT NULL));

-- +goose Down
ALTER TABLE sessions DROP CONSTRAINT sessions_bootstrap_key_mac;
ALTER TABLE sessions DROP COLUMN key_mac;
