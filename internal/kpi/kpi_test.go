package kpi_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"paysplit/internal/kpi"
	"paysplit/internal/money"
)

func day(s string) time.Time { t, _ := time.Parse(time.DateOnly, s); return t }

var now = time.Date(2026, 6, 15, 10, 30, 0, 0, time.UTC)

func TestHotStart(t *testing.T) {
	for _, tt := range []struct {
		days int
		want time.Time
	}{
		{7, day("2026-06-08")},
		{1, day("2026-06-14")},
		{0, time.Time{}},
		{-3, time.Time{}},
	} {
		require.Equal(t, tt.want, kpi.HotStart(now, tt.days), "days %d", tt.days)
	}
}

func TestColdRange(t *testing.T) {
	hot := func(days ...string) []kpi.Day {
		var out []kpi.Day
		for _, d := range days {
			out = append(out, kpi.Day{Day: day(d)})
		}
		return out
	}
	for _, tt := range []struct {
		name               string
		from, to, hotStart string
		hot                []kpi.Day
		wantFrom, wantTo   string
		wantOK             bool
	}{
		{"all hot and stored", "2026-06-14", "2026-06-15", "2026-06-09", hot("2026-06-14", "2026-06-15"), "", "", false},
		{"older part", "2026-06-01", "2026-06-15", "2026-06-09",
			hot("2026-06-09", "2026-06-10", "2026-06-11", "2026-06-12", "2026-06-13", "2026-06-14", "2026-06-15"), "2026-06-01", "2026-06-08", true},
		{"gap in the hot window", "2026-06-13", "2026-06-15", "2026-06-09", hot("2026-06-13", "2026-06-15"), "2026-06-14", "2026-06-14", true},
		{"nothing stored", "2026-06-10", "2026-06-12", "2026-06-09", nil, "2026-06-10", "2026-06-12", true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f, to, ok := kpi.ColdRange(day(tt.from), day(tt.to), day(tt.hotStart), tt.hot)
			require.Equal(t, tt.wantOK, ok)
			if ok {
				require.Equal(t, day(tt.wantFrom), f)
				require.Equal(t, day(tt.wantTo), to)
			}
		})
	}
}

func TestMerge(t *testing.T) {
	tr := &kpi.Traffic{Visitors: 1}
	rv := &kpi.Revenue{Currency: money.USD, Gross: 5}
	hot := []kpi.Day{
		{Day: day("2026-06-08"), Traffic: &kpi.Traffic{Visitors: 999}}, // stored but outside the window: ignored
		{Day: day("2026-06-09"), Traffic: tr, Revenue: rv},
		{Day: day("2026-06-11"), Revenue: rv},
	}
	cold := kpi.Combine(
		[]kpi.TrafficDay{{Day: day("2026-06-07"), Traffic: *tr}, {Day: day("2026-06-08"), Traffic: *tr}, {Day: day("2026-06-10"), Traffic: *tr}},
		kpi.SourceGA4,
		[]kpi.RevenueDay{{Day: day("2026-06-08"), Revenue: *rv}, {Day: day("2026-06-10"), Revenue: *rv}, {Day: day("2026-06-09"), Revenue: kpi.Revenue{Gross: 77}}},
		kpi.SourceStripe)
	got := kpi.Merge(day("2026-06-06"), day("2026-06-12"), day("2026-06-09"), hot, cold)
	want := []struct {
		day, source      string
		traffic, revenue bool
		visitors         int64
	}{
		{"2026-06-06", kpi.SourceNone, false, false, 0},
		{"2026-06-07", "ga4", true, false, 1},
		{"2026-06-08", "ga4+stripe", true, true, 1},
		{"2026-06-09", kpi.SourcePostgres, true, true, 1},
		{"2026-06-10", "ga4+stripe", true, true, 1}, // a hot day missing in Postgres comes from the sources
		{"2026-06-11", kpi.SourcePostgres, false, true, 0},
		{"2026-06-12", kpi.SourceNone, false, false, 0},
	}
	require.Len(t, got, len(want))
	for i, w := range want {
		g := got[i]
		require.Equal(t, day(w.day), g.Day, w.day)
		require.Equal(t, w.source, g.Source, w.day)
		require.Equal(t, w.traffic, g.Traffic != nil, w.day)
		require.Equal(t, w.revenue, g.Revenue != nil, w.day)
		require.Equal(t, w.traffic || w.revenue, g.Synced(), w.day)
		if g.Traffic != nil {
			require.Equal(t, w.visitors, g.Traffic.Visitors, w.day)
		}
	}
	require.EqualValues(t, 5, got[3].Revenue.Gross, "Postgres wins over the source inside the window")
}

