package activities_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/testsuite"

	"paysplit/activities"
	"paysplit/internal/kpi"
	"paysplit/internal/kpi/ga4"
	"paysplit/internal/kpi/kpisrc"
	"paysplit/internal/kpi/kpitest"
	"paysplit/internal/money"
	"paysplit/internal/report"
	"paysplit/internal/report/reporttest"
	"paysplit/internal/store"
	"paysplit/testenv"
)

// TestWeeklyReportNotesGA4Thresholding: GA4 answered one client's property subject to
// thresholding (it withheld rows with low user counts), and the sync stored its days as complete:
// the weekly report, built from the stored days, showed visitors lower than the real ones without
// a word. The sync keeps the flag with the day (migration 00049), and the report, its data and its
// PDF, says "GA4 applied thresholding"; GA4 no longer thresholding when the report is built
// changes nothing, as the figures shown are the stored ones. A property GA4 did not threshold gets
// no such note. The previous week, read from GA4 when the report is built (older than the hot
// window) and compared with, was thresholded while the week was whole: the changes rested on
// figures that may be low and the report said nothing. It says so, in one note when both were.
func TestWeeklyReportNotesGA4Thresholding(t *testing.T) {
	st := store.New(testenv.OwnDatabase(t))
	ctx := t.Context()
	g := kpitest.NewGA4(t)
	f := &kpisrc.Factory{Store: st, GA4: ga4.Options{Endpoint: g.URL, WithoutAuthentication: true}}
	monday := time.Date(2026, 6, 8, 0, 0, 0, 0, time.UTC)
	sync := &activities.KPI{Store: st, Sources: f, Now: func() time.Time { return time.Date(2026, 6, 15, 5, 45, 0, 0, time.UTC) }}
	var ts testsuite.WorkflowTestSuite
	env := ts.NewTestActivityEnvironment()
	env.RegisterActivity(sync)
	for _, tt := range []struct {
		id, property string
		thresholded  bool // the week's days, when synced
		previous     bool // the previous week's days, as GA4 answers them when the report is built
		want         string
	}{
		{"thresholded-report", "6161", true, false, kpi.ThresholdedNote},
		{"whole-report", "6262", false, false, ""},
		{"thresholded-previous", "6363", false, true, report.PreviousThresholdedNote},
		{"thresholded-both", "6464", true, true, report.BothThresholdedNote},
	} {
		t.Run(tt.id, func(t *testing.T) {
			usdClient(t, st, tt.id)
			_, err := st.PutKPISettings(ctx, store.KPISettings{ClientID: tt.id, GA4PropertyID: tt.property})
			require.NoError(t, err)
			for i := -7; i < 7; i++ {
				g.SetDay(tt.property, monday.AddDate(0, 0, i), kpi.Traffic{Visitors: 40, NewVisitors: 10, Sessions: 50, BounceRateBps: 4000})
			}
			g.Threshold(tt.property, tt.thresholded)
			_, err = env.ExecuteActivity(sync.SyncKPISource, activities.SyncKPISourceInput{ClientID: tt.id, Source: kpi.SourceGA4,
				Currency: money.USD, From: monday, To: monday.AddDate(0, 0, 6), Today: monday.AddDate(0, 0, 7)})
			require.NoError(t, err)
			g.Threshold(tt.property, tt.previous) // the week is read from the stored days, as synced

			d := generateW24(t, st, tt.id, f.Cold)
			notes := strings.Join(d.Data.NotesAll(), "\n")
			text := strings.Join(strings.Fields(pdfText(t, *d.Data)), " ")
			require.Equal(t, int64(280), report.Sum(d.Data.Days).Visitors, "the figures as GA4 gave them")
			require.NotEmpty(t, d.Data.Tiles()[1].Change, "new visitors compared with the previous week")
			if tt.want == "" {
				require.NotContains(t, notes, "thresholding")
				require.NotContains(t, text, "thresholding")
				return
			}
			require.Contains(t, notes, tt.want)
			require.Contains(t, text, tt.want, "the PDF's notes")
			require.Equal(t, 1, strings.Count(text, "GA4 applied thresholding"), "one note: %s", text)
		})
	}
}

// pdfText is the text of every page of d's PDF, by pdftotext (poppler-utils).
func pdfText(t *testing.T, d report.Data) string {
	t.Helper()
	pdf, err := report.RenderWith(d, nil)
	require.NoError(t, err)
	exe := reporttest.Poppler(t, "pdftotext")
	path := filepath.Join(t.TempDir(), "report.pdf")
	require.NoError(t, os.WriteFile(path, pdf.Bytes, 0o644))
	out, err := exec.Command(exe, path, "-").Output()
	require.NoError(t, err, "pdftotext")
	return string(out)
}
