package monitor_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"paysplit/internal/monitor"
	"paysplit/internal/payment"
	"paysplit/internal/store"
	"paysplit/testenv"
)

// A payment left payout_failed with a movement due is retried by its workflow every
// PAYMENT_DUE_RETRY_EVERY (1h by default, workflows/payment settleWait -> retryDues), and every
// retry ends with save() (store.SavePayment: updated_at = now()) even when it fails again and the
// status stays payout_failed. Measured from updated_at, the wait of exactly these stuck payments
// never grew past an hour and the monitor never fired; it is measured from status_since.
func TestPayoutFailedMonitorSurvivesAutomaticRetries(t *testing.T) {
	f := newFixture(t)
	pool, _ := testenv.Postgres(t)
	m, client := payoutFailedMonitor(t, f)
	id := unique("payment-stripe-stuck")
	insertPayment(t, pool, id, "payout_failed", "transferred", time.Now().Add(-50*time.Hour), client)

	r, _ := f.evaluate(t, m, time.Now())
	require.Equal(t, monitor.StatusFiring, r.Status, r.Summary)

	// The hourly automatic retry fails again; the workflow saves the unchanged status.
	rec := payment.Record{WorkflowID: id, Provider: "stripe", PaymentID: id, Status: payment.StatusPayoutFailed}
	rec.Order.ClientID = client
	require.NoError(t, store.New(pool).SavePayment(t.Context(), rec))

	r, out := f.evaluate(t, m, time.Now())
	require.Equal(t, monitor.StatusFiring, r.Status,
		"payout_failed for 50h, but after one failed automatic retry the monitor says %q and %s the alert", r.Summary, out.Action)

	// Once the payment leaves payout_failed and comes back, the wait starts again.
	rec.Status = payment.StatusPaid
	require.NoError(t, store.New(pool).SavePayment(t.Context(), rec))
	rec.Status = payment.StatusPayoutFailed
	require.NoError(t, store.New(pool).SavePayment(t.Context(), rec))
	r, _ = f.evaluate(t, m, time.Now())
	require.Equal(t, monitor.StatusOK, r.Status, "a wait that started again just now: %s", r.Summary)
}
