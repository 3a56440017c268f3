package server_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	ipayment "paysplit/internal/payment"
	"paysplit/internal/stripeevent"
	stackpkg "paysplit/testenv/stack"
	"paysplit/workflows/payment"
)

// TestAConnectReleaseReadsThePaymentAgainUnderItsLock: Stripe says a held vendor's account can
// receive; the event lists the payments held at the account, then releases each in its audit
// entry's lock. The admin API reads the payment again under that lock (a run may have saved it
// meanwhile); the event decided on the payment as it listed it. Here the run was released
// (from the Temporal UI) and paid the vendor between the list and the lock, and rests in its
// settle window: the event sent the release it listed, answered "released" and audited by
// stripe:account.updated, and the run dropped it. A payment its run saved since the list is
// read again, and one no longer held is not released.
//
// Deterministic: the test holds the payment's audit lock (store.LockTarget's advisory lock)
// until the run has saved the payment paid, so the event waits between its list and its lock.
func TestAConnectReleaseReadsThePaymentAgainUnderItsLock(t *testing.T) {
	s := newStack(t, payment.Settings{SettleWindow: time.Hour})
	client, account := uniqueName("connstale"), uniqueAccount("connstale")
	accounts := newConnectedAccounts(s)
	accounts.set(account, "inactive")
	id := s.heldAt(client, account, "pi_"+client)[0]

	ctx := context.Background()
	conn, err := s.Stack.Pool.Acquire(ctx)
	require.NoError(t, err)
	defer conn.Release()
	_, err = conn.Exec(ctx, `SELECT pg_advisory_lock(hashtextextended($1, 0))`, "audit:payment:"+id)
	require.NoError(t, err)
	locked := true
	defer func() {
		if locked {
			_, _ = conn.Exec(ctx, `SELECT pg_advisory_unlock(hashtextextended($1, 0))`, "audit:payment:"+id)
		}
	}()

	accounts.set(account, "active")
	type answer struct {
		code int
		out  map[string]any
	}
	answered := make(chan answer, 1)
	body := stripeevent.Sign(stripeevent.AccountUpdated{EventID: "evt_" + client, Account: account, Transfers: "active", Created: time.Now()}.Body(),
		stackpkg.ConnectWebhookSecret, time.Now())
	go func() {
		code, out := s.StripeConnectWebhook(body)
		answered <- answer{code, out}
	}()
	blockedBy(t, s.Stack.Pool, int(conn.Conn().PgConn().PID()), nil) // listed held; waits for the lock

	require.NoError(t, s.tc.SignalWorkflow(ctx, id, "", payment.SignalAdmin,
		payment.AdminCommand{Action: payment.ActionRelease, Actor: "admin:temporal-ui"}))
	s.AwaitStatus(id, 30*time.Second, ipayment.StatusPaid)
	awaitRunWaits(t, s.tc, id) // in its settle window
	_, err = conn.Exec(ctx, `SELECT pg_advisory_unlock(hashtextextended($1, 0))`, "audit:payment:"+id)
	require.NoError(t, err)
	locked = false

	a := <-answered
	require.Equal(t, http.StatusOK, a.code, a.out)
	require.Empty(t, strs(a.out["released"]), "released a payment its run had paid since the event listed it: %v", a.out)
	require.Equal(t, []any{map[string]any{"workflow_id": id, "reason": "payment_changed"}}, a.out["skipped"], a.out)
	require.Empty(t, s.decisionsAudited(id), "no release audited for a payment paid")
}
