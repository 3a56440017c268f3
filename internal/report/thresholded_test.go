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
// PDF and the email, say its figures may be lower. The previous week's thresholded traffic, which
// the changes compare with, is noted when a traffic tile shows a change, in the same one note when
// the week's own figures were thresholded too. A day without traffic says nothing, nor a report
// stored before the previous week's thresholding was kept (its days carry the mark, unnoted then).
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
	noTraffic := days(-1, true)
	for i := range noTraffic {
		noTraffic[i].HasTraffic = false
	}
	n, p := int64(40), int64(30)
	for _, tt := range []struct {
		name string
		d    report.Data
		want string
	}{
		{"a day thresholded", report.Data{Days: days(3, true)}, kpi.ThresholdedNote},
		{"the distinct visitors thresholded", report.Data{Days: days(-1, true), DistinctVisitors: &n, DistinctVisitorsThresholded: true}, kpi.ThresholdedNote},
		{"nothing thresholded", report.Data{Days: days(-1, true), DistinctVisitors: &n}, ""},
		{"a day without traffic", report.Data{Days: days(3, false)}, ""},
		// Changed: a previous week's thresholded day once said nothing, though the changes rest on it.
		{"the previous week only", report.Data{Days: days(-1, true), Previous: days(2, true), PreviousThresholded: true}, report.PreviousThresholdedNote},
		{"the previous week's distinct visitors", report.Data{Days: days(-1, true), Previous: days(-1, true), DistinctVisitors: &n,
			PreviousDistinctVisitors: &p, PreviousThresholded: true}, report.PreviousThresholdedNote},
		{"both weeks, one note", report.Data{Days: days(3, true), Previous: days(2, true), PreviousThresholded: true}, report.BothThresholdedNote},
		{"the previous week, nothing compared", report.Data{Days: noTraffic, Previous: days(2, true), PreviousThresholded: true}, ""},
		{"a report stored before, its previous day marked", report.Data{Days: days(-1, true), Previous: days(2, true)}, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tt.d.ClientID, tt.d.Week, tt.d.Currency = "c", w, money.USD
			notes := strings.Join(tt.d.NotesAll(), "\n")
			e, err := report.EmailFor(tt.d)
			require.NoError(t, err)
			for _, text := range []string{notes, e.Text} {
				if tt.want == "" {
					require.NotContains(t, text, "thresholding", text)
					continue
				}
				require.Contains(t, text, tt.want)
				require.Equal(t, 1, strings.Count(text, "GA4 applied thresholding"), "one note: %q", text)
			}
		})
	}
}
