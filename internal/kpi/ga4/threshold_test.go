package ga4_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"paysplit/internal/kpi"
	"paysplit/internal/kpi/ga4"
	"paysplit/internal/kpi/kpitest"
)

// TestThresholdedReportsAreMarked: GA4 answers a report subject to thresholding
// (metadata.subjectToThresholding) when it withheld rows with low user counts; the figures were
// taken as complete. Every day (and hour) of such a report is marked Thresholded, a day without a
// row too; another property's, answered without it, is not.
func TestThresholdedReportsAreMarked(t *testing.T) {
	g := kpitest.NewGA4(t)
	base := day("2026-03-01")
	for _, p := range []string{"withheld", "whole"} {
		g.SetDay(p, base, kpi.Traffic{Visitors: 12, NewVisitors: 3, Sessions: 15})
		g.SetHour(p, base.Add(9*time.Hour), kpi.Traffic{Visitors: 4, Sessions: 5})
	}
	g.Threshold("withheld", true)
	g.PageSize(1) // the flag is read whichever page carries it
	for _, tt := range []struct {
		property string
		want     bool
	}{{"withheld", true}, {"whole", false}} {
		t.Run(tt.property, func(t *testing.T) {
			src, err := ga4.New(t.Context(), tt.property, "", ga4.Options{Endpoint: g.URL, WithoutAuthentication: true})
			require.NoError(t, err)
			days, err := src.TrafficDays(t.Context(), base, base.AddDate(0, 0, 1))
			require.NoError(t, err)
			require.Equal(t, []kpi.TrafficDay{
				{Day: base, Traffic: kpi.Traffic{Visitors: 12, NewVisitors: 3, Sessions: 15, Thresholded: tt.want}},
				{Day: base.AddDate(0, 0, 1), Traffic: kpi.Traffic{Thresholded: tt.want}},
			}, days)
			hours, err := src.TrafficHours(t.Context(), base)
			require.NoError(t, err)
			require.Equal(t, []kpi.TrafficHour{{Hour: base.Add(9 * time.Hour), Traffic: kpi.Traffic{Visitors: 4, Sessions: 5, Thresholded: tt.want}}}, hours)
		})
	}
}