func TestSummarize(t *testing.T) {
	ago := func(d time.Duration) time.Time { return now.Add(-d) }
	for _, tt := range []struct {
		name     string
		statuses []kpi.SourceStatus
		stale    bool
		last     time.Time
	}{
		{"fresh", []kpi.SourceStatus{{Source: "ga4", LastSuccess: ago(10 * time.Minute), LastAttempt: ago(10 * time.Minute)}, {Source: "ledger", LastSuccess: ago(5 * time.Minute)}}, false, ago(10 * time.Minute)},
		{"one source down for hours", []kpi.SourceStatus{{Source: "ga4", LastSuccess: ago(3 * time.Hour), LastAttempt: ago(time.Minute), LastError: "503"}, {Source: "ledger", LastSuccess: ago(time.Minute)}}, true, ago(3 * time.Hour)},
		{"never succeeded", []kpi.SourceStatus{{Source: "ga4", LastAttempt: ago(time.Minute), LastError: "403"}, {Source: "ledger", LastSuccess: ago(time.Minute)}}, true, time.Time{}},
		{"never tried", nil, false, time.Time{}},
		// A client synced once a day is fresh hours after its sync, stale after two days without one.
		{"daily sync, 3 h ago", []kpi.SourceStatus{{Source: "ga4", LastSuccess: ago(3 * time.Hour), Period: 24 * time.Hour}}, false, ago(3 * time.Hour)},
		{"daily sync, 49 h ago", []kpi.SourceStatus{{Source: "ga4", LastSuccess: ago(49 * time.Hour), Period: 24 * time.Hour}}, true, ago(49 * time.Hour)},
		{"sync every 15 min, 2 h ago", []kpi.SourceStatus{{Source: "ga4", LastSuccess: ago(2 * time.Hour), Period: 15 * time.Minute}}, true, ago(2 * time.Hour)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := kpi.Summarize(tt.statuses, now, time.Hour)
			require.Equal(t, tt.stale, f.Stale)
			require.Equal(t, tt.last, f.LastSyncedAt)
			require.Len(t, f.Sources, len(tt.statuses))
		})
	}
}

func TestCacheExpiresAndBounds(t *testing.T) {
	clock := now
	c := &kpi.Cache[int]{TTL: time.Minute, Max: 2, Now: func() time.Time { return clock }}
	c.Put("a", 1)
	v, ok := c.Get("a")
	require.True(t, ok)
	require.Equal(t, 1, v)
	clock = clock.Add(30 * time.Second)
	c.Put("b", 2)
	c.Put("c", 3) // full: "a" expires first, so it goes
	_, ok = c.Get("a")
	require.False(t, ok)
	require.Equal(t, 2, c.Len())
	clock = clock.Add(time.Minute)
	_, ok = c.Get("c")
	require.False(t, ok, "expired")
	(&kpi.Cache[int]{}).Put("x", 1) // zero TTL caches nothing and does not panic
}

// fakeHot is a Postgres stand-in for the reader.
type fakeHot struct {
	days     []kpi.Day
	statuses []kpi.SourceStatus
	asked    [][2]time.Time
}

