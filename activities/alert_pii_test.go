package activities_test

import (
	"log/slog"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	tlog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/testsuite"

	"paysplit/activities"
	"paysplit/internal/alert"
	"paysplit/internal/ledger"
	"paysplit/internal/mailer/mailbox"
	"paysplit/internal/monitor"
	"paysplit/testenv"
)

// TestAlertEmailRefusalKeepsNoAddress: an SMTP server refusing an alert recipient quotes the
// address in its reply ("550 5.1.1 <…>: Recipient address rejected"), and the mail library adds
// the recipients it was refused to its error. That error is kept three times: the notification's
// last_error in Postgres, the activity's failure (the workflow's history) and the worker's log.
// None of them may hold the recipient's address, as the report emails' errors do not
// (redactAddresses): the people behind ALERT_EMAIL_TO are named in the configuration only.
func TestAlertEmailRefusalKeepsNoAddress(t *testing.T) {
	const refused, kept = "ops.pii7f3a@agency.example", "oncall.pii7f3a@agency.example"
	pool := testenv.OwnDatabase(t)
	box, err := mailbox.Listen("127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { _ = box.Close() })
	box.RejectRecipients(func(addr string) (int, string) {
		if addr == refused {
			return 550, "5.1.1 <" + addr + ">: Recipient address rejected: User unknown in virtual mailbox table"
		}
		return 0, ""
	})
	l := ledger.New(pool)
	a := &activities.Integrity{Ledger: l, Monitors: monitor.NewStore(pool, l),
		Email: &alert.SMTP{Addr: box.Addr(), From: "paysplit-alerts@agency.example", To: []string{kept, refused}}}
	ctx := t.Context()
	_, _, err = l.Post(ctx, ledger.Entry{IdempotencyKey: "alert-pii-sale", Currency: "usd", Postings: []ledger.Posting{
		{Account: ledger.ProviderBalance("stripe"), Amount: 9_000}, {Account: ledger.VendorPayable("v-pii"), Amount: -9_000},
	}})
	require.NoError(t, err)
	_, err = a.Monitors.Create(ctx, monitor.Monitor{Name: "v-pii owed", Kind: monitor.KindBalanceAbove,
		Params: monitor.Params{Account: ledger.VendorPayable("v-pii"), Currency: "usd", Threshold: 5_000}}, "test")
	require.NoError(t, err)

	logs := &testenv.LogBuffer{}
	var suite testsuite.WorkflowTestSuite
	suite.SetLogger(tlog.NewStructuredLogger(slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))))
	env := suite.NewTestActivityEnvironment()
	env.RegisterActivity(a)
	_, err = env.ExecuteActivity(a.EvaluateMonitors, activities.EvaluateMonitorsInput{})
	require.NoError(t, err)
	_, err = env.ExecuteActivity(a.DeliverAlerts, activities.DeliverAlertsInput{})
	require.Error(t, err, "the refused recipient fails the round")
	require.Empty(t, box.Messages(), "nothing is sent to part of the list")

	var lastError string
	require.NoError(t, pool.QueryRow(ctx, `SELECT last_error FROM alert_notifications WHERE delivered_at IS NULL`).Scan(&lastError))
	require.Contains(t, lastError, "550", "the reason is kept")
	require.Contains(t, logs.String(), "alert delivery failed")
	for where, text := range map[string]string{"alert_notifications.last_error": lastError, "activity failure": err.Error(), "worker log": logs.String()} {
		require.NotContains(t, strings.ToLower(text), "pii7f3a", "%s keeps a recipient's address: %s", where, text)
	}
}
