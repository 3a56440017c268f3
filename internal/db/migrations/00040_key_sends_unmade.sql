-- +goose Up
-- A Stripe send of a key sent before looked the key up at Stripe on every retry, also after
-- answers that say nothing was made: a 429 (Stripe rate limits before its endpoint runs, so it
-- made nothing and saved no answer under the key). Under a storm of 429s each retry's lookup was
-- one call more, and a lookup rate limited in its turn ended the attempt before the transfer was
-- asked. unmade counts the sends under the key that made nothing at the provider (answered 429,
-- or never asked: the lookup before them failed); a send looks the key up only when an earlier
-- one may have made the movement (sends before it > unmade before it). Instant: a constant default.
ALTER TABLE stripe_key_sends ADD COLUMN unmade integer NOT NULL DEFAULT 0;

-- +goose Down
-- The previous release looks a key sent before up on every send, as before.
ALTER TABLE stripe_key_sends DROP COLUMN unmade;
