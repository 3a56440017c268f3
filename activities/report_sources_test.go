package activities_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"paysplit/activities"
	"paysplit/internal/kpi"
	"paysplit/internal/kpi/ga4"
	"paysplit/internal/kpi/kpisrc"
	"paysplit/internal/kpi/kpitest"
	"paysplit/internal/store"
	"paysplit/testenv"
)

// reportSources is a client whose previous week (2026-W23, older than the 7 hot days at the
// 2026-W24 report's Monday) comes from the GA4 and Stripe fakes, through the reader and sources
// the worker wires.
type reportSources struct {
	st     *store.Store
	ga4    *kpitest.GA4
	stripe *kpitest.Stripe
	rep    *activities.Reports
}

func newReportSources(t *testing.T, st *store.Store) *reportSources {
	t.Helper()
	g, sp := kpitest.NewGA4(t), kpitest.NewStripe(t)
	now := time.Date(2026, 6, 15, 6, 0, 0, 0, time.UTC)
	f := &kpisrc.Factory{Store: st, Stripe: activities.NewStripeClient("sk_test_report", sp.URL, nil),
		GA4: ga4.Options{Endpoint: g.URL, WithoutAuthentication: true}}
	rep := &activities.Reports{Store: st, Now: func() time.Time { return now },
		KPIs: &kpi.Reader{Hot: st, Cold: f.Cold, RetentionDays: 7, StaleAfter: time.Hour, Now: func() time.Time { return now }}}
	return &reportSources{st: st, ga4: g, stripe: sp, rep: rep}
}

func (s *reportSources) client(t *testing.T, id string) {
	t.Helper()
	usdClient(t, s.st, id)
	_, err := s.st.PutKPISettings(t.Context(), store.KPISettings{ClientID: id, GA4PropertyID: "4242", ProviderRevenue: true})
	require.NoError(t, err)
}

func sourceNotes(d store.ReportDelivery) []string {
	var out []string
	for _, n := range d.Data.NotesAll() {
		if strings.Contains(n, "could not be reached") {
			out = append(out, n)
		}
	}
	return out
}

// TestGenerateReportRetriesASourceThatIsDown: when GA4 or Stripe cannot answer for the previous
// week's days, a failure a retry may cure (5xx, rate limit) must fail the attempt retryably with
// nothing stored, so Temporal tries again and the report, once the source is back, has all its
// figures; it used to be generated at once with a "could not be reached" note, and as the week
// then counted as generated, no later run replaced it. A source that refuses for good (no access
// to the property, a key Stripe rejects) still gives the report with the note at once: it must not
// wait the run's 24 hours for a configuration to be fixed.
func TestGenerateReportRetriesASourceThatIsDown(t *testing.T) {
	st := store.New(testenv.OwnDatabase(t))
	for _, tt := range []struct {
		id           string
		ga4, stripe  int // what the source answers; 0: the figures
		retried      bool
		noteNamesSrc string // the source the note names when not retried
	}{
		{id: "src-ga4-unavailable", ga4: 503, retried: true},
		{id: "src-ga4-quota", ga4: 429, retried: true},
		{id: "src-stripe-unavailable", stripe: 503, retried: true},
		{id: "src-stripe-rate-limited", stripe: 429, retried: true},
		{id: "src-ga4-forbidden", ga4: 403, noteNamesSrc: kpi.SourceGA4},
		{id: "src-stripe-bad-key", stripe: 401, noteNamesSrc: kpi.SourceStripe},
	} {
		t.Run(tt.id, func(t *testing.T) {
			s := newReportSources(t, st)
			s.client(t, tt.id)
			s.ga4.Fail(tt.ga4)
			s.stripe.Fail(tt.stripe)
			var ts testsuite.WorkflowTestSuite
			env := ts.NewTestActivityEnvironment()
			env.RegisterActivity(s.rep)
			in := activities.GenerateReportInput{ClientID: tt.id, Week: "2026-W24"}

			_, err := env.ExecuteActivity(s.rep.GenerateReport, in)
			if !tt.retried {
				require.NoError(t, err)
				d, err := s.st.GetReportDelivery(t.Context(), tt.id, "2026-W24")
				require.NoError(t, err)
				notes := sourceNotes(d)
				require.Len(t, notes, 1, "notes: %q", d.Data.NotesAll())
				require.Contains(t, notes[0], "The "+tt.noteNamesSrc+" KPI source")
				return
			}
			require.Error(t, err, "a source that may answer on a retry was noted in the report instead")
			var app *temporal.ApplicationError
			require.False(t, errors.As(err, &app) && app.NonRetryable(), "not retried: %v", err)
			_, err = s.st.GetReportDelivery(t.Context(), tt.id, "2026-W24")
			require.ErrorIs(t, err, store.ErrNotFound, "the week was recorded as generated before the source answered")

			// The source is back: the retry makes the report with every figure.
			s.ga4.Fail(0)
			s.stripe.Fail(0)
			v, err := env.ExecuteActivity(s.rep.GenerateReport, in)
			require.NoError(t, err)
			var out activities.GenerateReportOutput
			require.NoError(t, v.Get(&out))
			require.True(t, out.Generated)
			d, err := s.st.GetReportDelivery(t.Context(), tt.id, "2026-W24")
			require.NoError(t, err)
			require.Empty(t, sourceNotes(d))
			for _, day := range d.Data.Previous {
				require.Truef(t, day.HasTraffic && day.HasRevenue, "%s is missing figures after the retry", day.Date)
			}
		})
	}
}

