package report_test

import (
	"encoding/json"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"paysplit/internal/money"
	"paysplit/internal/report"
	"paysplit/internal/report/reporttest"
)

// TestVisitorsTileShowsTheWeeksDistinctVisitors: the same 100 people visit on three days of the
// week (300 by day) and 80 people on two days of the week before (160). With the weeks' distinct
// visitors gathered (GA4 asked for each week as one range) the tile is "Visitors 100", +25.0%
// against 80; without the previous week's it shows no change rather than compare 100 people
// with 160 day-visits; without the week's it is the days' sum, labelled so, against last week's
// sum, as before.
func TestVisitorsTileShowsTheWeeksDistinctVisitors(t *testing.T) {
	w := report.Week{Year: 2026, Week: 24}
	week := func(w report.Week, visitors map[int]int64) []report.Day {
		var out []report.Day
		for i, day := range w.Days() {
			out = append(out, report.Day{Date: day.Format(time.DateOnly), HasTraffic: true, Visitors: visitors[i], Sessions: visitors[i], BounceRateBps: 5000})
		}
		return out
	}
	n := func(v int64) *int64 { return &v }
	for _, tt := range []struct {
		name       string
		cur, prev  *int64
		label, val string
		change     string
		mailLine   string
	}{
		{"distinct both weeks", n(100), n(80), "Visitors", "100", "+25.0%", "Visitors:              100 (+25.0% vs last week)\n"},
		{"distinct this week only", n(100), nil, "Visitors", "100", "", "Visitors:              100\n"},
		{"no distinct", nil, nil, report.VisitorsLabel, "300", "+87.5%", "Sum of daily visitors: 300 (+87.5% vs last week)\n"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			d := report.Data{ClientID: "c", Week: w, Currency: money.USD,
				Days: week(w, map[int]int64{0: 100, 2: 100, 5: 100}), Previous: week(w.Prev(), map[int]int64{1: 80, 4: 80}),
				DistinctVisitors: tt.cur, PreviousDistinctVisitors: tt.prev}
			tile := d.Tiles()[0]
			require.Equal(t, []string{tt.label, tt.val, tt.change}, []string{tile.Label, tile.Value, tile.Change})
			e, err := report.EmailFor(d)
			require.NoError(t, err)
			require.Contains(t, e.Text, tt.mailLine)
		})
	}
}

// TestReportStoredBeforeDistinctVisitorsRendersAsBefore: the data kept with a delivery made
// before the weeks' distinct visitors were gathered (testdata: reporttest.Sample as that release
// stored it) has neither count. It reads back without them and writes back the same JSON (no
// null fields added), and its visitors tile is what it was, the days' visitors summed and
// labelled so, so a resend, a restored file or an unchanged regenerate of an old week is the
// same document. (When this was written the file's PDF and mail were also compared byte for
// byte with the previous release's render of it: the same SHA-256.)
func TestReportStoredBeforeDistinctVisitorsRendersAsBefore(t *testing.T) {
	stored, err := os.ReadFile("testdata/stored-before-distinct-visitors.json")
	require.NoError(t, err)
	var d report.Data
	require.NoError(t, json.Unmarshal(stored, &d))
	require.Nil(t, d.DistinctVisitors)
	require.Nil(t, d.PreviousDistinctVisitors)
	again, err := json.MarshalIndent(d, "", "  ")
	require.NoError(t, err)
	require.Equal(t, string(stored), string(again)+"\n", "the stored data reads and writes back unchanged")

	tile := d.Tiles()[0]
	require.Equal(t, []string{report.VisitorsLabel, "13,090", "-4.5%"}, []string{tile.Label, tile.Value, tile.Change})
	sample := reporttest.Sample()
	require.Equal(t, sample.Tiles(), d.Tiles())
	old, err := report.RenderWith(d, nil)
	require.NoError(t, err)
	now, err := report.RenderWith(sample, nil)
	require.NoError(t, err)
	require.Equal(t, now.SHA256(), old.SHA256(), "the stored data renders as the data it was made from")
	require.Contains(t, pdfText(t, old.Bytes), report.VisitorsLabel)
}

// TestVisitorsTileWithoutLastWeeksData: a client whose GA4 was connected this week has no
// visitors the week before, and GA4, asked for that week as one range, sends no row: 0. That 0
// is "no data", as a week without a traffic day is to every other traffic tile (the days' sum,
// new visitors, bounce rate show no change then), not "nobody came": the tile must not read
// "new", good news against last week, when last week simply was not measured. A previous week
// GA4 counted people in is compared, whatever its days say.
func TestVisitorsTileWithoutLastWeeksData(t *testing.T) {
	w := report.Week{Year: 2026, Week: 24}
	days := func(w report.Week, traffic bool) []report.Day {
		var out []report.Day
		for _, day := range w.Days() {
			d := report.Day{Date: day.Format(time.DateOnly)}
			if traffic {
				d.HasTraffic, d.Visitors, d.NewVisitors, d.Sessions, d.BounceRateBps = true, 100, 10, 100, 5000
			}
			out = append(out, d)
		}
		return out
	}
	n := func(v int64) *int64 { return &v }
	for _, tt := range []struct {
		name        string
		prevTraffic bool
		prev        *int64
		change      string
	}{
		{"no data last week, GA4 sends no row", false, n(0), ""},
		{"no day synced last week, GA4 counted 80", false, n(80), "+25.0%"},
		{"last week measured, GA4 counted 80", true, n(80), "+25.0%"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			d := report.Data{ClientID: "c", Week: w, Currency: money.USD, Days: days(w, true), Previous: days(w.Prev(), tt.prevTraffic),
				DistinctVisitors: n(100), PreviousDistinctVisitors: tt.prev}
			tiles := d.Tiles()
			require.Equal(t, []string{"Visitors", "100", tt.change}, []string{tiles[0].Label, tiles[0].Value, tiles[0].Change})
			if !tt.prevTraffic {
				require.Empty(t, tiles[1].Change, "new visitors, not measured last week either")
			}
		})
	}
}
