package server_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"

	ipayment "paysplit/internal/payment"
	"paysplit/internal/stripeevent"
	"paysplit/workflows/payment"
)

// TestADecisionTakenByAClosedRunBlocksNoFollowUp: the payment's last decision (an admin's retry of a
// reversal due, an event, which started a run of its own) was taken, and saved for, by a run that
// has closed since; a follow-up run (a second refund's) is busy when the next decision comes. The
// closed run's decision waits for nothing (README: "nor does one whose run closed"), yet
// decision_pending looked for its signal in the follow-up run's history, did not find it there,
// and refused the next decision for as long as that run was not resting: a workflow task in
// progress, an activity, or a provider call waiting on its backoff (up to about 24 minutes of
// Stripe's 503s).
//
// Deterministic: the payments table is locked for writes before the second refund is delivered,
// so its run is held inside its first save (a workflow task in progress) while the admin retries
// the vendor's reversal due again.
//
// It failed: the retry was answered 409 decision_pending ("...has not yet saved what came of the
// retry sent by ...").
func TestADecisionTakenByAClosedRunBlocksNoFollowUp(t *testing.T) {
	s := newStack(t, payment.Settings{SettleWindow: 0})
	client := uniqueName("closedrun")
	pi := "pi_" + client
	id := s.paid(client, pi)
	s.awaitRunsClosed(id)

	// A refund whose run cannot take the vendor's share back: it leaves a reversal due and closes
	// (no settle window). The admin's retry of it (an event) starts another run, refused again.
	refund := func(n, refunded int64) {
		r := stripeevent.Refund{EventID: fmt.Sprintf("evt_%s_re%d", pi, n), PaymentIntent: pi, Charge: "ch_" + pi, Currency: "usd",
			Amount: 1100, AmountRefunded: refunded, Created: time.Now()}
		code, body := s.webhook(stripeevent.Sign(r.Body(), webhookSecret, time.Now()))
		require.Equal(t, http.StatusOK, code, body)
	}
	s.stripe.Inject = func(r *http.Request, _ url.Values) (int, string) {
		if r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/reversals") && strings.HasSuffix(r.Header.Get("Idempotency-Key"), "/vendor-"+client+"-vendor") {
			return http.StatusBadRequest, `{"error":{"type":"invalid_request_error","code":"insufficient_funds","message":"The destination account has insufficient funds to cover the reversal."}}`
		}
		return 0, ""
	}
	refund(1, 500)
	require.Equal(t, "reversal", s.awaitVendorDue(id)["kind"])
	s.awaitRunsClosed(id)
	refunds := s.latestRun(id)
	code, body := s.do(http.MethodPost, "/api/v1/admin/payments/"+id+"/retry", nil, adminKey)
	require.Equal(t, http.StatusAccepted, code, body)
	require.Eventually(t, func() bool { return s.latestRun(id) != refunds }, 30*time.Second, 50*time.Millisecond, "the retry's run")
	s.awaitRunsClosed(id)
	require.Equal(t, "reversal", s.awaitVendorDue(id)["kind"], "refused again")

	// A second refund starts another run, held inside its save.
	saving := newWriteLock(s.Stack.Pool, "payments")
	saving.take()
	refund(2, 800)
	saving.awaitWriter(t)
	d, err := s.tc.DescribeWorkflow(context.Background(), id, "")
	require.NoError(t, err)
	require.Equal(t, enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING, d.RawResponse.GetWorkflowExecutionInfo().GetStatus(), "the second refund's run")
	require.NotNil(t, d.RawResponse.GetPendingWorkflowTask(), "the second refund's run is in a workflow task")

	code, body = s.do(http.MethodPost, "/api/v1/admin/payments/"+id+"/retry", nil, adminKey)
	saving.release(t)
	require.Equal(t, http.StatusAccepted, code, "a retry of the due while a follow-up run is busy, the last retry taken and saved for by a closed run, was answered %v", body)
	require.Equal(t, []string{"payment.retry", "payment.retry"}, s.decisionsAudited(id))
}

// latestRun is the run ID of the payment's latest run.
func (s *stack) latestRun(id string) string {
	s.t.Helper()
	d, err := s.tc.DescribeWorkflow(context.Background(), id, "")
	require.NoError(s.t, err, id)
	return d.RawResponse.GetWorkflowExecutionInfo().GetExecution().GetRunId()
}

