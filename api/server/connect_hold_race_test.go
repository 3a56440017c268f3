package server_test

import (
	"context"
	"net/http"
	"net/url"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	ipayment "paysplit/internal/payment"
	"paysplit/internal/stripeevent"
	"paysplit/workflows/payment"
)

// TestAnAccountReadyWhileItsPaymentHoldsIsReleased: a Connect event saying an account can receive
// again, that comes while a payment's run holds a leg for it (Stripe said no, the held payment is
// not saved yet), must release the payment, or the run must see the account can receive.
// The event reads the payments saved held at the account; the run asked Stripe, then saves its
// hold. An event between the two sees no held payment and the run has not seen the change: the
// leg waits for the run's next ask (PAYMENT_HOLD_RECHECK_EVERY, an hour by default; with 0, for
// an admin), its account able to receive.
//
// Deterministic: the payments table is locked for writes as Stripe answers the run's check, the
// event is delivered once the run's save of its hold waits on the lock, and the account answers
// active from then. HoldRecheckEvery is an hour, so only a release (or a look made after the
// event) can pay the vendor.
//
// It fails today (the payment stays held an hour, its account active), and its fix needs the run
// to hear the release (a signal from outside, or a look of its own after the save): it runs only
// with PAYSPLIT_KNOWN_RACES=1 until then.
func TestAnAccountReadyWhileItsPaymentHoldsIsReleased(t *testing.T) {
	if os.Getenv("PAYSPLIT_KNOWN_RACES") == "" {
		t.Skip("a known race, not fixed yet: PAYSPLIT_KNOWN_RACES=1 runs it")
	}
	s := newStack(t, payment.Settings{SettleWindow: 0, HoldRecheckEvery: time.Hour})
	client, account := uniqueName("readyrace"), uniqueAccount("readyrace")
	accounts := newConnectedAccounts(s)
	accounts.set(account, "inactive")
	var once sync.Once
	var lock pgx.Tx
	var lockErr error
	locked := make(chan struct{})
	s.stripe.Inject = func(r *http.Request, form url.Values) (int, string) {
		if r.Method == http.MethodGet && r.URL.Path == "/v1/accounts/"+account {
			once.Do(func() { // before the run hears "inactive"; reads go through, writes wait
				defer close(locked)
				if lock, lockErr = s.Stack.Pool.Begin(context.Background()); lockErr == nil {
					_, lockErr = lock.Exec(context.Background(), `LOCK TABLE payments IN EXCLUSIVE MODE`)
				}
			})
		}
		return accounts.inject(r, form)
	}
	s.seed(client)
	code, body := s.do(http.MethodPut, "/api/v1/admin/payees/"+client+"-vendor", map[string]any{"client_id": client, "kind": "vendor", "stripe_account": account}, adminKey)
	require.Equal(t, http.StatusOK, code, body)
	pi := "pi_" + client
	code, body = s.webhook(stripeevent.Sign(capture(client, pi).Body(), webhookSecret, time.Now()))
	require.Equal(t, http.StatusOK, code, body)

	<-locked
	require.NoError(t, lockErr, "hold writes to payments")
	defer func() { _ = lock.Rollback(context.Background()) }() // a no-op once committed
	// The run heard "inactive" and its save of the hold waits on the lock (the only writer).
	blockedBy(t, s.Stack.Pool, int(lock.Conn().PgConn().PID()), nil)
	accounts.set(account, "active")
	code, out := s.connect(stripeevent.AccountUpdated{EventID: "evt_" + client, Account: account, Transfers: "active", Created: time.Now()}.Body())
	require.Equal(t, http.StatusOK, code, out)
	require.NoError(t, lock.Commit(context.Background()), "let the run save its hold")

	// A liveness bound, not a speed one: released, the run pays in seconds; otherwise it waits
	// an hour for its next ask.
	id := payment.WorkflowID("stripe", pi)
	rec := s.AwaitStatus(id, time.Minute, ipayment.StatusPaid)
	require.Equal(t, ipayment.LegTransferred, rec.Leg("vendor").State)
	require.Equal(t, map[string][]int64{id: {9545}}, s.transfersTo(account), "the vendor paid once, in full")
}

