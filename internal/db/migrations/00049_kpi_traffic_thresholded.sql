-- +goose Up
-- GA4 answers a report subject to thresholding (metadata.subjectToThresholding) when it withheld
-- rows with low user counts: the day's visitors and new visitors may be lower than the real ones,
-- and a report or dashboard built from the stored days must say so. traffic_thresholded_at is the
-- traffic_synced_at of the sync that was told so, NULL when it was not: the day counts as
-- thresholded only while the two are equal, so a previous release's sync (a rolling deploy, a
-- rollback), which sets traffic_synced_at and not this, leaves the day as that release shows it,
-- without the note, rather than with a stale one. Nullable, no default: instant on a table with
-- rows; days stored before count as not thresholded.
ALTER TABLE kpi_daily ADD COLUMN traffic_thresholded_at timestamptz;

-- +goose Down
ALTER TABLE kpi_daily DROP COLUMN traffic_thresholded_at;
