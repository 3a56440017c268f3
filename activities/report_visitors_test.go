package activities_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"paysplit/activities"
	"paysplit/internal/kpi"
	"paysplit/internal/kpi/ga4"
	"paysplit/internal/kpi/kpisrc"
	"paysplit/internal/kpi/kpitest"
	"paysplit/internal/mailer"
	"paysplit/internal/mailer/mailbox"
	"paysplit/internal/money"
	"paysplit/internal/objstore/objstoretest"
	"paysplit/internal/report"
	"paysplit/internal/report/reporttest"
	"paysplit/internal/store"
	"paysplit/testenv"
)

// TestWeeklyReportShowsTheWeeksDistinctVisitors: the same 100 people visit the shop on three
// days of 2026-W24 (300 visitors by day), and 80 people on two days of the week before (160 by
// day). GA4 asked for each week as one range (runReport without the date dimension) counts each
// person once: the report, its PDF and its mail say "Visitors 100", +25.0% against last week's
// 80. Before, the tile was the days summed, "Sum of daily visitors 300". Without those counts
// (no GA4 property, GA4 refusing for good, GA4 down until the run's last chance) the tile is the
// sum, labelled so, compared with last week's sum or with nothing, never with a distinct count.
// A GA4 that may answer on a retry fails the attempt with nothing stored, as for the older days.
func TestWeeklyReportShowsTheWeeksDistinctVisitors(t *testing.T) {
	st := store.New(testenv.OwnDatabase(t))
	type tile struct{ label, value, change string }
	for _, tt := range []struct {
		id string
		// ga4: the client has a GA4 property; fail: what GA4 answers (0: the figures); hot: both
		// weeks are in Postgres (else the week before is read from GA4 and Stripe).
		ga4        bool
		fail       int
		hot        bool
		lastChance bool
		retried    bool // the first attempt fails retryably and GA4 then answers
		want       tile
		note       string // a note the report must have
	}{
		{id: "visitors-distinct", ga4: true, want: tile{"Visitors", "100", "+25.0%"}},
		{id: "visitors-distinct-hot", ga4: true, hot: true, want: tile{"Visitors", "100", "+25.0%"}},
		{id: "visitors-no-ga4", want: tile{report.VisitorsLabel, "300", ""}},
		{id: "visitors-no-ga4-hot", hot: true, want: tile{report.VisitorsLabel, "300", "+87.5%"}},
		{id: "visitors-ga4-refuses", ga4: true, fail: 403, want: tile{report.VisitorsLabel, "300", ""},
			note: "The ga4 KPI source could not be reached"},
		{id: "visitors-ga4-refuses-hot", ga4: true, fail: 403, hot: true, want: tile{report.VisitorsLabel, "300", "+87.5%"},
			note: "could not count the week's distinct visitors"},
		{id: "visitors-ga4-down-hot", ga4: true, fail: 503, hot: true, retried: true, want: tile{"Visitors", "100", "+25.0%"}},
		{id: "visitors-ga4-down-last-chance-hot", ga4: true, fail: 503, hot: true, lastChance: true,
			want: tile{report.VisitorsLabel, "300", "+87.5%"}, note: "could not count the week's distinct visitors"},
	} {
		t.Run(tt.id, func(t *testing.T) {
			ctx := t.Context()
			now := time.Date(2026, 6, 15, 6, 0, 0, 0, time.UTC)
			g, sp := kpitest.NewGA4(t), kpitest.NewStripe(t)
			f := &kpisrc.Factory{Store: st, Stripe: activities.NewStripeClient("sk_test_report", sp.URL, nil),
				GA4: ga4.Options{Endpoint: g.URL, WithoutAuthentication: true}}
			usdClient(t, st, tt.id)
			settings := store.KPISettings{ClientID: tt.id, ProviderRevenue: true}
			if tt.ga4 {
				settings.GA4PropertyID = "4242"
			}
			_, err := st.PutKPISettings(ctx, settings)
			require.NoError(t, err)
			_, err = st.PutReportSettings(ctx, store.ReportSettings{ClientID: tt.id, TimeZone: "UTC", Recipients: []string{"owner@" + tt.id + ".test"}, Enabled: true})
			require.NoError(t, err)

			// W24: people 0-99 on Monday, Wednesday and Saturday; W23: people 100-179 on Tuesday
			// and Friday. GA4 holds each visit; Postgres holds what the sync stored by day.
			visits := func(w report.Week, weekdays []int, first, n int, stored bool) {
				for i, day := range w.Days() {
					var visitors int64
					for _, wd := range weekdays {
						if wd == i {
							visitors = int64(n)
							for p := first; p < first+n; p++ {
								g.Visit("4242", day, fmt.Sprintf("person-%d", p))
							}
						}
					}
					if stored {
						require.NoError(t, st.UpsertKPIDay(ctx, store.KPIDay{ClientID: tt.id, Day: day, Visitors: visitors,
							Sessions: visitors, BounceRateBps: 5000, Revenue: 1000, Currency: money.USD}))
					}
				}
			}
			w := report.Week{Year: 2026, Week: 24}
			visits(w, []int{0, 2, 5}, 0, 100, true)
			visits(w.Prev(), []int{1, 4}, 100, 80, tt.hot)
			g.Fail(tt.fail)

			retention := 7
			if tt.hot {
				retention = 14
			}
			s3 := objstoretest.Start(t)
			box, err := mailbox.Listen("127.0.0.1:0")
			require.NoError(t, err)
			t.Cleanup(func() { _ = box.Close() })
			rep := &activities.Reports{Store: st, Now: func() time.Time { return now }, Visitors: f,
				KPIs:  &kpi.Reader{Hot: st, Cold: f.Cold, RetentionDays: retention, StaleAfter: time.Hour, Now: func() time.Time { return now }},
				Files: s3.Bucket(t, "paysplit-reports"),
				Mail:  &mailer.SMTP{Addr: box.Addr(), From: "reports@paysplit.test", TLS: mailer.TLSNone, Timeout: 5 * time.Second}}
			var ts testsuite.WorkflowTestSuite
			env := ts.NewTestActivityEnvironment()
			env.RegisterActivity(rep)
			in := activities.GenerateReportInput{ClientID: tt.id, Week: w.String()}
			if tt.lastChance {
				in.LastChanceAt = now.Add(-time.Hour)
			}

			_, err = env.ExecuteActivity(rep.GenerateReport, in)
			if tt.retried {
				require.Error(t, err, "GA4 down for the distinct visitors: the attempt is retried")
				var app *temporal.ApplicationError
				require.ErrorAs(t, err, &app)
				require.False(t, app.NonRetryable(), "%v", err)
				require.Equal(t, activities.ErrTypeKPISourceDown, app.Type())
				_, err = st.GetReportDelivery(ctx, tt.id, w.String())
				require.ErrorIs(t, err, store.ErrNotFound, "nothing is stored before GA4 answers")
				g.Fail(0)
				_, err = env.ExecuteActivity(rep.GenerateReport, in)
			}
			require.NoError(t, err)
			_, err = env.ExecuteActivity(rep.UploadReport, activities.ReportInput{ClientID: tt.id, Week: w.String()})
			require.NoError(t, err)
			_, err = env.ExecuteActivity(rep.EmailReport, activities.EmailReportInput{ClientID: tt.id, Week: w.String(), EnsureSends: 1})
			require.NoError(t, err)

			d, err := st.GetReportDelivery(ctx, tt.id, w.String())
			require.NoError(t, err)
			first := d.Data.Tiles()[0]
			require.Equal(t, tt.want, tile{first.Label, first.Value, first.Change}, "the visitors tile; notes: %q", d.Data.NotesAll())
			require.EqualValues(t, 300, report.Sum(d.Data.Days).Visitors, "the days' figures stay as GA4 counts them by date")
			if tt.note != "" {
				require.True(t, strings.Contains(strings.Join(d.Data.NotesAll(), "\n"), tt.note), "notes: %q", d.Data.NotesAll())
			}

			// The mail and the PDF it carries say the same.
			msgs := box.Messages()
			require.Len(t, msgs, 1)
			m, err := mailbox.Parse(msgs[0].Data)
			require.NoError(t, err)
			line := fmt.Sprintf("%-22s %s", tt.want.label+":", tt.want.value)
			if tt.want.change != "" {
				line += " (" + tt.want.change
			}
			require.Contains(t, m.Text, line)
			require.Len(t, m.Attachments, 1)
			text := strings.Join(strings.Fields(firstPageText(t, m.Attachments[0].Data)), " ")
			// The tiles' labels are one line, their values the next.
			require.Contains(t, text, "At a glance "+tt.want.label+" New visitors Bounce rate "+tt.want.value+" ")
			if tt.want.label == "Visitors" {
				require.NotContains(t, text, report.VisitorsLabel)
				require.NotContains(t, m.Text, report.VisitorsLabel)
			}
		})
	}
}