func (f *fakeHot) KPIHotDays(_ context.Context, _ string, from, to time.Time) ([]kpi.Day, error) {
	f.asked = append(f.asked, [2]time.Time{from, to})
	var out []kpi.Day
	for _, d := range f.days {
		if !d.Day.Before(from) && !d.Day.After(to) {
			out = append(out, d)
		}
	}
	return out, nil
}

func (f *fakeHot) KPISyncStatus(context.Context, string) ([]kpi.SourceStatus, error) {
	return f.statuses, nil
}

func (f *fakeHot) KPIClientLeftAt(context.Context, string) (time.Time, error) {
	return time.Time{}, nil
}

type fakeTraffic struct {
	calls int
	err   error
}

func (f *fakeTraffic) Name() string { return kpi.SourceGA4 }

func (f *fakeTraffic) TrafficDays(_ context.Context, from, to time.Time) ([]kpi.TrafficDay, error) {
	f.calls++
	if f.err != nil {
		return nil, f.err
	}
	var out []kpi.TrafficDay
	for _, d := range kpi.Days(from, to) {
		out = append(out, kpi.TrafficDay{Day: d, Traffic: kpi.Traffic{Visitors: 3}})
	}
	return out, nil
}

func (f *fakeTraffic) TrafficHours(context.Context, time.Time) ([]kpi.TrafficHour, error) {
	return nil, nil
}

type fakeRevenue struct {
	calls int
	asked [][2]time.Time
}

func (f *fakeRevenue) Name() string { return kpi.SourceStripe }

func (f *fakeRevenue) RevenueDays(_ context.Context, _ string, cur money.Currency, from, to time.Time) ([]kpi.RevenueDay, error) {
	f.calls++
	f.asked = append(f.asked, [2]time.Time{from, to})
	var out []kpi.RevenueDay
	for _, d := range kpi.Days(from, to) {
		out = append(out, kpi.RevenueDay{Day: d, Revenue: kpi.Revenue{Currency: cur, Gross: 100}})
	}
	return out, nil
}

// TestReaderThirtyDays: a 30-day range is 8 stored days (7 complete days and today) and 22 fetched ones, the sources asked
// only for the older part and cached; a failing source leaves its part empty and stale.
func TestReaderThirtyDays(t *testing.T) {
	hot := &fakeHot{statuses: []kpi.SourceStatus{{Source: kpi.SourceLedger, LastSuccess: now.Add(-5 * time.Minute), LastAttempt: now.Add(-5 * time.Minute)}}}
	for _, d := range kpi.Days(day("2026-06-08"), day("2026-06-15")) {
		hot.days = append(hot.days, kpi.Day{Day: d, Revenue: &kpi.Revenue{Currency: money.USD, Gross: 1}})
	}
	tr, rv := &fakeTraffic{}, &fakeRevenue{}
	r := &kpi.Reader{
		Hot: hot, RetentionDays: 7, StaleAfter: time.Hour, Now: func() time.Time { return now },
		Cold:  func(context.Context, string) (kpi.Sources, error) { return kpi.Sources{Traffic: tr, Revenue: rv}, nil },
		Cache: &kpi.Cache[[]kpi.Day]{TTL: time.Minute, Now: func() time.Time { return now }},
	}
	s, err := r.Series(t.Context(), "northwind", money.USD, day("2026-05-17"), day("2026-06-15"))
	require.NoError(t, err)
	require.Len(t, s.Days, 30)
	bySource := map[string]int{}
	for _, d := range s.Days {
		bySource[d.Source]++
		require.False(t, d.Stale, d.Day)
	}
	require.Equal(t, map[string]int{kpi.SourcePostgres: 8, "ga4+stripe": 22}, bySource)
	require.Equal(t, [][2]time.Time{{day("2026-06-08"), day("2026-06-15")}}, hot.asked, "Postgres is asked for the hot window only")
	require.False(t, s.Stale)
	require.Equal(t, now.Add(-5*time.Minute), s.LastSyncedAt)

	_, err = r.Series(t.Context(), "northwind", money.USD, day("2026-05-17"), day("2026-06-15"))
	require.NoError(t, err)
	require.Equal(t, 1, tr.calls, "cached")
	require.Equal(t, 1, rv.calls, "cached")

	tr.err = errors.New("ga4: runReport: 503 backend unavailable")
	s, err = r.Series(t.Context(), "northwind", money.USD, day("2026-05-01"), day("2026-05-10"))
	require.NoError(t, err, "a failing source does not fail the series")
	require.Equal(t, []kpi.SourceError{{Source: kpi.SourceGA4, Message: "ga4: runReport: 503 backend unavailable"}}, s.ColdErrors)
	for _, d := range s.Days {
		require.Nil(t, d.Traffic, "no traffic rather than zeros")
		require.NotNil(t, d.Revenue)
		require.Equal(t, kpi.SourceStripe, d.Source)
		require.True(t, d.Stale)
	}
}

