package activities_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"paysplit/activities"
	"paysplit/internal/alert"
	"paysplit/internal/ledger"
	"paysplit/internal/mailer/mailbox"
	"paysplit/internal/monitor"
	"paysplit/testenv"
)

// TestAlertEmailRefusedForGoodDoesNotHoldBackTheOthers: the SMTP server refuses one queued alert
// once it has read it (5xx to the end of DATA: here 552, too large for it; a content filter's 554
// is the same), and takes the next. The refusal is the message's, not the server's: the round
// must still mail the alert queued after it, and fail without a retry, the refused one's reason
// kept in the outbox. Before, the first refusal took the email channel down for the round, every
// later message was "not tried after an earlier failure this round", and as the refused message
// is the oldest queued, each round (and each of its four attempts) sent it again and was refused
// again: no alert email reached on-call for the 48 hours it was tried.
func TestAlertEmailRefusedForGoodDoesNotHoldBackTheOthers(t *testing.T) {
	pool := testenv.OwnDatabase(t)
	box, err := mailbox.Listen("127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { _ = box.Close() })
	box.LimitMessageSize(16 << 10)
	l := ledger.New(pool)
	a := &activities.Integrity{Ledger: l, Monitors: monitor.NewStore(pool, l),
		Email: &alert.SMTP{Addr: box.Addr(), From: "alerts@paysplit.test", To: []string{"oncall@paysplit.test"}, Timeout: 5 * time.Second}}
	ctx := t.Context()

	// The first alert's text is over the server's limit, the second's well under it.
	var subjects []string
	for i := range 50 {
		subjects = append(subjects, fmt.Sprintf("payment-%03d-%s", i, strings.Repeat("x", 400)))
	}
	queue := func(name string, subjects []string) int64 {
		m, err := a.Monitors.Create(ctx, monitor.Monitor{Name: name, Kind: monitor.KindHeldLegAge}, "test")
		require.NoError(t, err)
		out, err := a.Monitors.Apply(ctx, m.ID, monitor.Result{Status: monitor.StatusFiring, Summary: name + " firing", Subjects: subjects}, time.Now())
		require.NoError(t, err)
		require.NotZero(t, out.NotificationID)
		return out.NotificationID
	}
	refused := queue("held legs (many)", subjects)
	next := queue("held legs", []string{"payment-1"})

	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestActivityEnvironment()
	env.RegisterActivity(a)
	_, roundErr := env.ExecuteActivity(a.DeliverAlerts, activities.DeliverAlertsInput{})

	got := box.Messages()
	require.Len(t, got, 1, "the alert after the refused one is mailed in the same round")
	p, err := mailbox.Parse(got[0].Data)
	require.NoError(t, err)
	require.Equal(t, "[paysplit] FIRING: held legs", p.Subject)
	var sent bool
	require.NoError(t, pool.QueryRow(ctx, `SELECT email_sent_at IS NOT NULL FROM alert_notifications WHERE id = $1`, next).Scan(&sent))
	require.True(t, sent)

	require.Error(t, roundErr, "the refused alert fails the round")
	require.Contains(t, roundErr.Error(), "552")
	var app *temporal.ApplicationError
	require.True(t, errors.As(roundErr, &app), "%v", roundErr)
	require.True(t, app.NonRetryable(), "the same message is refused again: the round is not retried for it: %v", roundErr)
	var lastError string
	require.NoError(t, pool.QueryRow(ctx, `SELECT last_error FROM alert_notifications WHERE id = $1 AND email_sent_at IS NULL`, refused).Scan(&lastError))
	require.Contains(t, lastError, "552", "the reason is kept")
}
