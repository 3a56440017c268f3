-- +goose Up
-- A client the agency no longer works for is offboarded, not deleted: its payments, books,
-- payouts and reports stay, and money events for its past payments are still taken. What stops
-- is what serves a working shop: its KPI sync schedule and its weekly report. offboarded_at is
-- set exactly while the client is offboarded (when it left, for the admin list).
ALTER TABLE clients
    ADD COLUMN status text NOT NULL DEFAULT 'active',
    ADD COLUMN offboarded_at timestamptz,
    ADD CONSTRAINT clients_status_check CHECK (status IN ('active', 'offboarded')),
    ADD CONSTRAINT clients_offboarded_at_check CHECK ((status = 'offboarded') = (offboarded_at IS NOT NULL));

-- +goose Down
-- An earlier release knows no offboarded clients: they become active again there, and its
-- worker recreates their KPI schedules at start.
ALTER TABLE clients
    DROP CONSTRAINT clients_offboarded_at_check,
    DROP CONSTRAINT clients_status_check,
    DROP COLUMN offboarded_at,
    DROP COLUMN status;
