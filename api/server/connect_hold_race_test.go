package server_test

import (
	"context"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"

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
// It failed (the payment stayed held an hour, its account active): from code path 20 the run asks
// once more as soon as its hold is saved.
func TestAnAccountReadyWhileItsPaymentHoldsIsReleased(t *testing.T) {
	s := newStack(t, payment.Settings{SettleWindow: 0, HoldRecheckEvery: time.Hour})
	client, account := uniqueName("readyrace"), uniqueAccount("readyrace")
	accounts := newConnectedAccounts(s)
	accounts.set(account, "inactive")
	lock := newWriteLock(s.Stack.Pool, "payments")
	s.stripe.Inject = func(r *http.Request, form url.Values) (int, string) {
		if r.Method == http.MethodGet && r.URL.Path == "/v1/accounts/"+account {
			lock.take() // before the run hears "inactive"; reads go through, writes wait
		}
		return accounts.inject(r, form)
	}
	s.seed(client)
	code, body := s.do(http.MethodPut, "/api/v1/admin/payees/"+client+"-vendor", map[string]any{"client_id": client, "kind": "vendor", "stripe_account": account}, adminKey)
	require.Equal(t, http.StatusOK, code, body)
	pi := "pi_" + client
	code, body = s.webhook(stripeevent.Sign(capture(client, pi).Body(), webhookSecret, time.Now()))
	require.Equal(t, http.StatusOK, code, body)

	// The run heard "inactive" and its save of the hold waits on the lock (the only writer).
	lock.awaitWriter(t)
	accounts.set(account, "active")
	code, out := s.connect(stripeevent.AccountUpdated{EventID: "evt_" + client, Account: account, Transfers: "active", Created: time.Now()}.Body())
	require.Equal(t, http.StatusOK, code, out)
	lock.release(t) // the run saves its hold

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
// affiliate's: the failure waits for an admin (the payment stays payout_failed, the affiliate's
// payout is not sent again), and once the admin decides, the vendor's leg is paid at once, not at
// the run's next ask an hour later.
//
// Deterministic: the payments table is locked for writes as Stripe refuses the affiliate's
// transfer, so the payment stays saved held; the event is delivered once the run's save of the
// failure waits on the lock, and the admin decides once the run has taken the release.
// HoldRecheckEvery and DecisionTimeout are an hour.
//
// It failed: the run took the release in its wait for a decision on the affiliate's failure as an
// admin's retry of it (the affiliate was paid again with nobody's decision). From code path 20 the
// release is taken as an ask of the held legs, made once the run waits for them.
func TestAConnectReleaseIsNotTakenAsAnotherLegsRetry(t *testing.T) {
	s := newStack(t, payment.Settings{SettleWindow: 0, HoldRecheckEvery: time.Hour, DecisionTimeout: time.Hour})
	client, account := uniqueName("relretry"), uniqueAccount("relretry")
	pi := "pi_" + client
	id := payment.WorkflowID("stripe", pi)
	accounts := newConnectedAccounts(s)
	accounts.set(account, "inactive")
	lock := newWriteLock(s.Stack.Pool, "payments")
	var attempts atomic.Int32
	affiliateAttempts := func() int { return int(attempts.Load()) }
	s.stripe.Inject = func(r *http.Request, form url.Values) (int, string) {
		if r.Method == http.MethodPost && r.URL.Path == "/v1/transfers" && form.Get("metadata[workflow_id]") == id &&
			form.Get("metadata[party]") == "affiliate" {
			// The first attempt only is refused; the run saves its failure after this answer.
			if attempts.Add(1) == 1 {
				lock.take()
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

	// The vendor's hold is saved; the run's save of the affiliate's failure waits on the lock.
	lock.awaitWriter(t)
	accounts.set(account, "active")
	code, out := s.connect(stripeevent.AccountUpdated{EventID: "evt_" + client, Account: account, Transfers: "active", Created: time.Now()}.Body())
	require.Equal(t, http.StatusOK, code, out)
	require.Equal(t, []string{id}, strs(out["released"]), "the event read the payment saved held: %v", out)
	lock.release(t) // the run saves the affiliate's failure

	awaitSignalsTaken(t, s.tc, id)
	rec, err := s.Store.GetPayment(context.Background(), id)
	require.NoError(t, err)
	require.Equal(t, ipayment.StatusPayoutFailed, rec.Status, "the affiliate's refused payout waits for an admin: %s", rec.Reason)
	require.Equal(t, ipayment.LegFailed, rec.Leg("affiliate").State)
	require.Equal(t, 1, affiliateAttempts(), "the affiliate's payout is not sent again without an admin's decision")

	code, out = s.do(http.MethodPost, "/api/v1/admin/payments/"+id+"/retry", nil, adminKey)
	require.Equal(t, http.StatusAccepted, code, out)
	// A liveness bound, not a speed one: the run asks about the held leg as it waits for it;
	// otherwise the leg waits an hour for the run's next ask.
	rec = s.AwaitStatus(id, time.Minute, ipayment.StatusPaid)
	require.Equal(t, ipayment.LegTransferred, rec.Leg("affiliate").State)
	require.Equal(t, 2, affiliateAttempts(), "refused once, sent again on the admin's decision")
	require.Equal(t, map[string][]int64{id: {9545}}, s.transfersTo(account), "the vendor paid once, in full")
}

// awaitSignalsTaken waits until the run of workflow id has taken every signal it was sent so far:
// a workflow task completed after the last one.
func awaitSignalsTaken(t *testing.T, tc client.Client, id string) {
	t.Helper()
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		it := tc.GetWorkflowHistory(context.Background(), id, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
		var lastSignal, lastCompleted int64
		for it.HasNext() {
			ev, err := it.Next()
			if !assert.NoError(c, err) {
				return
			}
			switch ev.GetEventType() {
			case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED:
				lastSignal = ev.GetEventId()
			case enumspb.EVENT_TYPE_WORKFLOW_TASK_COMPLETED:
				lastCompleted = ev.GetEventId()
			}
		}
		assert.NotZero(c, lastSignal, "a signal was sent")
		assert.Greater(c, lastCompleted, lastSignal, "a workflow task completed after the last signal")
	}, time.Minute, 100*time.Millisecond)
}

// writeLock holds writes to a table while reads go through (LOCK TABLE ... IN EXCLUSIVE MODE),
// taken once at the point a test chooses (in a Stripe answer, say), so a run is held at its next
// write to it.
type writeLock struct {
	pool   *pgxpool.Pool
	table  string
	once   sync.Once
	locked chan struct{}
	tx     pgx.Tx
	err    error
}

func newWriteLock(pool *pgxpool.Pool, table string) *writeLock {
	return &writeLock{pool: pool, table: table, locked: make(chan struct{})}
}

// take locks the table the first time it is called.
func (l *writeLock) take() {
	l.once.Do(func() {
		defer close(l.locked)
		if l.tx, l.err = l.pool.Begin(context.Background()); l.err == nil {
			_, l.err = l.tx.Exec(context.Background(), `LOCK TABLE `+pgx.Identifier{l.table}.Sanitize()+` IN EXCLUSIVE MODE`)
		}
	})
}

// awaitWriter waits until the lock is taken and a writer waits on it. A run that never reaches
// the point the test takes the lock at fails the test, rather than hanging the package until go
// test's timeout kills it with every other test's result.
func (l *writeLock) awaitWriter(t *testing.T) {
	t.Helper()
	select {
	case <-l.locked:
	case <-time.After(hangGuard):
		t.Fatalf("the lock on %s was never taken within %s: the run did not reach the point the test holds it at", l.table, hangGuard)
	}
	require.NoError(t, l.err, "hold writes to %s", l.table)
	t.Cleanup(func() { _ = l.tx.Rollback(context.Background()) }) // a no-op once committed
	blockedBy(t, l.pool, int(l.tx.Conn().PgConn().PID()), nil)
}

// release lets the writers through.
func (l *writeLock) release(t *testing.T) {
	t.Helper()
	require.NoError(t, l.tx.Commit(context.Background()), "release the lock on %s", l.table)
}

// awaitRunWaits waits until the run of workflow id waits for a signal or a timer: no activity and
// no workflow task pending. A run saves its payment held, then asks the held payee once more at
// once (code path 20); a test that makes the payee able to receive as soon as it reads the
// payment held races that ask, which may pay the payment before the event the test sends. Once
// the run waits, the ask has been answered.
func awaitRunWaits(t *testing.T, tc client.Client, id string) {
	t.Helper()
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		d, err := tc.DescribeWorkflow(context.Background(), id, "")
		if !assert.NoError(c, err, "describe %s", id) {
			return
		}
		desc := d.RawResponse
		assert.Empty(c, desc.GetPendingActivities(), "no activity pending")
		assert.Nil(c, desc.GetPendingWorkflowTask(), "no workflow task pending")
	}, time.Minute, 50*time.Millisecond)
}
