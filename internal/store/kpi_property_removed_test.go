package store_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"paysplit/internal/kpi"
	"paysplit/internal/store"
	"paysplit/testenv"
)

// TestHotDaysDropPropertylessGA4TrafficOnceGA4IsRemoved: traffic a worker of the previous release
// stored as plain "ga4" counts as the client's while it has a GA4 property (which one is not
// known), but not once GA4 was removed: no sync touches traffic then, so a client whose GA4 sync
// had not run since the upgrade (its credentials refused, or removed within a sync period) went
// on showing the removed GA4's visitors on its hot days until they aged out.
func TestHotDaysDropPropertylessGA4TrafficOnceGA4IsRemoved(t *testing.T) {
	pool, _ := testenv.Postgres(t)
	s := store.New(pool)
	ctx := t.Context()
	kpiClient(t, s, "kpi-legacy")
	require.NoError(t, s.UpsertKPITraffic(ctx, "kpi-legacy", kpi.SourceGA4,
		[]kpi.TrafficDay{{Day: d("2026-06-16"), Traffic: kpi.Traffic{Visitors: 13, Sessions: 13}}}))
	for _, c := range []struct {
		property string
		want     int
	}{{"8001", 1}, {"", 0}} {
		_, err := s.PutKPISettings(ctx, store.KPISettings{ClientID: "kpi-legacy", GA4PropertyID: c.property, ProviderRevenue: true})
		require.NoError(t, err)
		days, err := s.KPIHotDays(ctx, "kpi-legacy", d("2026-06-16"), d("2026-06-16"))
		require.NoError(t, err)
		require.Len(t, days, c.want, "property %q: %+v", c.property, days)
	}
}