// firstPageText is the text of a PDF's first page, by pdftotext (poppler-utils).
func firstPageText(t *testing.T, pdf []byte) string {
	t.Helper()
	exe := reporttest.Poppler(t, "pdftotext")
	f := filepath.Join(t.TempDir(), "report.pdf")
	require.NoError(t, os.WriteFile(f, pdf, 0o644))
	out, err := exec.Command(exe, "-l", "1", f, "-").Output()
	require.NoError(t, err, "pdftotext")
	return string(out)
}

// countVisitors is a Reports.Visitors that answers n for each range, or err for the ranges
// starting on a Monday in fail, thresholded for those in thresholded, and records the ranges asked.
type countVisitors struct {
	n           int64
	fail        map[string]error
	thresholded map[string]bool
	asked       []string
}

func (c *countVisitors) DistinctVisitors(_ context.Context, _ string, from, to time.Time) (kpi.VisitorCount, error) {
	c.asked = append(c.asked, from.Format(time.DateOnly)+".."+to.Format(time.DateOnly))
	if err := c.fail[from.Format(time.DateOnly)]; err != nil {
		return kpi.VisitorCount{}, err
	}
	return kpi.VisitorCount{Visitors: c.n, Thresholded: c.thresholded[from.Format(time.DateOnly)]}, nil
}

