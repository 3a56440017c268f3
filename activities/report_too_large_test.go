package activities_test

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"

	"paysplit/activities"
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

	rep, box, env := reportsWithMailbox(t, st)
	box.LimitMessageSize(16 << 10)
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
