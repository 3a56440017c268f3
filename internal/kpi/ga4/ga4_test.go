package ga4_test

import (
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"paysplit/internal/kpi"
	"paysplit/internal/kpi/ga4"
	"paysplit/internal/kpi/kpitest"
)

var day = func(s string) time.Time { t, _ := time.Parse(time.DateOnly, s); return t }

// TestTrafficDaysWithServiceAccount drives Google's client with a real service-account key
// (file: and env: references) against the local runReport server: every day of the range comes
// back, days GA4 has no row for as zeros, the bounce fraction as basis points, and requests
// carry a bearer token.
func TestTrafficDaysWithServiceAccount(t *testing.T) {
	g := kpitest.NewGA4(t)
	g.SetDay("123", day("2026-03-01"), kpi.Traffic{Visitors: 120, NewVisitors: 40, Sessions: 150, BounceRateBps: 4525})
	g.SetDay("123", day("2026-03-03"), kpi.Traffic{Visitors: 7, NewVisitors: 7, Sessions: 9, BounceRateBps: 10000})
	g.SetDay("123", day("2026-03-09"), kpi.Traffic{Visitors: 1}) // outside the range
	g.SetDay("999", day("2026-03-02"), kpi.Traffic{Visitors: 5}) // another property
	keyJSON := string(g.ServiceAccountJSON(t))
	keyFile := g.ServiceAccountFile(t)

	for _, tt := range []struct {
		name, ref string
	}{
		{"file reference", "file:" + keyFile},
		{"env reference", "env:GA4_KEY_NORTHWIND"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			src, err := ga4.New(t.Context(), "123", tt.ref, ga4.Options{
				Endpoint:       g.URL,
				CredentialsDir: filepath.Dir(keyFile),
				Getenv: func(k string) string {
					if k == "GA4_KEY_NORTHWIND" {
						return keyJSON
					}
					return ""
				},
			})
			require.NoError(t, err)
			days, err := src.TrafficDays(t.Context(), day("2026-03-01"), day("2026-03-04"))
			require.NoError(t, err)
			require.Equal(t, []kpi.TrafficDay{
				{Day: day("2026-03-01"), Traffic: kpi.Traffic{Visitors: 120, NewVisitors: 40, Sessions: 150, BounceRateBps: 4525}},
				{Day: day("2026-03-02")},
				{Day: day("2026-03-03"), Traffic: kpi.Traffic{Visitors: 7, NewVisitors: 7, Sessions: 9, BounceRateBps: 10000}},
				{Day: day("2026-03-04")},
			}, days)
			require.Regexp(t, `^Bearer \S+`, g.LastAuthorization(), "the real client authenticates with the service account")
		})
	}
}

func TestTrafficHoursAndPaging(t *testing.T) {
	g := kpitest.NewGA4(t)
	g.PageSize(2) // five hours over three pages
	base := time.Date(2026, 3, 5, 0, 0, 0, 0, time.UTC)
	for _, h := range []int{9, 1, 14, 23, 3} {
		g.SetHour("42", base.Add(time.Duration(h)*time.Hour), kpi.Traffic{Visitors: int64(h), Sessions: int64(h) + 1})
	}
	g.SetHour("42", base.AddDate(0, 0, 1), kpi.Traffic{Visitors: 99}) // the next day
	src, err := ga4.New(t.Context(), "42", "", ga4.Options{Endpoint: g.URL, WithoutAuthentication: true})
	require.NoError(t, err)
	hours, err := src.TrafficHours(t.Context(), base.Add(17*time.Hour))
	require.NoError(t, err)
	var got []int
	for _, h := range hours {
		got = append(got, h.Hour.Hour())
		require.EqualValues(t, h.Hour.Hour(), h.Visitors)
	}
	require.Equal(t, []int{1, 3, 9, 14, 23}, got, "every page read, oldest hour first")
	require.Equal(t, 3, g.Reports())
}

// TestTrafficHoursInThePropertysZone: GA4 reports dateHour in the property's time zone; the
// hours come back in UTC, those of the asked UTC day only, whatever local date they fall on.
func TestTrafficHoursInThePropertysZone(t *testing.T) {
	tests := []struct {
		zone string
	}{{"America/New_York"}, {"Asia/Tokyo"}, {"Pacific/Kiritimati"}, {"UTC"}}
	for _, tt := range tests {
		t.Run(tt.zone, func(t *testing.T) {
			loc, err := time.LoadLocation(tt.zone)
			require.NoError(t, err)
			g := kpitest.NewGA4(t)
			g.SetTimeZone("42", loc)
			day := time.Date(2026, 3, 5, 0, 0, 0, 0, time.UTC)
			for h := -3; h < 27; h++ { // the day's 24 hours and a few either side
				g.SetHour("42", day.Add(time.Duration(h)*time.Hour), kpi.Traffic{Visitors: int64(h + 10), Sessions: 1})
			}
			src, err := ga4.New(t.Context(), "42", "", ga4.Options{Endpoint: g.URL, WithoutAuthentication: true})
			require.NoError(t, err)
			hours, err := src.TrafficHours(t.Context(), day.Add(12*time.Hour))
			require.NoError(t, err)
			require.Len(t, hours, 24)
			for i, h := range hours {
				require.Equal(t, day.Add(time.Duration(i)*time.Hour), h.Hour, "UTC hour %d", i)
				require.EqualValues(t, i+10, h.Visitors, "the visits of UTC hour %d, not of the local one", i)
			}
		})
	}
}

// TestErrorsClassified: refusals are permanent (the sync stops retrying and marks the source
// stale), quota and outages are retried.
func TestErrorsClassified(t *testing.T) {
	g := kpitest.NewGA4(t)
	src, err := ga4.New(t.Context(), "7", "", ga4.Options{Endpoint: g.URL, WithoutAuthentication: true})
	require.NoError(t, err)
	for _, tt := range []struct {
		status    int
		permanent bool
	}{
		{http.StatusForbidden, true},
		{http.StatusUnauthorized, true},
		{http.StatusBadRequest, true},
		{http.StatusTooManyRequests, false},
		{http.StatusServiceUnavailable, false},
	} {
		g.Fail(tt.status)
		_, err := src.TrafficDays(t.Context(), day("2026-03-01"), day("2026-03-01"))
		require.Error(t, err, "status %d", tt.status)
		require.Equal(t, tt.permanent, kpi.IsPermanent(err), "status %d: %v", tt.status, err)
	}
}

func TestNewRefusesBadConfiguration(t *testing.T) {
	for _, tt := range []struct {
		name, property, ref string
		notConfigured       bool
	}{
		{"no property", "", "", true},
		{"empty env variable", "1", "env:GA4_MISSING", false},
		{"unknown scheme", "1", "vault:ga4", false},
		{"missing key file", "1", "file:/nonexistent/key.json", false},
		{"another secret's variable", "1", "env:STRIPE_API_KEY", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ga4.New(t.Context(), tt.property, tt.ref, ga4.Options{Getenv: func(string) string { return "" }})
			require.Error(t, err)
			require.True(t, kpi.IsPermanent(err), "%v", err)
			if tt.notConfigured {
				require.ErrorIs(t, err, kpi.ErrNotConfigured)
			}
		})
	}
}
