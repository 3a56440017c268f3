package activities_test

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"paysplit/activities"
	"paysplit/internal/kpi"
	"paysplit/internal/kpi/kpisrc"
	"paysplit/internal/mailer"
	"paysplit/internal/mailer/mailbox"
	"paysplit/internal/money"
	"paysplit/internal/objstore/objstoretest"
	"paysplit/internal/store"
	"paysplit/testenv"
)

// TestReportNotesOnlyTheClientsSources: a ga4 status row left from before the client dropped
// GA4 must not give every later report a "ga4 last synced ..." note; the ledger, synced after
// the week ended, gives none either.
func TestReportNotesOnlyTheClientsSources(t *testing.T) {
	pool, _ := testenv.Postgres(t)
	st := store.New(pool)
	ctx := t.Context()
	const id = "report-dropped-ga4"
	usdClient(t, st, id)
	require.NoError(t, st.MarkKPISynced(ctx, id, kpi.SourceGA4, time.Date(2026, 5, 1, 9, 0, 0, 0, time.UTC)))      // before GA4 was removed
	require.NoError(t, st.MarkKPISynced(ctx, id, kpi.SourceLedger, time.Date(2026, 6, 15, 3, 55, 0, 0, time.UTC))) // minutes before the run
	d := generateW24(t, st, id, nil)
	var sources []string
	for _, s := range d.Data.Sources {
		sources = append(sources, s.Source)
	}
	require.Equal(t, []string{kpi.SourceLedger}, sources)
	for _, n := range d.Data.NotesAll() {
		require.Falsef(t, strings.Contains(n, "KPI source"), "note about a source's sync: %q", n)
	}
}

// usdClient creates a client of that ID whose currency is USD.
func usdClient(t *testing.T, st *store.Store, id string) {
	t.Helper()
	_, _, err := st.UpsertClient(t.Context(), store.Client{ID: id, Name: id, DefaultCurrency: money.USD})
	require.NoError(t, err)
}

// generateW24 generates the client's report of 2026-W24 at the UTC zone's Monday 06:00 after it,
// through a KPI reader like the worker's (7 hot days, cold the sources when not nil), and returns
// what was stored.
func generateW24(t *testing.T, st *store.Store, id string, cold kpi.SourcesFor) store.ReportDelivery {
	t.Helper()
	now := time.Date(2026, 6, 15, 6, 0, 0, 0, time.UTC)
	rep := &activities.Reports{Store: st, Now: func() time.Time { return now },
		KPIs: &kpi.Reader{Hot: st, Cold: cold, RetentionDays: 7, StaleAfter: time.Hour, Now: func() time.Time { return now }}}
	var ts testsuite.WorkflowTestSuite
	env := ts.NewTestActivityEnvironment()
	env.RegisterActivity(rep)
	_, err := env.ExecuteActivity(rep.GenerateReport, activities.GenerateReportInput{ClientID: id, Week: "2026-W24"})
	require.NoError(t, err)
	d, err := st.GetReportDelivery(t.Context(), id, "2026-W24")
	require.NoError(t, err)
	return d
}

// TestWeeklyReportHasItsOwnMonday: the KPI sync stored revenue for every day of 2026-W24
// (8-14 June) in Postgres; the weekly report, generated at the schedule's Monday 06:00 (UTC zone)
// through the reader the worker wires (7 hot days, cold sources), must show all seven days.
// The week's Monday is 7 days before the generation day: when the hot window counted today among
// its 7 days, the stored row was ignored (and pruned by the 03:15 retention the same morning), and
// a client without provider revenue got Monday as "missing" in every report.
func TestWeeklyReportHasItsOwnMonday(t *testing.T) {
	pool, _ := testenv.Postgres(t)
	st := store.New(pool)
	ctx := t.Context()
	const id = "report-own-monday"
	usdClient(t, st, id)
	_, err := st.PutKPISettings(ctx, store.KPISettings{ClientID: id, ProviderRevenue: false})
	require.NoError(t, err)
	monday := time.Date(2026, 6, 8, 0, 0, 0, 0, time.UTC)
	var days []kpi.RevenueDay
	for i := range 7 {
		c := int64(100)
		days = append(days, kpi.RevenueDay{Day: monday.AddDate(0, 0, i), Revenue: kpi.Revenue{Currency: money.USD, Gross: 1000, Commission: &c}})
	}
	require.NoError(t, st.UpsertKPIRevenue(ctx, id, kpi.SourceLedger, days))
	require.NoError(t, st.MarkKPISynced(ctx, id, kpi.SourceLedger, time.Date(2026, 6, 15, 5, 45, 0, 0, time.UTC)))

	d := generateW24(t, st, id, (&kpisrc.Factory{Store: st}).Cold) // as worker/reports.go wires it
	for _, day := range d.Data.Days {
		require.Truef(t, day.HasRevenue, "%s has no revenue in the report though the sync stored it; notes: %q", day.Date, d.Data.NotesAll())
	}
}

