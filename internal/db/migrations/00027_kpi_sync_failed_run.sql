-- +goose Up
-- kpi_sync_status.failures counts a source's failed syncs since its last good one, one per run.
-- It was incremented on every write, and Temporal writes again when RecordKPISyncFailure's
-- completion is lost (a timeout after the write, a worker gone): one failed run counted two or
-- more. The start of the run whose failure was counted last makes the count idempotent per run
-- (activities TestRecordKPISyncFailureCountsARunOnce). NULL for rows written before.
ALTER TABLE kpi_sync_status ADD COLUMN last_failed_run timestamptz;

-- +goose Down
ALTER TABLE kpi_sync_status DROP COLUMN last_failed_run;
