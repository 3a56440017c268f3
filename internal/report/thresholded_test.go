package report_test

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"paysplit/internal/kpi"
	"paysplit/internal/money"
	"paysplit/internal/report"
)

// TestThresholdedTrafficIsNoted: GA4 may have withheld low counts from some of the week's traffic shown
// (a day's, or the report the week's distinct visitors were counted from): the notes, and so the
// PDF and the email, say its figures may be lower. A day without traffic, or the previous week,
// says nothing about the figures shown.
func TestThresholdedTrafficIsNoted(t *testing.T) {
	w := report.Week{Year: 2026, Week: 24}
	days := func(thresholdedDay int, hasTraffic bool) []report.Day {
		var out []report.Day
		for i, day := range w.Days() {
			out = append(out, report.Day{Date: day.Format(time.DateOnly), HasTraffic: hasTraffic || i != thresholdedDay,
				Visitors: 10, Sessions: 10, Thresholded: i == thresholdedDay})
		}
		return out
	}
	n := int64(40)
	for _, tt := range []struct {
		name string
		d    report.Data
		want bool
	}{
		{"a day thresholded", report.Data{Days: days(3, true)}, true},
		{"the distinct visitors thresholded", report.Data{Days: days(-1, true), DistinctVisitors: &n, DistinctVisitorsThresholded: true}, true},
		{"nothing thresholded", report.Data{Days: days(-1, true), DistinctVisitors: &n}, false},
		{"a day without traffic", report.Data{Days: days(3, false)}, false},
		{"the previous week only", report.Data{Days: days(-1, true), Previous: days(2, true)}, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tt.d.ClientID, tt.d.Week, tt.d.Currency = "c", w, money.USD
			require.Equal(t, tt.want, strings.Contains(strings.Join(tt.d.NotesAll(), "\n"), kpi.ThresholdedNote), "notes: %q", tt.d.NotesAll())
			e, err := report.EmailFor(tt.d)
			require.NoError(t, err)
			require.Equal(t, tt.want, strings.Contains(e.Text, kpi.ThresholdedNote), e.Text)
		})
	}
}