// TestGenerateReportNotesASourceStillDownOnItsLastAttempt: a source down for the whole of the
// step's retries must not leave the client without a report: the attempt the retry policy allows
// last generates it with the note. On the dev server, which hands the activity its retry policy
// and attempt (the SDK's test environment gives neither).
func TestGenerateReportNotesASourceStillDownOnItsLastAttempt(t *testing.T) {
	st := store.New(testenv.OwnDatabase(t))
	tc := testenv.TemporalClient(t)
	s := newReportSources(t, st)
	const id = "src-down-to-the-end"
	s.client(t, id)
	s.ga4.Fail(503)

	generate := func(ctx workflow.Context, in activities.GenerateReportInput) (activities.GenerateReportOutput, error) {
		ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
			StartToCloseTimeout: time.Minute, ScheduleToCloseTimeout: 24 * time.Hour,
			RetryPolicy: &temporal.RetryPolicy{InitialInterval: 100 * time.Millisecond, MaximumAttempts: 3},
		})
		var out activities.GenerateReportOutput
		err := workflow.ExecuteActivity(ctx, s.rep.GenerateReport, in).Get(ctx, &out)
		return out, err
	}
	queue := "report-" + t.Name()
	w := worker.New(tc, queue, testenv.WorkerOptions())
	w.RegisterWorkflowWithOptions(generate, workflow.RegisterOptions{Name: "generate-last-chance"})
	w.RegisterActivity(s.rep)
	require.NoError(t, w.Start())
	t.Cleanup(w.Stop)

	run, err := tc.ExecuteWorkflow(t.Context(), client.StartWorkflowOptions{TaskQueue: queue, WorkflowExecutionTimeout: time.Minute},
		"generate-last-chance", activities.GenerateReportInput{ClientID: id, Week: "2026-W24"})
	require.NoError(t, err)
	var out activities.GenerateReportOutput
	require.NoError(t, run.Get(t.Context(), &out))
	require.True(t, out.Generated)
	require.Equal(t, 3, s.ga4.Reports(), "GA4 asked once per attempt, the last one's failure noted")
	d, err := st.GetReportDelivery(t.Context(), id, "2026-W24")
	require.NoError(t, err)
	require.Len(t, sourceNotes(d), 1, "notes: %q", d.Data.NotesAll())
}
