package activities_test

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"paysplit/activities"
	"paysplit/internal/mailer"
	"paysplit/internal/mailer/mailbox"
	"paysplit/internal/objstore/objstoretest"
	"paysplit/internal/store"
	"paysplit/testenv"
)

// TestReportEmailTooLargeIsNotRetried: the client's mail server takes messages up to 16 KB and
// answers the report's end of DATA with 552 (message too large). That answer is permanent (RFC
// 5321: the client should not repeat the request): the email step fails as ReportInvalid, not
// retried, so the run ends at once with why and an admin can act. Before, it was a plain error,
// retried for the whole six-day run, sending the PDF again at each backoff, while a resend or
// regenerate of the week answered 409 run_in_progress.
func TestReportEmailTooLargeIsNotRetried(t *testing.T) {
	pool, _ := testenv.Postgres(t)
	st := store.New(pool)
	ctx := t.Context()
	const id = "report-smtp-too-large"
	usdClient(t, st, id)
	_, err := st.PutReportSettings(ctx, store.ReportSettings{ClientID: id, TimeZone: "UTC", Recipients: []string{"owner@large.test"}, Enabled: true})
	require.NoError(t, err)
	generateW24(t, st, id, nil)

	s3 := objstoretest.Start(t)
	files := s3.Bucket(t, "paysplit-reports")
	box, err := mailbox.Listen("127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { _ = box.Close() })
	box.LimitMessageSize(16 << 10)

	rep := &activities.Reports{Store: st, Files: files,
		Mail: &mailer.SMTP{Addr: box.Addr(), From: "reports@paysplit.test", TLS: mailer.TLSNone, Timeout: 5 * time.Second}}
	var ts testsuite.WorkflowTestSuite
	env := ts.NewTestActivityEnvironment()
	env.RegisterActivity(rep)
	_, err = env.ExecuteActivity(rep.UploadReport, activities.ReportInput{ClientID: id, Week: "2026-W24"})
	require.NoError(t, err)

	_, err = env.ExecuteActivity(rep.EmailReport, activities.EmailReportInput{ClientID: id, Week: "2026-W24", EnsureSends: 1})
	require.Error(t, err)
	var app *temporal.ApplicationError
	require.True(t, errors.As(err, &app), "%v", err)
	require.True(t, app.NonRetryable(), "a 552 to the message is not retried: %v", err)
	require.Equal(t, activities.ErrTypeReportInvalid, app.Type())
	require.Contains(t, err.Error(), "552")
	require.Empty(t, box.Messages())
	d, err := st.GetReportDelivery(ctx, id, "2026-W24")
	require.NoError(t, err)
	require.Equal(t, 0, d.SendsDone, "nothing was sent")
}
