-- +goose Up
-- kpi_hourly's hours are UTC hours, but its check truncated them with date_trunc('hour', hour) on
-- the timestamptz, which works in the session's time zone: the server's default (initdb takes the
-- host's zone) or the client's PGTZ. In a zone whose offset is not whole hours (Asia/Kolkata,
-- Asia/Kathmandu, America/St_Johns, Australia/Lord_Howe in its winter) every UTC hour failed the
-- check and every KPI sync with it (store TestKPIHoursWhateverTheServersTimeZone). Truncating the
-- UTC wall time is the same test in every session (and immutable, as a check should be). The table
-- holds a few days of hours (retention), so checking them again is quick.
ALTER TABLE kpi_hourly DROP CONSTRAINT kpi_hourly_hour_check,
	ADD CONSTRAINT kpi_hourly_hour_check CHECK (date_trunc('hour', hour AT TIME ZONE 'UTC') = hour AT TIME ZONE 'UTC');

-- +goose Down
ALTER TABLE kpi_hourly DROP CONSTRAINT kpi_hourly_hour_check,
	ADD CONSTRAINT kpi_hourly_hour_check CHECK (date_trunc('hour', hour) = hour);
