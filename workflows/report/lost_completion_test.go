package report_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/testsuite"

	"paysplit/activities"
	"paysplit/internal/mailer"
	"paysplit/internal/mailer/mailbox"
	"paysplit/internal/objstore/objstoretest"
	"paysplit/internal/store"
	"paysplit/testenv"
	"paysplit/workflows/report"
)

// TestWeeklyOutcomeIsSentWhenTheEmailStepsCompletionWasLost: the email step sent the week's
// report and recorded the send, then its worker died before Temporal heard back; the step's retry
// finds the send made. The week's outcome must say sent: it said not_sent, "already_sent", for a
// report this very run had sent, as if the client had been mailed by an earlier run.
func TestWeeklyOutcomeIsSentWhenTheEmailStepsCompletionWasLost(t *testing.T) {
	const zone = "America/Montevideo" // no other test's clients run here
	pool, _ := testenv.Postgres(t)
	st := store.New(pool)
	s3 := objstoretest.Start(t)
	files := s3.Bucket(t, "paysplit-reports")
	box, err := mailbox.Listen("127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { _ = box.Close() })
	id := unique("lost-completion")
	owner := "owner@" + id + ".test"
	(&stack{t: t, st: st, box: box}).seedClient(id, zone, owner)
	t.Cleanup(func() {
		// Out of the zone's lists, so a later run of this test (-count) weighs its own client alone.
		_, err := st.PutReportSettings(context.Background(), store.ReportSettings{ClientID: id, TimeZone: zone, Enabled: false})
		require.NoError(t, err)
	})

	rep := &activities.Reports{Store: st, Files: files,
		Mail: &mailer.SMTP{Addr: box.Addr(), From: "reports@paysplit.test", TLS: mailer.TLSNone, Timeout: 10 * time.Second}}
	var ts testsuite.WorkflowTestSuite
	env := ts.NewTestWorkflowEnvironment()
	env.SetTestTimeout(2 * time.Minute)
	report.Register(env)
	env.RegisterActivity(rep)
	attempts := 0
	env.OnActivity(rep.EmailReport, mock.Anything, mock.Anything).Return(
		func(ctx context.Context, in activities.EmailReportInput) (activities.EmailReportOutput, error) {
			attempts++
			out, err := rep.EmailReport(ctx, in)
			if attempts == 1 && err == nil {
				// Sent and recorded; the completion never reaches Temporal, which retries.
				return activities.EmailReportOutput{}, errors.New("activity StartToClose timeout: worker lost")
			}
			return out, err
		})

	env.ExecuteWorkflow(report.WeeklyWorkflowName, report.WeeklyInput{TimeZone: zone, Week: "2026-W07"})
	require.True(t, env.IsWorkflowCompleted())
	require.NoError(t, env.GetWorkflowError())
	var res report.WeeklyResult
	require.NoError(t, env.GetWorkflowResult(&res))
	require.Equal(t, 2, attempts, "the email step was retried after its lost completion")
	require.Len(t, box.Messages(), 1, "the report is sent once")
	require.Equal(t, []report.ClientOutcome{{ClientID: id, Status: "sent"}}, res.Outcomes,
		"the week's report was sent by this run")
	require.Equal(t, 1, res.Totals.Sent)
}
