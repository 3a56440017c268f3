package store_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"paysplit/internal/kpi"
	"paysplit/internal/money"
	"paysplit/internal/store"
	"paysplit/testenv"
)

// TestHotDaysKeepTheCurrentPropertysTrafficOnly: a stored day's traffic counts while the GA4
// property it was synced from (kpi.StoredName) is the client's; a day that holds nothing else
// (its revenue not stored) is then absent, as a day without a row, so the reader fetches it
// from the sources instead of showing a stored day with nothing in it. Traffic stored without
// a property ("ga4", before) counts while the client has a GA4 property.
func TestHotDaysKeepTheCurrentPropertysTrafficOnly(t *testing.T) {
	pool, _ := testenv.Postgres(t)
	s := store.New(pool)
	ctx := t.Context()
	kpiClient(t, s, "kpi-prop")
	tr := func(day string, v int64) []kpi.TrafficDay {
		return []kpi.TrafficDay{{Day: d(day), Traffic: kpi.Traffic{Visitors: v, Sessions: v}}}
	}
	require.NoError(t, s.UpsertKPITraffic(ctx, "kpi-prop", "ga4@properties/8001", tr("2026-06-14", 11)))
	require.NoError(t, s.UpsertKPIRevenue(ctx, "kpi-prop", kpi.SourceLedger,
		[]kpi.RevenueDay{{Day: d("2026-06-14"), Revenue: kpi.Revenue{Currency: money.USD, Gross: 500}}}))
	require.NoError(t, s.UpsertKPITraffic(ctx, "kpi-prop", "ga4@properties/8001", tr("2026-06-15", 12)))
	require.NoError(t, s.UpsertKPITraffic(ctx, "kpi-prop", kpi.SourceGA4, tr("2026-06-16", 13)))

	type got struct {
		day        string
		visitors   int64
		hasRevenue bool
	}
	read := func() []got {
		days, err := s.KPIHotDays(ctx, "kpi-prop", d("2026-06-14"), d("2026-06-16"))
		require.NoError(t, err)
		var out []got
		for _, x := range days {
			g := got{day: x.Day.Format("2006-01-02"), visitors: -1, hasRevenue: x.Revenue != nil}
			if x.Traffic != nil {
				g.visitors = x.Traffic.Visitors
			}
			out = append(out, g)
		}
		return out
	}
	for _, c := range []struct {
		property string
		want     []got
	}{
		{"8001", []got{{"2026-06-14", 11, true}, {"2026-06-15", 12, false}, {"2026-06-16", 13, false}}},
		{"8002", []got{{"2026-06-14", -1, true}, {"2026-06-16", 13, false}}},
		// GA4 removed: the traffic stored without a property is not the client's any more either.
		{"", []got{{"2026-06-14", -1, true}}},
	} {
		_, err := s.PutKPISettings(ctx, store.KPISettings{ClientID: "kpi-prop", GA4PropertyID: c.property, ProviderRevenue: true})
		require.NoError(t, err)
		require.Equal(t, c.want, read(), "property %q", c.property)
	}
}