// TestReaderStaleSince: when the last good sync is hours old, stored days from that day on are
// stale, earlier ones are not.
func TestReaderStaleSince(t *testing.T) {
	last := time.Date(2026, 6, 13, 22, 0, 0, 0, time.UTC)
	hot := &fakeHot{statuses: []kpi.SourceStatus{{Source: kpi.SourceGA4, LastSuccess: last, LastAttempt: now, LastError: "503", Failures: 40}}}
	for _, d := range kpi.Days(day("2026-06-09"), day("2026-06-15")) {
		hot.days = append(hot.days, kpi.Day{Day: d, Traffic: &kpi.Traffic{Visitors: 1}})
	}
	r := &kpi.Reader{Hot: hot, RetentionDays: 7, StaleAfter: time.Hour, Now: func() time.Time { return now },
		Cold: func(context.Context, string) (kpi.Sources, error) { return kpi.Sources{}, nil }}
	s, err := r.Series(t.Context(), "c", money.USD, day("2026-06-09"), day("2026-06-15"))
	require.NoError(t, err)
	require.True(t, s.Stale)
	require.Equal(t, last, s.LastSyncedAt)
	var stale []string
	for _, d := range s.Days {
		if d.Stale {
			stale = append(stale, d.Day.Format(time.DateOnly))
		}
	}
	require.Equal(t, []string{"2026-06-13", "2026-06-14", "2026-06-15"}, stale)
}