// TestWeeklyReportVisitorsWithoutThePreviousWeeksCount: the week's distinct visitors are had but
// the previous week's are refused: the tile shows the week's, with no change (never against the
// previous week's sum of daily visitors), and a note says why. A client that left before the
// week ended gets no count asked for (the reader's series ends on its leaving day too): the sum.
// A previous week's count GA4 thresholded, which the tile's change compares with, is noted.
func TestWeeklyReportVisitorsWithoutThePreviousWeeksCount(t *testing.T) {
	pool := testenv.OwnDatabase(t)
	st := store.New(pool)
	ctx := t.Context()
	now := time.Date(2026, 6, 15, 6, 0, 0, 0, time.UTC)
	w := report.Week{Year: 2026, Week: 24}
	seed := func(id string) {
		usdClient(t, st, id)
		for i, day := range append(w.Prev().Days(), w.Days()...) {
			require.NoError(t, st.UpsertKPIDay(ctx, store.KPIDay{ClientID: id, Day: day, Visitors: int64(100 + i), Sessions: 100,
				BounceRateBps: 5000, Revenue: 1000, Currency: money.USD}))
		}
	}
	generate := func(id string, c *countVisitors) report.Data {
		rep := &activities.Reports{Store: st, Now: func() time.Time { return now }, Visitors: c,
			KPIs: &kpi.Reader{Hot: st, StaleAfter: time.Hour, Now: func() time.Time { return now }}}
		var ts testsuite.WorkflowTestSuite
		env := ts.NewTestActivityEnvironment()
		env.RegisterActivity(rep)
		_, err := env.ExecuteActivity(rep.GenerateReport, activities.GenerateReportInput{ClientID: id, Week: w.String()})
		require.NoError(t, err)
		d, err := st.GetReportDelivery(ctx, id, w.String())
		require.NoError(t, err)
		return *d.Data
	}

	seed("visitors-prev-refused")
	c := &countVisitors{n: 640, fail: map[string]error{"2026-06-01": kpi.Permanent(errors.New("ga4: runReport: 403 no access"))}}
	d := generate("visitors-prev-refused", c)
	require.Equal(t, []string{"2026-06-08..2026-06-14", "2026-06-01..2026-06-07"}, c.asked)
	tile := d.Tiles()[0]
	require.Equal(t, []string{"Visitors", "640", ""}, []string{tile.Label, tile.Value, tile.Change}, "no change against a sum")
	require.Contains(t, d.NotesAll(), "The ga4 KPI source could not count the previous week's distinct visitors: the visitors tile shows no change.")

	seed("visitors-left")
	_, err := pool.Exec(ctx, `UPDATE clients SET status = 'offboarded', offboarded_at = $2 WHERE id = $1`, "visitors-left",
		time.Date(2026, 6, 12, 15, 0, 0, 0, time.UTC))
	require.NoError(t, err)
	c = &countVisitors{n: 640}
	d = generate("visitors-left", c)
	require.Empty(t, c.asked, "GA4 is not asked for the days after the client left")
	require.Equal(t, report.VisitorsLabel, d.Tiles()[0].Label)

	seed("visitors-prev-thresholded")
	d = generate("visitors-prev-thresholded", &countVisitors{n: 640, thresholded: map[string]bool{"2026-06-01": true}})
	require.Equal(t, "no change", d.Tiles()[0].Change, "compared with the previous week's count")
	require.Contains(t, d.NotesAll(), report.PreviousThresholdedNote)
}
