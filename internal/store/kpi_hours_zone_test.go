package store_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"paysplit/internal/kpi"
	"paysplit/internal/money"
	"paysplit/internal/store"
	"paysplit/testenv"
)

// TestKPIHoursWhateverTheServersTimeZone: hours are UTC hours, and storing them must not depend on
// the session's time zone, which is the server's default (postgresql.conf `timezone`, set by
// initdb from the host's zone) or PGTZ on the worker. kpi_hourly's check compared date_trunc('hour',
// hour), which truncates in the session's zone, with the hour itself: on a server in a zone whose
// offset is not whole hours (India, Nepal, Newfoundland, Lord Howe Island in its winter) every UTC
// hour was refused, so every ledger and GA4 sync failed and the client's KPIs went stale for good.
func TestKPIHoursWhateverTheServersTimeZone(t *testing.T) {
	ctx := t.Context()
	pool := testenv.OwnDatabase(t)
	var name string
	require.NoError(t, pool.QueryRow(ctx, `SELECT current_database()`).Scan(&name))
	s := store.New(pool)
	kpiClient(t, s, "kpi-hours-zone")

	// A June hour: Lord Howe Island is then on +10:30 (its 30-minute DST makes it +11 in summer).
	h := time.Date(2026, 6, 15, 9, 0, 0, 0, time.UTC)
	for i, zone := range []string{"Asia/Kolkata", "Asia/Kathmandu", "America/St_Johns", "Australia/Lord_Howe", "Europe/Berlin"} {
		t.Run(zone, func(t *testing.T) {
			// New sessions of this database start in zone, as on a server configured so.
			_, err := pool.Exec(ctx, fmt.Sprintf(`ALTER DATABASE %s SET timezone = '%s'`, pgx.Identifier{name}.Sanitize(), zone))
			require.NoError(t, err)
			pool.Reset()
			var session string
			require.NoError(t, pool.QueryRow(ctx, `SHOW timezone`).Scan(&session))
			require.Equal(t, zone, session, "the test runs in the zone it names")

			hour := h.Add(time.Duration(i) * time.Hour)
			require.NoError(t, s.UpsertKPITrafficHours(ctx, "kpi-hours-zone", []kpi.TrafficHour{{Hour: hour, Traffic: kpi.Traffic{Visitors: 5}}}))
			require.NoError(t, s.UpsertKPIRevenueHours(ctx, "kpi-hours-zone", []kpi.RevenueHour{{Hour: hour, Revenue: kpi.Revenue{Currency: money.USD, Gross: 300}}}))
			tr, rv, err := s.KPIHours(ctx, "kpi-hours-zone", hour, hour.Add(time.Hour))
			require.NoError(t, err)
			require.Equal(t, []kpi.TrafficHour{{Hour: hour, Traffic: kpi.Traffic{Visitors: 5}}}, tr)
			require.Equal(t, []kpi.RevenueHour{{Hour: hour, Revenue: kpi.Revenue{Currency: money.USD, Gross: 300}}}, rv)

			// Half past a UTC hour is no hour, though it is a whole hour on a half-hour zone's clock.
			_, err = pool.Exec(ctx, `INSERT INTO kpi_hourly (client_id, hour, gross, currency) VALUES ($1, $2, 1, 'usd')`,
				"kpi-hours-zone", hour.Add(30*time.Minute))
			require.Error(t, err, "half past %s is not an hour", hour.Format(time.TimeOnly))
		})
	}
}