// TestReaderFutureDays: days after today have happened nowhere. Sources answer zeros for any day
// they are asked for, so the reader must not ask them for those days, nor take a stored row for
// one: they are source none, not synced and not stale (what GET /api/v1/kpis?from=<5 days ago>
// gets, to defaulting to from+29 days).
func TestReaderFutureDays(t *testing.T) {
	stored := func(from, to string) []kpi.Day {
		var out []kpi.Day
		for _, d := range kpi.Days(day(from), day(to)) {
			out = append(out, kpi.Day{Day: d, Revenue: &kpi.Revenue{Currency: money.USD, Gross: 1}})
		}
		return out
	}
	for _, tt := range []struct {
		name       string
		from, to   string
		stored     []kpi.Day
		noSources  bool
		wantAsked  [][2]time.Time // what the revenue source was asked for
		wantSynced int            // days up to today
	}{
		{name: "hot window stored, 24 days ahead", from: "2026-06-10", to: "2026-07-09",
			stored: stored("2026-06-09", "2026-06-15"), wantSynced: 6},
		{name: "today not stored yet", from: "2026-06-10", to: "2026-07-09",
			stored: stored("2026-06-09", "2026-06-14"), wantAsked: [][2]time.Time{{day("2026-06-15"), day("2026-06-15")}}, wantSynced: 6},
		{name: "older days and future ones", from: "2026-06-01", to: "2026-06-30",
			stored: stored("2026-06-09", "2026-06-15"), wantAsked: [][2]time.Time{{day("2026-06-01"), day("2026-06-08")}}, wantSynced: 15},
		{name: "all in the future", from: "2026-06-16", to: "2026-06-20", stored: stored("2026-06-09", "2026-06-15")},
		{name: "a future row in Postgres", from: "2026-06-14", to: "2026-06-17",
			stored: stored("2026-06-09", "2026-06-17"), noSources: true, wantSynced: 2},
	} {
		t.Run(tt.name, func(t *testing.T) {
			hot := &fakeHot{days: tt.stored}
			tr, rv := &fakeTraffic{err: errors.New("ga4: 503")}, &fakeRevenue{}
			r := &kpi.Reader{Hot: hot, RetentionDays: 7, StaleAfter: time.Hour, Now: func() time.Time { return now }}
			if !tt.noSources {
				r.Cold = func(context.Context, string) (kpi.Sources, error) { return kpi.Sources{Traffic: tr, Revenue: rv}, nil }
			}
			s, err := r.Series(t.Context(), "northwind", money.USD, day(tt.from), day(tt.to))
			require.NoError(t, err)
			require.Len(t, s.Days, len(kpi.Days(day(tt.from), day(tt.to))))
			require.Equal(t, tt.wantAsked, rv.asked)
			synced := 0
			for _, d := range s.Days {
				if !d.Day.After(kpi.DayOf(now)) {
					if d.Synced() {
						synced++
					}
					continue
				}
				require.Falsef(t, d.Synced(), "%s (future) shown as synced by %q", d.Day.Format(time.DateOnly), d.Source)
				require.Equal(t, kpi.SourceNone, d.Source, d.Day)
				require.False(t, d.Stale, "no source was asked for %s", d.Day.Format(time.DateOnly))
			}
			require.Equal(t, tt.wantSynced, synced)
			for _, asked := range hot.asked {
				require.False(t, asked[1].After(kpi.DayOf(now)), "Postgres asked up to %s", asked[1].Format(time.DateOnly))
			}
		})
	}
}

// TestReaderWithoutSources reads everything from Postgres, whatever its age.
func TestReaderWithoutSources(t *testing.T) {
	hot := &fakeHot{days: []kpi.Day{{Day: day("2026-01-01"), Traffic: &kpi.Traffic{Visitors: 4}}}}
	r := &kpi.Reader{Hot: hot, RetentionDays: 7, Now: func() time.Time { return now }}
	s, err := r.Series(t.Context(), "c", money.USD, day("2025-12-31"), day("2026-01-01"))
	require.NoError(t, err)
	require.Equal(t, kpi.SourceNone, s.Days[0].Source)
	require.Equal(t, kpi.SourcePostgres, s.Days[1].Source)
}

func TestPermanent(t *testing.T) {
	base := errors.New("403")
	require.True(t, kpi.IsPermanent(kpi.Permanent(base)))
	require.ErrorIs(t, kpi.Permanent(base), base)
	require.True(t, kpi.IsPermanent(kpi.ErrNotConfigured))
	require.False(t, kpi.IsPermanent(base))
	require.NoError(t, kpi.Permanent(nil))
}

// TestReaderCachesDayByDay: a range moved a day asks the sources for the one new day only, not for
// the whole range again (a year of a platform account's charges is many pages); a range inside
// one already fetched asks nothing.
func TestReaderCachesDayByDay(t *testing.T) {
	tr, rv := &fakeTraffic{}, &fakeRevenue{}
	r := &kpi.Reader{
		Hot: &fakeHot{}, RetentionDays: 7, StaleAfter: time.Hour, Now: func() time.Time { return now },
		Cold:  func(context.Context, string) (kpi.Sources, error) { return kpi.Sources{Traffic: tr, Revenue: rv}, nil },
		Cache: &kpi.Cache[[]kpi.Day]{TTL: time.Minute, Now: func() time.Time { return now }},
	}
	tests := []struct {
		name, from, to string
		wantAsked      [][2]time.Time
	}{
		{"a year back", "2025-06-01", "2026-05-31", [][2]time.Time{{day("2025-06-01"), day("2026-05-31")}}},
		{"moved a day", "2025-06-02", "2026-06-01", [][2]time.Time{{day("2026-06-01"), day("2026-06-01")}}},
		{"inside what was fetched", "2025-09-01", "2025-09-30", nil},
		{"moved back a day", "2025-05-31", "2026-05-30", [][2]time.Time{{day("2025-05-31"), day("2025-05-31")}}},
	}
	for _, tt := range tests {
		rv.asked, tr.calls = nil, 0
		s, err := r.Series(t.Context(), "c", money.USD, day(tt.from), day(tt.to))
		require.NoError(t, err, tt.name)
		require.Equal(t, tt.wantAsked, rv.asked, tt.name)
		require.Equal(t, len(tt.wantAsked), tr.calls, tt.name)
		for _, d := range s.Days {
			require.True(t, d.Traffic != nil && d.Traffic.Visitors == 3 && d.Revenue != nil && d.Revenue.Gross == 100, "%s: %s complete", tt.name, d.Day)
		}
	}
}