// TestADecisionWhoseRunAskedAnotherSinceBlocksNothing: an admin retries a vendor's refused
// transfer; the run takes the retry, finds the vendor's (new) account unable to receive, saves the
// payment held (a new decision asked: its decision number moves on) and asks the account once
// more in the same workflow task (code path 20). Until that task ends, the run's history records
// no save after the retry's signal, and decision_pending refused a release made on the hold as
// saved, though the retry's outcome was saved and the run would take the release as the decision
// it asks. A stored decision number past the one the last decision was made on says so without the
// history: the run took that decision and saved a new ask, or it will drop it as made on another.
// (faults TestTransferHeldInDoubtReleasedAfterStripeForgot met it by chance: 409 on its release.)
//
// Deterministic: Stripe's answer to the ask after the hold waits until the release was answered.
//
// It failed: the release was answered 409 decision_pending ("...what came of the retry sent by ...").
func TestADecisionWhoseRunAskedAnotherSinceBlocksNothing(t *testing.T) {
	s := newStack(t, payment.Settings{SettleWindow: 0, HoldRecheckEvery: time.Hour, DecisionTimeout: time.Hour})
	client, account, moved := uniqueName("askedsince"), uniqueAccount("askedsince"), uniqueAccount("askedsincemoved")
	pi := "pi_" + client
	id := payment.WorkflowID("stripe", pi)
	accounts := newConnectedAccounts(s)
	var refused, retried, asks atomic.Int32
	asked, answer := make(chan struct{}), make(chan struct{})
	s.stripe.Inject = func(r *http.Request, form url.Values) (int, string) {
		if r.Method == http.MethodPost && r.URL.Path == "/v1/transfers" && form.Get("metadata[workflow_id]") == id &&
			form.Get("metadata[party]") == "vendor" && refused.Add(1) == 1 {
			return http.StatusBadRequest, `{"error":{"type":"invalid_request_error","code":"balance_insufficient",` +
				`"message":"You have insufficient available funds in your Stripe account."}}`
		}
		if r.Method == http.MethodGet && r.URL.Path == "/v1/accounts/"+moved && retried.Load() == 1 && asks.Add(1) == 2 {
			close(asked) // the ask after the hold's save: its workflow task goes on
			<-answer
		}
		return accounts.inject(r, form)
	}
	s.seed(client)
	code, body := s.do(http.MethodPut, "/api/v1/admin/payees/"+client+"-vendor", map[string]any{"client_id": client, "kind": "vendor", "stripe_account": account}, adminKey)
	require.Equal(t, http.StatusOK, code, body)
	code, body = s.webhook(stripeevent.Sign(capture(client, pi).Body(), webhookSecret, time.Now()))
	require.Equal(t, http.StatusOK, code, body)
	failed := s.AwaitStatus(id, 30*time.Second, ipayment.StatusPayoutFailed)
	awaitRunWaits(t, s.tc, id)

	// The vendor moved to an account that cannot receive yet: the retry's payee check asks it.
	accounts.set(moved, "inactive")
	code, body = s.do(http.MethodPut, "/api/v1/admin/payees/"+client+"-vendor", map[string]any{"client_id": client, "kind": "vendor", "stripe_account": moved}, adminKey)
	require.Equal(t, http.StatusOK, code, body)
	retried.Store(1)
	code, body = s.do(http.MethodPost, "/api/v1/admin/payments/"+id+"/retry", nil, adminKey)
	require.Equal(t, http.StatusAccepted, code, body)
	select {
	case <-asked:
	case <-time.After(hangGuard):
		close(answer)
		t.Fatal("the run never asked the vendor's account after the hold")
	}
	held, err := s.Store.GetPayment(context.Background(), id)
	require.NoError(t, err)
	require.Equal(t, ipayment.StatusHeld, held.Status, held.Reason)
	require.Greater(t, held.Decision, failed.Decision, "the hold is a new decision asked")

	code, body = s.do(http.MethodPost, "/api/v1/admin/payments/"+id+"/release", nil, adminKey)
	close(answer)
	require.Equal(t, http.StatusAccepted, code, "a release of the hold the retry's run saved, as that run asks the account once more, was answered %v", body)
	awaitSignalsTaken(t, s.tc, id)
	awaitRunWaits(t, s.tc, id)
	require.Equal(t, []string{"payment.retry", "payment.release"}, s.decisionsAudited(id))
	require.Equal(t, []int{failed.Decision, held.Decision}, s.decisionsSent(id))
	rec, err := s.Store.GetPayment(context.Background(), id)
	require.NoError(t, err)
	require.NotContains(t, rec.Reason, "not taken", "the run took the release as the decision it asked")
}