// TestReportReadyAt: a report may be generated once its last (UTC) day has ended and one of the
// client's KPI syncs has run since, with the client's own period, else the deployment's.
func TestReportReadyAt(t *testing.T) {
	pool, _ := testenv.Postgres(t)
	st := store.New(pool)
	ctx := t.Context()
	weekEnd := time.Date(2026, 6, 15, 0, 0, 0, 0, time.UTC) // 2026-W24 is 8–14 June
	for _, tt := range []struct {
		id         string
		clientSync time.Duration // the client's sync_every_seconds; 0: not set
		deployment time.Duration // Reports.KPISyncEvery
		want       time.Time
	}{
		{"ready-defaults", 0, 0, weekEnd.Add(20 * time.Minute)},
		{"ready-deployment-period", 0, time.Hour, weekEnd.Add(time.Hour + 5*time.Minute)},
		{"ready-client-period", 30 * time.Minute, time.Hour, weekEnd.Add(35 * time.Minute)},
		{"ready-daily-sync-capped", 24 * time.Hour, 0, weekEnd.Add(6 * time.Hour)}, // at most six hours after the day
	} {
		t.Run(tt.id, func(t *testing.T) {
			id := tt.id
			usdClient(t, st, id)
			_, err := st.PutKPISettings(ctx, store.KPISettings{ClientID: id, ProviderRevenue: true, SyncEvery: tt.clientSync})
			require.NoError(t, err)
			rep := &activities.Reports{Store: st, KPISyncEvery: tt.deployment}
			var ts testsuite.WorkflowTestSuite
			env := ts.NewTestActivityEnvironment()
			env.RegisterActivity(rep)
			v, err := env.ExecuteActivity(rep.ReportReadyAt, activities.ReportInput{ClientID: id, Week: "2026-W24"})
			require.NoError(t, err)
			var out activities.ReportReadyOutput
			require.NoError(t, v.Get(&out))
			require.Equal(t, tt.want, out.At.UTC())
		})
	}
	// An unknown client or week is refused for good.
	rep := &activities.Reports{Store: st}
	var ts testsuite.WorkflowTestSuite
	env := ts.NewTestActivityEnvironment()
	env.RegisterActivity(rep)
	for _, in := range []activities.ReportInput{{ClientID: "ghost", Week: "2026-W24"}, {ClientID: "ready-defaults", Week: "2026-W99"}} {
		_, err := env.ExecuteActivity(rep.ReportReadyAt, in)
		var app *temporal.ApplicationError
		require.ErrorAs(t, err, &app, "%+v", in)
		require.True(t, app.NonRetryable(), "%+v: %v", in, err)
	}
}

// TestReportEmailAcceptedThenConnectionDropped: the SMTP server took the weekly report (250 to
// DATA) and the connection dropped before the session ended. The send happened, so it is
// recorded; an error instead makes Temporal retry the activity, which sends the report again.
func TestReportEmailAcceptedThenConnectionDropped(t *testing.T) {
	pool, _ := testenv.Postgres(t)
	st := store.New(pool)
	ctx := t.Context()
	const id = "report-smtp-hangup"
	usdClient(t, st, id)
	_, err := st.PutReportSettings(ctx, store.ReportSettings{ClientID: id, TimeZone: "UTC", Recipients: []string{"owner@hangup.test"}, Enabled: true})
	require.NoError(t, err)
	generateW24(t, st, id, nil)

	rep, box, env := reportsWithMailbox(t, st)
	box.HangUpAfterAccepting(true)
	in := activities.ReportInput{ClientID: id, Week: "2026-W24"}
	_, err = env.ExecuteActivity(rep.UploadReport, in)
	require.NoError(t, err)

	ein := activities.EmailReportInput{ClientID: id, Week: "2026-W24", EnsureSends: 1}
	// What Temporal does: the first attempt, and a retry while an attempt fails.
	var firstErr error
	for attempt := 1; attempt <= 2; attempt++ {
		_, err := env.ExecuteActivity(rep.EmailReport, ein)
		if attempt == 1 {
			firstErr = err
		}
		if err == nil {
			break
		}
	}
	require.Equalf(t, 1, len(box.Messages()), "mails of the week's report; the first attempt said: %v", firstErr)
	require.NoError(t, firstErr)
	d, err := st.GetReportDelivery(ctx, id, "2026-W24")
	require.NoError(t, err)
	require.Equal(t, 1, d.SendsDone, "the accepted send is recorded")
}

