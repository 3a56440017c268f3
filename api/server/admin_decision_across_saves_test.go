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

// TestADecisionTakenAfterAnotherSaveIsStillPending: an admin releases a held payment while its
// run saves a refund that came first. The release was made on the save before the refund's; the
// run takes it after saving the refund, and pays the vendor. Meanwhile the payment as stored is
// the refund's save, on which no decision was made: decision_pending looked only at that save, so
// a second admin's cancel was answered 202 and audited, and the run, which had the release in
// hand, dropped it. The cancel is 409 decision_pending until the run saved what came of the
// release, whichever save the release was made on.
//
// Deterministic: the payments table is locked for writes before the refund is delivered, so the
// release reads the payment saved held before the refund; then locked again (a second lock) as
// Stripe answers the vendor's transfer, so the run that took the release cannot save what came of
// it before the cancel is sent.
//
// It failed: the cancel was answered 202 "signalled" and audited; the run paid the vendor.
func TestADecisionTakenAfterAnotherSaveIsStillPending(t *testing.T) {
	s := newStack(t, payment.Settings{SettleWindow: 0})
	client, account := uniqueName("acrosssave"), uniqueAccount("acrosssave")
	pi := "pi_" + client
	id := s.heldPayment(client, pi, "vendor")
	code, body := s.do(http.MethodPut, "/api/v1/admin/payees/"+client+"-vendor",
		map[string]any{"client_id": client, "kind": "vendor", "stripe_account": account}, adminKey)
	require.Equal(t, http.StatusOK, code, body)

	paid := newWriteLock(s.Stack.Pool, "payments")
	s.stripe.Inject = func(r *http.Request, form url.Values) (int, string) {
		if r.Method == http.MethodPost && r.URL.Path == "/v1/transfers" && form.Get("metadata[workflow_id]") == id &&
			form.Get("metadata[party]") == "vendor" {
			paid.take() // the release's payout is made; its save waits
		}
		return 0, ""
	}

	refunded := newWriteLock(s.Stack.Pool, "payments")
	refunded.take()
	refund := stripeevent.Refund{EventID: "evt_" + pi + "_re", PaymentIntent: pi, Charge: "ch_" + pi, Currency: "usd",
		Amount: 1100, AmountRefunded: 1100, Created: time.Now()}
	code, body = s.webhook(stripeevent.Sign(refund.Body(), webhookSecret, time.Now()))
	require.Equal(t, http.StatusOK, code, body)
	refunded.awaitWriter(t) // the run applied the refund; its save waits

	code, body = s.do(http.MethodPost, "/api/v1/admin/payments/"+id+"/release", nil, adminKey)
	require.Equal(t, http.StatusAccepted, code, "a release of the payment saved held: %v", body)
	refunded.release(t) // the refund is saved, then the run takes the release
	paid.awaitWriter(t)
	rec, err := s.Store.GetPayment(t.Context(), id)
	require.NoError(t, err)
	require.Equal(t, ipayment.StatusHeld, rec.Status, "stored: the refund's save, made after the release was sent")
	require.EqualValues(t, 1100, rec.Refunded, "stored: the refund's save, made after the release was sent")

	code, body = s.do(http.MethodPost, "/api/v1/admin/payments/"+id+"/cancel", nil, adminKey)
	paid.release(t)
	rec = s.result(id)
	require.NotEqual(t, ipayment.StatusCompensated, rec.Status, "the release paid the vendor: %s", rec.Reason)
	require.Equal(t, ipayment.LegTransferred, rec.Leg("vendor").State, rec.Reason)
	require.Equal(t, http.StatusConflict, code, "a cancel sent while the run had the release, made on the save before the refund's, in hand was answered %v", body)
	require.Equal(t, "decision_pending", body["error"].(map[string]any)["code"], body)
	require.Contains(t, body["error"].(map[string]any)["message"], "release", body)
	require.Equal(t, []string{"payment.release"}, s.decisionsAudited(id), "the audit log keeps the decision the run took")
}

// TestADecisionSavedForOnAnEarlierSaveBlocksNothing: the other side of
// TestADecisionTakenAfterAnotherSaveIsStillPending. An admin releases a held payment whose
// vendor's account still cannot receive: the run takes the release, holds the leg again and saves
// it, then asks the account once more, which Stripe answers 503, and waits on the backoff's timer
// (longer than a workflow task's timeout) to ask again. The release was made on the save before;
// the run's history records the hold's save after the release came, so it waits no more, and a
// cancel of the payment held again is sent (202), not refused as pending while the run is not
// resting. The history is read in the Go SDK's format for a local activity's save (its marker's
// ActivityType): read otherwise, the cancel is 409 decision_pending until the backoff is over.
func TestADecisionSavedForOnAnEarlierSaveBlocksNothing(t *testing.T) {
	// A first backoff of 11 s, past the workflow task's 10 s: the ask waits on a server timer.
	s := newStack(t, payment.Settings{SettleWindow: 0, StripeAttempts: 2, StripeRetryInterval: 11 * time.Second})
	client, account := uniqueName("savedfor"), uniqueAccount("savedfor")
	accounts := newConnectedAccounts(s)
	accounts.set(account, "inactive")
	s.seed(client)
	code, body := s.do(http.MethodPut, "/api/v1/admin/payees/"+client+"-vendor", map[string]any{"client_id": client, "kind": "vendor", "stripe_account": account}, adminKey)
	require.Equal(t, http.StatusOK, code, body)
	pi := "pi_" + client
	code, body = s.webhook(stripeevent.Sign(capture(client, pi).Body(), webhookSecret, time.Now()))
	require.Equal(t, http.StatusOK, code, body)
	id := payment.WorkflowID("stripe", pi)
	s.AwaitStatus(id, 20*time.Second, ipayment.StatusHeld)
	awaitRunWaits(t, s.tc, id)

	// The release's payee check hears "inactive"; the ask after the hold's save, 503.
	var asks atomic.Int32
	s.stripe.Inject = func(r *http.Request, form url.Values) (int, string) {
		if r.Method == http.MethodGet && r.URL.Path == "/v1/accounts/"+account && asks.Add(1) > 1 {
			return http.StatusServiceUnavailable, `{"error":{"type":"api_error","message":"Service unavailable."}}`
		}
		return accounts.inject(r, form)
	}
	code, body = s.do(http.MethodPost, "/api/v1/admin/payments/"+id+"/release", nil, adminKey)
	require.Equal(t, http.StatusAccepted, code, body)
	require.Eventually(t, func() bool { return asks.Load() > 1 }, 30*time.Second, 20*time.Millisecond, "the ask after the hold")
	awaitSignalsTaken(t, s.tc, id)
	awaitRunWaits(t, s.tc, id) // on the backoff's timer: nothing pending
	rec, err := s.Store.GetPayment(t.Context(), id)
	require.NoError(t, err)
	require.Equal(t, ipayment.LegHeld, rec.Leg("vendor").State, "the release held the leg again: %s", rec.Reason)

	code, body = s.do(http.MethodPost, "/api/v1/admin/payments/"+id+"/cancel", nil, adminKey)
	require.Equal(t, http.StatusAccepted, code, "a cancel of the payment held again, saved after the release came, was answered %v", body)
	rec = s.result(id)
	require.Equal(t, ipayment.StatusCompensated, rec.Status, "the run took the cancel: %s", rec.Reason)
	require.Equal(t, []string{"payment.release", "payment.cancel"}, s.decisionsAudited(id))
}