// TestAConnectReleaseIsNotTakenAsAnotherLegsRetry: a Connect event reads a payment saved held
// (its vendor's account could not receive) and sends its run a release; the run has moved on
// meanwhile, to the affiliate's payout, which Stripe refused: it waits for an admin's decision
// on that failure. The release is the account's news for the vendor's leg, not a decision on the
// affiliate's: the failure must wait for an admin, and the vendor's leg must be paid.
//
// Deterministic: the payments table is locked for writes as Stripe refuses the affiliate's
// transfer, so the payment stays saved held; the event is delivered once the run's save of the
// failure waits on the lock. HoldRecheckEvery and DecisionTimeout are an hour.
//
// It fails today: the run takes the release in its wait for a decision on the affiliate's failure
// as an admin's retry of it (the affiliate is paid again with nobody's decision), and the vendor's
// leg, whose release that was, stays held until the run's next ask. Its fix is in the payment run
// (a release acts on held legs only, wherever it is taken): it runs only with
// PAYSPLIT_KNOWN_RACES=1 until then.
func TestAConnectReleaseIsNotTakenAsAnotherLegsRetry(t *testing.T) {
	if os.Getenv("PAYSPLIT_KNOWN_RACES") == "" {
		t.Skip("a known race, not fixed yet: PAYSPLIT_KNOWN_RACES=1 runs it")
	}
	s := newStack(t, payment.Settings{SettleWindow: 0, HoldRecheckEvery: time.Hour, DecisionTimeout: time.Hour})
	client, account := uniqueName("relretry"), uniqueAccount("relretry")
	pi := "pi_" + client
	id := payment.WorkflowID("stripe", pi)
	accounts := newConnectedAccounts(s)
	accounts.set(account, "inactive")
	var once sync.Once
	var lock pgx.Tx
	var lockErr error
	locked := make(chan struct{})
	s.stripe.Inject = func(r *http.Request, form url.Values) (int, string) {
		if r.Method == http.MethodPost && r.URL.Path == "/v1/transfers" && form.Get("metadata[workflow_id]") == id &&
			form.Get("metadata[party]") == "affiliate" {
			refused := false
			once.Do(func() { // the first attempt only; the run saves its failure after this answer
				refused = true
				defer close(locked)
				if lock, lockErr = s.Stack.Pool.Begin(context.Background()); lockErr == nil {
					_, lockErr = lock.Exec(context.Background(), `LOCK TABLE payments IN EXCLUSIVE MODE`)
				}
			})
			if refused {
				return http.StatusBadRequest, `{"error":{"type":"invalid_request_error","code":"balance_insufficient",` +
					`"message":"You have insufficient available funds in your Stripe account."}}`
			}
		}
		return accounts.inject(r, form)
	}
	s.seed(client) // its affiliate is paid at an account Stripe says can receive
	code, body := s.do(http.MethodPut, "/api/v1/admin/payees/"+client+"-vendor", map[string]any{"client_id": client, "kind": "vendor", "stripe_account": account}, adminKey)
	require.Equal(t, http.StatusOK, code, body)
	code, body = s.webhook(stripeevent.Sign(capture(client, pi).Body(), webhookSecret, time.Now()))
	require.Equal(t, http.StatusOK, code, body)

	<-locked
	require.NoError(t, lockErr, "hold writes to payments")
	defer func() { _ = lock.Rollback(context.Background()) }() // a no-op once committed
	// The vendor's hold is saved; the run's save of the affiliate's failure waits on the lock.
	blockedBy(t, s.Stack.Pool, int(lock.Conn().PgConn().PID()), nil)
	accounts.set(account, "active")
	code, out := s.connect(stripeevent.AccountUpdated{EventID: "evt_" + client, Account: account, Transfers: "active", Created: time.Now()}.Body())
	require.Equal(t, http.StatusOK, code, out)
	require.Equal(t, []string{id}, strs(out["released"]), "the event read the payment saved held: %v", out)
	require.NoError(t, lock.Commit(context.Background()), "let the run save the affiliate's failure")

	// A liveness bound, not a speed one: released, the vendor is paid in seconds; otherwise its
	// leg waits an hour for the run's next ask.
	var rec ipayment.Record
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		var err error
		rec, err = s.Store.GetPayment(context.Background(), id)
		if assert.NoError(c, err) {
			assert.Equal(c, ipayment.LegTransferred, rec.Leg("vendor").State, "the vendor's leg, released: payment %s (%s), affiliate leg %s", rec.Status, rec.Reason, rec.Leg("affiliate").State)
		}
	}, time.Minute, 100*time.Millisecond)
	require.Equal(t, ipayment.LegFailed, rec.Leg("affiliate").State, "the affiliate's refused payout waits for an admin: payment %s (%s)", rec.Status, rec.Reason)
	require.Equal(t, map[string][]int64{id: {9545}}, s.transfersTo(account), "the vendor paid once, in full")
}
