package server_test

import (
	"context"
	"net/http"
	"net/url"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/converter"

	ipayment "paysplit/internal/payment"
	"paysplit/internal/stripeevent"
	"paysplit/workflows/payment"
)

// TestACancelMadeOnAHoldIsNotTakenForAnotherLegsFailure: an admin reads a payment saved held (its
// vendor's account cannot receive) and cancels it, while its run still pays the affiliate, which
// Stripe refuses for good. The API found no decision pending on that save and sent the cancel
// (202); the run, busy, took it once it waited for a decision on the affiliate's refusal, as that
// decision: every payee was compensated for a failure nobody had decided on, the vendor's
// account able to receive by then.
//
// Deterministic: the payments table is locked for writes as Stripe refuses the affiliate's
// transfer, so the payment stays saved held while the cancel is sent; the run saves the refusal
// once the lock is released, and reads the cancel after.
//
// It failed (the cancel was taken: status compensated). From code path 22 the API sends the
// decision it read (the payment's decision 1, the hold) with the cancel, the run asks decision 2
// (the refusal) by then, drops the cancel and says so in the payment's reason; the admin's retry
// on what the payment shows pays the affiliate, and the vendor is paid by the run's ask.
func TestACancelMadeOnAHoldIsNotTakenForAnotherLegsFailure(t *testing.T) {
	s := newStack(t, payment.Settings{SettleWindow: 0, HoldRecheckEvery: time.Hour, DecisionTimeout: time.Hour})
	client, account := uniqueName("stalecancel"), uniqueAccount("stalecancel")
	pi := "pi_" + client
	id := payment.WorkflowID("stripe", pi)
	accounts := newConnectedAccounts(s)
	accounts.set(account, "inactive")
	lock := newWriteLock(s.Stack.Pool, "payments")
	var attempts atomic.Int32
	s.stripe.Inject = func(r *http.Request, form url.Values) (int, string) {
		if r.Method == http.MethodPost && r.URL.Path == "/v1/transfers" && form.Get("metadata[workflow_id]") == id &&
			form.Get("metadata[party]") == "affiliate" && attempts.Add(1) == 1 {
			lock.take() // the first attempt only is refused; the run saves its refusal after this answer
			return http.StatusBadRequest, `{"error":{"type":"invalid_request_error","code":"balance_insufficient",` +
				`"message":"You have insufficient available funds in your Stripe account."}}`
		}
		return accounts.inject(r, form)
	}
	s.seed(client)
	code, body := s.do(http.MethodPut, "/api/v1/admin/payees/"+client+"-vendor", map[string]any{"client_id": client, "kind": "vendor", "stripe_account": account}, adminKey)
	require.Equal(t, http.StatusOK, code, body)
	code, body = s.webhook(stripeevent.Sign(capture(client, pi).Body(), webhookSecret, time.Now()))
	require.Equal(t, http.StatusOK, code, body)

	// The vendor's hold is saved; the run's save of the affiliate's refusal waits on the lock.
	lock.awaitWriter(t)
	held, err := s.Store.GetPayment(context.Background(), id)
	require.NoError(t, err)
	require.Equal(t, ipayment.StatusHeld, held.Status, held.Reason)
	code, body = s.do(http.MethodPost, "/api/v1/admin/payments/"+id+"/cancel", nil, adminKey)
	require.Equal(t, http.StatusAccepted, code, "a cancel of the payment saved held: %v", body)
	accounts.set(account, "active")
	lock.release(t) // the run saves the refusal, then reads the cancel

	awaitSignalsTaken(t, s.tc, id)
	awaitRunWaits(t, s.tc, id)
	// The server records a signal that comes during a workflow task once the task is done.
	require.Equal(t, []int{held.Decision}, s.decisionsSent(id), "the cancel carries the decision it was made on")
	rec, err := s.Store.GetPayment(context.Background(), id)
	require.NoError(t, err)
	require.Equal(t, ipayment.StatusPayoutFailed, rec.Status, "the cancel made on the hold is not the decision on the refusal: %s", rec.Reason)
	require.Contains(t, rec.Reason, "cancel, made on decision 1, not taken")
	require.Equal(t, 2, rec.Decision, "the hold, then the refusal")

	code, body = s.do(http.MethodPost, "/api/v1/admin/payments/"+id+"/retry", nil, adminKey)
	require.Equal(t, http.StatusAccepted, code, body)
	// A liveness bound, not a speed one: the run asks about the held leg as it waits for it.
	rec = s.AwaitStatus(id, time.Minute, ipayment.StatusPaid)
	require.Equal(t, ipayment.LegTransferred, rec.Leg("affiliate").State)
	require.Equal(t, map[string][]int64{id: {9545}}, s.transfersTo(account), "the vendor paid once, in full")
	require.Equal(t, []int{1, 2}, s.decisionsSent(id), "each decision sent with the one it was made on")
	s.requireBooksBalanced()
	s.record("stripe_stale_decision_dropped.json", s.history(id))
}

// decisionsSent are the decision numbers (AdminCommand.Decision) of the admin signals the run of
// workflow id was sent, oldest first.
func (s *stack) decisionsSent(id string) []int {
	s.t.Helper()
	var out []int
	for _, cmd := range s.commandsSent(id) {
		out = append(out, cmd.Decision)
	}
	return out
}

// commandsSent are the admin signals the run of workflow id was sent, oldest first.
func (s *stack) commandsSent(id string) []payment.AdminCommand {
	s.t.Helper()
	var out []payment.AdminCommand
	it := s.tc.GetWorkflowHistory(context.Background(), id, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		ev, err := it.Next()
		require.NoError(s.t, err)
		a := ev.GetWorkflowExecutionSignaledEventAttributes()
		if a == nil || a.GetSignalName() != payment.SignalAdmin {
			continue
		}
		var cmd payment.AdminCommand
		require.NoError(s.t, converter.GetDefaultDataConverter().FromPayloads(a.GetInput(), &cmd))
		out = append(out, cmd)
	}
	return out
}