// TestReportEmailSkipsARefusedRecipient: the SMTP server refuses one of the client's two
// recipients for good (550 no such mailbox, an accountant who left). The owner still gets the
// report and the send is recorded; before, the one refusal failed the send as invalid and nobody
// got the week's report.
func TestReportEmailSkipsARefusedRecipient(t *testing.T) {
	pool, _ := testenv.Postgres(t)
	st := store.New(pool)
	ctx := t.Context()
	const id = "report-smtp-refused"
	const owner, gone = "owner@refused.test", "accountant@refused.test"
	usdClient(t, st, id)
	_, err := st.PutReportSettings(ctx, store.ReportSettings{ClientID: id, TimeZone: "UTC", Recipients: []string{owner, gone}, Enabled: true})
	require.NoError(t, err)
	generateW24(t, st, id, nil)

	rep, box, env := reportsWithMailbox(t, st)
	box.RejectRecipients(func(addr string) (int, string) {
		if addr == gone {
			return 550, "5.1.1 <" + addr + ">: no such mailbox"
		}
		return 0, ""
	})
	_, err = env.ExecuteActivity(rep.UploadReport, activities.ReportInput{ClientID: id, Week: "2026-W24"})
	require.NoError(t, err)

	v, err := env.ExecuteActivity(rep.EmailReport, activities.EmailReportInput{ClientID: id, Week: "2026-W24", EnsureSends: 1})
	var envelopes [][]string
	for _, m := range box.Messages() {
		envelopes = append(envelopes, m.To)
	}
	require.Equal(t, [][]string{{owner}}, envelopes, "the owner gets the report; the send said: %v", err)
	require.NoError(t, err)
	var out activities.EmailReportOutput
	require.NoError(t, v.Get(&out))
	require.True(t, out.Sent)
	require.Equal(t, 1, out.Recipients, "recipients who got it")
	require.Equal(t, 1, out.Refused)
	d, err := st.GetReportDelivery(ctx, id, "2026-W24")
	require.NoError(t, err)
	require.Equal(t, 1, d.SendsDone, "the send is made")
	require.Equal(t, 1, d.Recipients)
	require.Equal(t, []int{1}, d.RefusedRecipients, "the admin listing shows which recipient was refused")

	// A retry (the activity's completion lost) sends nothing more.
	v, err = env.ExecuteActivity(rep.EmailReport, activities.EmailReportInput{ClientID: id, Week: "2026-W24", EnsureSends: 1})
	require.NoError(t, err)
	require.Len(t, box.Messages(), 1, "the owner is not mailed twice")
	require.NoError(t, v.Get(&out))
	require.Equal(t, activities.EmailReportOutput{Sent: true, Send: 1, MessageID: out.MessageID, Recipients: 1, Refused: 1}, out,
		"the same run's retry says its send was made")
}

// reportsWithMailbox is the report activities on st with an S3-API server's bucket and an SMTP
// server of their own (box: set its refusals before sending), registered in an activity
// environment.
func reportsWithMailbox(t *testing.T, st *store.Store) (*activities.Reports, *mailbox.Server, *testsuite.TestActivityEnvironment) {
	t.Helper()
	box, err := mailbox.Listen("127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { _ = box.Close() })
	rep := &activities.Reports{Store: st, Files: objstoretest.Start(t).Bucket(t, "paysplit-reports"),
		Mail: &mailer.SMTP{Addr: box.Addr(), From: "reports@paysplit.test", TLS: mailer.TLSNone, Timeout: 5 * time.Second}}
	var ts testsuite.WorkflowTestSuite
	env := ts.NewTestActivityEnvironment()
	env.RegisterActivity(rep)
	return rep, box, env
}
