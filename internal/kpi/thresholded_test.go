package kpi_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"paysplit/internal/kpi"
	"paysplit/internal/money"
)

// thresholdedTraffic answers every day subject to thresholding, as GA4 does a whole report.
type thresholdedTraffic struct{ fakeTraffic }

func (f *thresholdedTraffic) TrafficDays(ctx context.Context, from, to time.Time) ([]kpi.TrafficDay, error) {
	days, err := f.fakeTraffic.TrafficDays(ctx, from, to)
	for i := range days {
		days[i].Traffic.Thresholded = true
	}
	return days, err
}

// TestReaderKeepsThresholdingOfFetchedDays: a range of stored days GA4 did not threshold and older
// days fetched from a GA4 that does: the fetched days carry the mark, from the source and again
// from the cache, and the stored ones do not take it.
func TestReaderKeepsThresholdingOfFetchedDays(t *testing.T) {
	hot := &fakeHot{}
	for _, d := range kpi.Days(day("2026-06-08"), day("2026-06-15")) {
		hot.days = append(hot.days, kpi.Day{Day: d, Traffic: &kpi.Traffic{Visitors: 1}})
	}
	tr := &thresholdedTraffic{}
	r := &kpi.Reader{
		Hot: hot, RetentionDays: 7, StaleAfter: time.Hour, Now: func() time.Time { return now },
		Cold:  func(context.Context, string) (kpi.Sources, error) { return kpi.Sources{Traffic: tr}, nil },
		Cache: &kpi.Cache[[]kpi.Day]{TTL: time.Minute, Now: func() time.Time { return now }},
	}
	for _, pass := range []string{"fetched", "cached"} {
		s, err := r.Series(t.Context(), "c", money.USD, day("2026-06-01"), day("2026-06-15"))
		require.NoError(t, err, pass)
		for _, d := range s.Days {
			require.NotNil(t, d.Traffic, "%s: %s", pass, d.Day)
			require.Equal(t, d.Source != kpi.SourcePostgres, d.Traffic.Thresholded, "%s: %s from %s", pass, d.Day, d.Source)
		}
	}
	require.Equal(t, 1, tr.calls, "the second pass is the cache's")
}

// TestThresholdedNoteSaysOnlyWhatGA4Says: subjectToThresholding says GA4 applied its thresholds
// to the report, not that it withheld anything ("It is possible for a request to be subject to
// thresholding and no data is absent from the report ... when all data is above the thresholds",
// the Data API's ResponseMetaData). A property with Google signals on is answered so every time,
// whatever its traffic: the note must not tell its client, every week, that counts were withheld.
func TestThresholdedNoteSaysOnlyWhatGA4Says(t *testing.T) {
	require.NotContains(t, kpi.ThresholdedNote, "GA4 withheld", "GA4 does not say it withheld anything")
	require.Contains(t, kpi.ThresholdedNote, "thresholding", "the note names what GA4 says")
	require.Contains(t, kpi.ThresholdedNote, "may be lower", "the figures may be lower")
}