// TestMergeTraffic: two periods' traffic as one keeps every count and weighs the bounce rate by
// sessions, whichever order they come in.
func TestMergeTraffic(t *testing.T) {
	for _, tt := range []struct {
		name string
		a, b kpi.Traffic
		want kpi.Traffic
	}{
		{"weighted by sessions", kpi.Traffic{Visitors: 10, NewVisitors: 4, Sessions: 30, BounceRateBps: 5000},
			kpi.Traffic{Visitors: 3, NewVisitors: 1, Sessions: 10, BounceRateBps: 1000},
			kpi.Traffic{Visitors: 13, NewVisitors: 5, Sessions: 40, BounceRateBps: 4000}},
		{"rounded to the nearest basis point", kpi.Traffic{Sessions: 2, BounceRateBps: 1}, kpi.Traffic{Sessions: 1, BounceRateBps: 0},
			kpi.Traffic{Sessions: 3, BounceRateBps: 1}},
		{"one side empty", kpi.Traffic{}, kpi.Traffic{Visitors: 7, Sessions: 8, BounceRateBps: 2500},
			kpi.Traffic{Visitors: 7, Sessions: 8, BounceRateBps: 2500}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, tt.want, kpi.MergeTraffic(tt.a, tt.b))
			require.Equal(t, tt.want, kpi.MergeTraffic(tt.b, tt.a))
		})
	}
}

// A deployment syncing once a day (KPI_SYNC_EVERY=24h) with the default KPI_STALE_AFTER of an hour
// showed every client's KPIs stale 23 hours a day: a source is stale only past two of its sync
// periods, the client's own or else the deployment's.
func TestReaderStaleAfterTwoSyncPeriods(t *testing.T) {
	for _, tt := range []struct {
		name      string
		period    time.Duration // the client's own; 0: the deployment's
		syncEvery time.Duration
		synced    time.Duration // ago
		stale     bool
	}{
		{"deployment syncs daily, 3 h ago", 0, 24 * time.Hour, 3 * time.Hour, false},
		{"deployment syncs daily, 50 h ago", 0, 24 * time.Hour, 50 * time.Hour, true},
		{"client syncs every 6 h, 5 h ago", 6 * time.Hour, 15 * time.Minute, 5 * time.Hour, false},
		{"deployment's 15 min, 2 h ago", 0, 15 * time.Minute, 2 * time.Hour, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			hot := &fakeHot{statuses: []kpi.SourceStatus{{Source: kpi.SourceGA4, LastSuccess: now.Add(-tt.synced), LastAttempt: now.Add(-tt.synced), Period: tt.period}}}
			r := &kpi.Reader{Hot: hot, RetentionDays: 7, StaleAfter: time.Hour, SyncEvery: tt.syncEvery, Now: func() time.Time { return now }}
			s, err := r.Series(t.Context(), "northwind", money.USD, kpi.DayOf(now), kpi.DayOf(now))
			require.NoError(t, err)
			require.Equal(t, tt.stale, s.Freshness.Stale)
		})
	}
}
