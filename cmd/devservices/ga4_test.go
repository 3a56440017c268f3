package main

import (
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"paysplit/internal/kpi"
	"paysplit/internal/kpi/ga4"
)

// TestGA4FakeServesDemoTrafficToTheRealClient: the worker and the API of `make dev` read the
// fake with the real GA4 client, authenticated with the key file devservices wrote (its token
// endpoint the fake's) and named as the demo names it, file:<dir>/ga4/dev-service-account.json.
// Each property gets plausible figures of its own for the last ga4History days, the same across
// a restart; today's date row is its hours so far, and nothing after the current hour is served.
func TestGA4FakeServesDemoTrafficToTheRealClient(t *testing.T) {
	now := time.Date(2026, 11, 28, 13, 30, 0, 0, time.UTC)
	o := options{S3Addr: "127.0.0.1:0", SMTPAddr: "127.0.0.1:0", HTTPAddr: "127.0.0.1:0", GA4Addr: "127.0.0.1:0", Dir: t.TempDir(),
		now: func() time.Time { return now }}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	read := func(property string, from, to time.Time) ([]kpi.TrafficDay, kpi.VisitorCount, []kpi.TrafficHour) {
		t.Helper()
		svc, err := start(o, logger)
		require.NoError(t, err)
		defer svc.close()
		src, err := ga4.New(t.Context(), property, "file:"+svc.ga4Key, ga4.Options{Endpoint: "http://" + svc.ga4Addr, CredentialsDir: o.Dir + "/ga4"})
		require.NoError(t, err)
		days, err := src.TrafficDays(t.Context(), from, to)
		require.NoError(t, err)
		distinct, err := src.DistinctVisitors(t.Context(), from, to)
		require.NoError(t, err)
		hours, err := src.TrafficHours(t.Context(), to)
		require.NoError(t, err)
		return days, distinct, hours
	}
	today := kpi.DayOf(now)
	from := today.AddDate(0, 0, -ga4History)
	days, distinct, hours := read("100000001", from, today)
	require.Len(t, days, ga4History+1)
	var sum int64
	for _, d := range days[:len(days)-1] {
		require.Equal(t, demoTraffic("100000001", d.Day), d.Traffic, d.Day)
		require.Positive(t, d.Visitors, d.Day)
		require.Less(t, d.NewVisitors, d.Visitors, d.Day)
		require.Greater(t, d.Sessions, d.Visitors, d.Day)
		require.True(t, d.BounceRateBps >= 3500 && d.BounceRateBps <= 6000, "%v: bounce %d", d.Day, d.BounceRateBps)
		sum += d.Visitors
	}
	sum += days[len(days)-1].Visitors
	require.Equal(t, sum, distinct.Visitors, "each day's visitors are people of that day only")

	// Today: only the hours begun so far, and the date row their sum.
	var soFar kpi.Traffic
	for _, h := range hours {
		require.False(t, h.Hour.After(now), "hour %v is after now", h.Hour)
		soFar = kpi.MergeTraffic(soFar, h.Traffic)
	}
	require.Len(t, hours, 14, "00:00 to 13:00")
	require.Equal(t, soFar.Visitors, days[len(days)-1].Visitors)

	// A restart answers the same; another property answers other figures.
	again, _, _ := read("100000001", from, today.AddDate(0, 0, -1))
	require.Equal(t, days[:len(days)-1], again)
	other, _, _ := read("100000002", from, today.AddDate(0, 0, -1))
	require.NotEqual(t, days[:len(days)-1], other)
}

// TestDemoHoursAddUpToTheDay: the hours of a day the fake serves add up to the day exactly.
func TestDemoHoursAddUpToTheDay(t *testing.T) {
	for _, day := range []time.Time{time.Date(2026, 11, 28, 0, 0, 0, 0, time.UTC), time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)} {
		want := demoTraffic("424242", day)
		var got kpi.Traffic
		for _, h := range demoHours("424242", day) {
			got = kpi.MergeTraffic(got, h.Traffic)
		}
		require.Equal(t, want, got, day)
	}
}
