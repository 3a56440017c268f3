package ga4_test

import (
	"fmt"
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

// TestTrafficHoursAcrossClockChanges: on the days a property's zone changes its clocks, each GA4
// dateHour row is counted once, in the UTC hour it starts in. When the clocks go back, one local
// hour happens twice and GA4 has one row for both (the fake merges them as GA4 does): that row
// is the UTC hour of the first occurrence, and the second occurrence's UTC hour has no row.
// time.ParseInLocation picked either occurrence, whichever its algorithm found: the second in
// Europe/Berlin (the row at 01:00 UTC, not 00:00) and Europe/Chisinau (whose repeated hour
// starts at 23:00 UTC the day before: the row moved to the next UTC day), the first in
// America/New_York. When the clocks go forward a local hour does not exist and GA4 has no row
// for it: the day's 24 UTC hours are the local day's 23 and the neighbours'.
func TestTrafficHoursAcrossClockChanges(t *testing.T) {
	utc := func(s string, h int) time.Time { return day(s).Add(time.Duration(h) * time.Hour) }
	tests := []struct {
		name, zone string
		day        string // the UTC day asked for; every UTC hour of it and its neighbours has visits
		// merged is the UTC hour whose visits GA4 reports in the row of the hour before it (the
		// repeated hour's second occurrence); zero when the clocks go forward.
		merged time.Time
	}{
		{"Berlin, clocks back", "Europe/Berlin", "2026-10-25", utc("2026-10-25", 1)},
		{"New York, clocks back", "America/New_York", "2026-11-01", utc("2026-11-01", 6)},
		{"Chisinau, clocks back at UTC midnight", "Europe/Chisinau", "2026-10-25", utc("2026-10-25", 0)},
		{"Sydney, clocks back", "Australia/Sydney", "2026-04-04", utc("2026-04-04", 16)},
		{"Berlin, clocks forward", "Europe/Berlin", "2026-03-29", time.Time{}},
		{"New York, clocks forward", "America/New_York", "2026-03-08", time.Time{}},
		{"Chisinau, clocks forward", "Europe/Chisinau", "2026-03-29", time.Time{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			loc, err := time.LoadLocation(tt.zone)
			require.NoError(t, err)
			g := kpitest.NewGA4(t)
			g.SetTimeZone("42", loc)
			d := day(tt.day)
			visits := func(h time.Time) int64 { return int64(h.Sub(d)/time.Hour) + 100 } // distinct per hour
			for h := -30; h < 54; h++ {
				at := d.Add(time.Duration(h) * time.Hour)
				g.SetHour("42", at, kpi.Traffic{Visitors: visits(at), Sessions: 1})
			}
			src, err := ga4.New(t.Context(), "42", "", ga4.Options{Endpoint: g.URL, WithoutAuthentication: true})
			require.NoError(t, err)

			key := func(h time.Time) string { return h.UTC().Format("2006-01-02 15:04") }
			want := map[string]int64{}
			for h := -24; h < 48; h++ { // the day before, the day and the day after
				at := d.Add(time.Duration(h) * time.Hour)
				switch {
				case at.Equal(tt.merged):
				case at.Equal(tt.merged.Add(-time.Hour)):
					want[key(at)] = visits(at) + visits(tt.merged)
				default:
					want[key(at)] = visits(at)
				}
			}
			got := map[string]int64{}
			for _, asked := range []time.Time{d.AddDate(0, 0, -1), d, d.AddDate(0, 0, 1)} {
				hours, err := src.TrafficHours(t.Context(), asked)
				require.NoError(t, err)
				for _, h := range hours {
					require.Equal(t, asked, kpi.DayOf(h.Hour), "TrafficHours(%s) answers hours of that UTC day only", asked.Format(time.DateOnly))
					require.Equal(t, h.Hour, h.Hour.Truncate(time.Hour), "a whole UTC hour")
					_, dup := got[key(h.Hour)]
					require.False(t, dup, "hour %s answered twice", key(h.Hour))
					got[key(h.Hour)] = h.Visitors
				}
			}
			require.Equal(t, want, got, "each row once, in the UTC hour its local hour first began")
		})
	}
}

// TestUTCHourOf: the UTC hour a dateHour row counts in, in zones the fake's whole UTC hours
// cannot show: a half-hour change of the clocks (Lord Howe Island), a zone half an hour off UTC
// (India), and a local hour the clocks skipped, which GA4 does not send but which, if sent, goes
// to the instant the clocks jumped rather than failing the sync.
func TestUTCHourOf(t *testing.T) {
	for _, tt := range []struct {
		zone, key, want string
	}{
		{"Europe/Berlin", "2026102502", "2026-10-25 00:00"},       // 02 CEST, then 02 CET: the first
		{"Europe/Berlin", "2026102503", "2026-10-25 02:00"},       // 03 CET
		{"America/New_York", "2026110101", "2026-11-01 05:00"},    // 01 EDT, then 01 EST: the first
		{"Europe/Chisinau", "2026102502", "2026-10-24 23:00"},     // 02 EEST is 23:00 UTC the day before
		{"Australia/Lord_Howe", "2026040501", "2026-04-04 14:00"}, // 01:00 +11 to 02:00, then 01:30 +10:30 again
		{"Australia/Lord_Howe", "2026100402", "2026-10-03 15:00"}, // 02:00 +10:30 skipped: 02:30 +11 is 15:30 UTC
		{"Asia/Kolkata", "2026030506", "2026-03-05 00:00"},        // 06:00 IST is 00:30 UTC
		{"Europe/Berlin", "2026032902", "2026-03-29 01:00"},       // skipped: the jump, 01:00 UTC
		{"America/New_York", "2026030802", "2026-03-08 07:00"},    // skipped: the jump, 07:00 UTC
		{"Etc/UTC", "2026030523", "2026-03-05 23:00"},
	} {
		loc, err := time.LoadLocation(tt.zone)
		require.NoError(t, err)
		got, err := ga4.UTCHourOf(tt.key, loc)
		require.NoError(t, err)
		require.Equal(t, tt.want, got.Format("2006-01-02 15:04"), "%s %s", tt.zone, tt.key)
		require.Equal(t, time.UTC, got.Location())
	}
	_, err := ga4.UTCHourOf("2026-03-05", time.UTC)
	require.Error(t, err)
}

// TestDistinctVisitorsOfARange: 100 people each come on three days of a week, and 20 others on
// one day each (SetDay). By date GA4 counts each person once a day, 320 over the days; the week
// asked as one range, without the date dimension, counts each person once: 120. A range nobody
// visited has no row: zero. GA4 refusing is an error, permanent for a 403 as for the days.
func TestDistinctVisitorsOfARange(t *testing.T) {
	g := kpitest.NewGA4(t)
	week := []time.Time{day("2026-06-08"), day("2026-06-10"), day("2026-06-13")}
	for i := range 100 {
		for _, d := range week {
			g.Visit("77", d, fmt.Sprintf("visitor-%03d", i))
		}
	}
	g.SetDay("77", day("2026-06-09"), kpi.Traffic{Visitors: 20, NewVisitors: 20, Sessions: 25})
	g.Visit("77", day("2026-06-15"), "visitor-000", "visitor-100") // the week after
	src, err := ga4.New(t.Context(), "77", "", ga4.Options{Endpoint: g.URL, WithoutAuthentication: true})
	require.NoError(t, err)

	days, err := src.TrafficDays(t.Context(), day("2026-06-08"), day("2026-06-14"))
	require.NoError(t, err)
	var sum int64
	for _, d := range days {
		sum += d.Visitors
	}
	require.EqualValues(t, 320, sum, "the days' visitors summed: a visitor of three days is three")

	n, err := src.DistinctVisitors(t.Context(), day("2026-06-08"), day("2026-06-14"))
	require.NoError(t, err)
	require.Equal(t, kpi.VisitorCount{Visitors: 120}, n, "the week's distinct visitors")
	n, err = src.DistinctVisitors(t.Context(), day("2026-06-08"), day("2026-06-15"))
	require.NoError(t, err)
	require.Equal(t, kpi.VisitorCount{Visitors: 121}, n, "visitor-000 came back on the 15th and still counts once; visitor-100 is new")
	n, err = src.DistinctVisitors(t.Context(), day("2026-05-01"), day("2026-05-31"))
	require.NoError(t, err)
	require.Zero(t, n, "a range without visits has no row")
	g.Threshold("77", true)
	n, err = src.DistinctVisitors(t.Context(), day("2026-06-08"), day("2026-06-14"))
	require.NoError(t, err)
	require.Equal(t, kpi.VisitorCount{Visitors: 120, Thresholded: true}, n, "GA4 withheld low counts from the range's report")
	g.Threshold("77", false)

	g.Fail(http.StatusForbidden)
	_, err = src.DistinctVisitors(t.Context(), day("2026-06-08"), day("2026-06-14"))
	require.Error(t, err)
	require.True(t, kpi.IsPermanent(err), "%v", err)
	g.Fail(http.StatusServiceUnavailable)
	_, err = src.DistinctVisitors(t.Context(), day("2026-06-08"), day("2026-06-14"))
	require.Error(t, err)
	require.False(t, kpi.IsPermanent(err), "%v", err)
}
