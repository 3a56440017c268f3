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
// the recipients it was refused to its error. Where that is kept (the notification's last_error
// in Postgres, the activity's failure in the workflow's history, the worker's log) no recipient's
// address may be, as the report emails' errors do not (redactAddresses): the people behind
// ALERT_EMAIL_TO are named in the configuration only. One stale address among several must not
// keep the alert from the others (before 2026-11-27 nobody got it, round after round): they get
// it, the delivery counts as made, and the refused entry is named by its position in the list.
// Every recipient refused fails the round with the reason kept.
func TestAlertEmailRefusalKeepsNoAddress(t *testing.T) {
	const refused, kept = "ops.pii7f3a@agency.example", "oncall.pii7f3a@agency.example"
	tests := []struct {
		name string
		to   []string
		// delivered: the round succeeds and the kept recipient alone gets the alert.
		delivered bool
	}{
		{"one of two refused", []string{kept, refused}, true},
		{"every recipient refused", []string{refused}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
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
			logs := &testenv.LogBuffer{}
			logger := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
			l := ledger.New(pool)
			a := &activities.Integrity{Ledger: l, Monitors: monitor.NewStore(pool, l),
				Email: &alert.SMTP{Addr: box.Addr(), From: "paysplit-alerts@agency.example", To: tt.to, Logger: logger}}
			ctx := t.Context()
			_, _, err = l.Post(ctx, ledger.Entry{IdempotencyKey: "alert-pii-sale", Currency: "usd", Postings: []ledger.Posting{
				{Account: ledger.ProviderBalance("stripe"), Amount: 9_000}, {Account: ledger.VendorPayable("v-pii"), Amount: -9_000},
			}})
			require.NoError(t, err)
			_, err = a.Monitors.Create(ctx, monitor.Monitor{Name: "v-pii owed", Kind: monitor.KindBalanceAbove,
				Params: monitor.Params{Account: ledger.VendorPayable("v-pii"), Currency: "usd", Threshold: 5_000}}, "test")
			require.NoError(t, err)

			var suite testsuite.WorkflowTestSuite
			suite.SetLogger(tlog.NewStructuredLogger(logger))
			env := suite.NewTestActivityEnvironment()
			env.RegisterActivity(a)
			_, err = env.ExecuteActivity(a.EvaluateMonitors, activities.EvaluateMonitorsInput{})
			require.NoError(t, err)
			_, err = env.ExecuteActivity(a.DeliverAlerts, activities.DeliverAlertsInput{})

			whereKept := map[string]string{"worker log": logs.String()}
			if tt.delivered {
				require.NoError(t, err, "a refused recipient among others does not fail the round")
				got := box.Messages()
				require.Len(t, got, 1)
				require.Equal(t, []string{kept}, got[0].To, "the alert goes to the recipients the server accepts")
				var sent bool
				require.NoError(t, pool.QueryRow(ctx, `SELECT email_sent_at IS NOT NULL FROM alert_notifications`).Scan(&sent))
				require.True(t, sent, "the delivery counts as made, so the next round does not mail on-call again")
				require.Contains(t, logs.String(), `"refused_entries":[2]`, "the log names the refused entry of ALERT_EMAIL_TO by position")
			} else {
				require.Error(t, err, "every recipient refused fails the round")
				require.Empty(t, box.Messages())
				var lastError string
				require.NoError(t, pool.QueryRow(ctx, `SELECT last_error FROM alert_notifications WHERE delivered_at IS NULL`).Scan(&lastError))
				require.Contains(t, lastError, "550", "the reason is kept")
				require.Contains(t, logs.String(), "alert delivery failed")
				whereKept["alert_notifications.last_error"], whereKept["activity failure"] = lastError, err.Error()
			}
			for where, text := range whereKept {
				require.NotContains(t, strings.ToLower(text), "pii7f3a", "%s keeps a recipient's address: %s", where, text)
			}
		})
	}
}
