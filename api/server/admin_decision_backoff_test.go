package server_test

import (
	"net/http"
	"net/url"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	ipayment "paysplit/internal/payment"
	"paysplit/internal/stripeevent"
	"paysplit/workflows/payment"
)

// TestADecisionWhosePayoutWaitsToRetryIsStillPending: an admin retries a payout that failed;
// the run takes the retry and calls Stripe, which answers 503, and the run waits to try again.
// Its provider call is a local activity, and a backoff longer than the workflow task's timeout
// (10 s) is a timer on the server: between attempts the run has no workflow task and no activity
// pending, as a run that dropped a decision and rests. decision_pending took that for "it will
// never save for the decision" and sent a second admin's cancel, answered 202 and audited, while
// the run had the retry in hand and saved nothing yet (a Stripe outage is when an admin clicks
// again); the run then paid the leg and dropped the cancel, or, had the retry failed again, took
// the cancel on a failure nobody had seen. The second decision is 409 decision_pending until the
// run saved what came of the first: the run, asked, holds the payment in another state than it
// saved (paying out, the leg in flight), so it has the decision in hand.
func TestADecisionWhosePayoutWaitsToRetryIsStillPending(t *testing.T) {
	// A first backoff of 11 s, past the workflow task's 10 s: the retry waits on a server timer.
	s := newStack(t, payment.Settings{SettleWindow: 0, DecisionTimeout: time.Hour, StripeAttempts: 2, StripeRetryInterval: 11 * time.Second})
	client := uniqueName("backoff")
	pi := "pi_" + client
	id := payment.WorkflowID("stripe", pi)
	const (
		refuse = iota // balance_insufficient: the payout fails and waits for an admin
		outage        // 503: the payout is retried after the backoff
		answer        // Stripe answers
	)
	var mode atomic.Int32
	var outageCalls atomic.Int32
	s.stripe.Inject = func(r *http.Request, form url.Values) (int, string) {
		if r.Method != http.MethodPost || r.URL.Path != "/v1/transfers" || form.Get("metadata[workflow_id]") != id ||
			form.Get("metadata[party]") != "affiliate" {
			return 0, ""
		}
		switch mode.Load() {
		case refuse:
			return http.StatusBadRequest, `{"error":{"type":"invalid_request_error","code":"balance_insufficient",` +
				`"message":"You have insufficient available funds in your Stripe account."}}`
		case outage:
			outageCalls.Add(1)
			return http.StatusServiceUnavailable, `{"error":{"type":"api_error","message":"Service unavailable."}}`
		}
		return 0, ""
	}
	s.seed(client)
	code, body := s.webhook(stripeevent.Sign(capture(client, pi).Body(), webhookSecret, time.Now()))
	require.Equal(t, http.StatusOK, code, body)
	s.AwaitStatus(id, 30*time.Second, ipayment.StatusPayoutFailed)
	awaitRunWaits(t, s.tc, id)

	mode.Store(outage)
	code, body = s.do(http.MethodPost, "/api/v1/admin/payments/"+id+"/retry", nil, adminKey)
	require.Equal(t, http.StatusAccepted, code, body)
	require.Eventually(t, func() bool { return outageCalls.Load() > 0 }, 30*time.Second, 20*time.Millisecond, "the retry's first attempt")
	awaitSignalsTaken(t, s.tc, id)
	awaitRunWaits(t, s.tc, id) // on the backoff's timer: nothing pending
	rec, err := s.Store.GetPayment(t.Context(), id)
	require.NoError(t, err)
	require.Equal(t, ipayment.StatusPayoutFailed, rec.Status, "the run has saved nothing since it took the retry")

	code, body = s.do(http.MethodPost, "/api/v1/admin/payments/"+id+"/cancel", nil, adminKey)
	mode.Store(answer)
	rec = s.result(id)
	require.Equal(t, ipayment.StatusPaid, rec.Status, "the retry paid the affiliate: %s", rec.Reason)
	require.Equal(t, http.StatusConflict, code, "a cancel sent while the run retried the payout of the admin's retry was answered %v", body)
	require.Equal(t, "decision_pending", body["error"].(map[string]any)["code"], body)
	require.Equal(t, []string{"payment.retry"}, s.decisionsAudited(id), "the audit log keeps the decision the run took")
}
