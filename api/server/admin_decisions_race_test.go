package server_test

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	ipayment "paysplit/internal/payment"
	"paysplit/internal/store"
	"paysplit/internal/stripeevent"
	"paysplit/workflows/payment"
)

// TestTwoDecisionsAtOnceTheSecondIsRefused: two admins decide a held payment at once (a release
// and a cancel, or a cancel each). Both read the payment as its run last saved it, held, and the
// API sends each its run as a signal, which answers nothing: the run takes the first and acts on
// it; the second comes when nothing waits for a decision any more, and the run drops it. Each
// admin was answered 202 "signalled" and the audit log kept both, so it said the payment was
// cancelled by one while it was paid (or cancelled twice).
//
// Deterministic: the payments table is locked for writes once the first decision is sent, so the
// run that took it cannot save what came of it before the second is sent; the second reads the
// payment saved held, as it would a moment later.
//
// It failed (the second was answered 202 and audited, and the run did nothing with it): a
// decision on a payment is taken once per save of its run; the second is 409 decision_pending
// until the run saved what came of the first, and nothing is audited for it.
func TestTwoDecisionsAtOnceTheSecondIsRefused(t *testing.T) {
	tests := []struct {
		name          string
		first, second string
		want          ipayment.Status // the payment's end: what the first decision made it
	}{
		{"a release, then a cancel", "release", "cancel", ipayment.StatusPaid},
		{"a cancel, then a release", "cancel", "release", ipayment.StatusCompensated},
		{"a cancel, then a cancel", "cancel", "cancel", ipayment.StatusCompensated},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := newStack(t, payment.Settings{SettleWindow: 0})
			client := uniqueName("twodec")
			id := s.heldPayment(client, "pi_"+client, "vendor")
			code, body := s.do(http.MethodPut, "/api/v1/admin/payees/"+client+"-vendor",
				map[string]any{"client_id": client, "kind": "vendor", "stripe_account": uniqueAccount("twodec")}, adminKey)
			require.Equal(t, http.StatusOK, code, body)

			lock := newWriteLock(s.Stack.Pool, "payments")
			lock.take()
			code, body = s.do(http.MethodPost, "/api/v1/admin/payments/"+id+"/"+tc.first, nil, adminKey)
			require.Equal(t, http.StatusAccepted, code, body)
			lock.awaitWriter(t) // the run took the first decision; its save waits

			code, body = s.do(http.MethodPost, "/api/v1/admin/payments/"+id+"/"+tc.second, nil, adminKey)
			lock.release(t)
			rec := s.result(id)
			require.Equal(t, tc.want, rec.Status, "the first decision made the payment: %s", rec.Reason)
			require.Equal(t, http.StatusConflict, code, "the %s sent while the run had not taken the %s was answered %v; the payment ended %s",
				tc.second, tc.first, body, rec.Status)
			require.Equal(t, "decision_pending", body["error"].(map[string]any)["code"], body)
			require.Equal(t, []string{"payment." + tc.first}, s.decisionsAudited(id),
				"the audit log keeps the decision the run took, not one it dropped")
		})
	}
}

// decisionsAudited are the actions of the audit entries on payment id, oldest first.
func (s *stack) decisionsAudited(id string) []string {
	s.t.Helper()
	code, body := s.do(http.MethodGet, "/api/v1/admin/audit?"+url.Values{"target": {"payment:" + id}}.Encode(), nil, adminKey)
	require.Equal(s.t, http.StatusOK, code, body)
	var out []string
	for _, e := range body["entries"].([]any) {
		out = append(out, e.(map[string]any)["action"].(string))
	}
	slices.Reverse(out)
	return out
}

// TestADecisionTheRunDroppedBlocksNothing: a decision made on the payment as last saved that its
// run took and saved nothing for (it was not waiting for it: here a resolve of a leg the payment
// does not have, as the Temporal UI can send) never will be saved for; once the run rests with
// every signal taken, the next decision is sent, not refused as pending for good.
func TestADecisionTheRunDroppedBlocksNothing(t *testing.T) {
	s := newStack(t, payment.Settings{SettleWindow: 0})
	client := uniqueName("dropped")
	id := s.heldPayment(client, "pi_"+client, "vendor")
	ctx := context.Background()
	_, savedAt, err := s.Store.GetPaymentSaved(ctx, id)
	require.NoError(t, err)
	require.NoError(t, s.Store.Audit(ctx, "admin:bootstrap", "payment.resolve", "payment:"+id, "req-dropped", nil,
		map[string]any{"signal": "resolve", "party": "affiliate", "payee_id": "nobody", "saved_at": store.SavedKey(savedAt)}))
	require.NoError(t, s.tc.SignalWorkflow(ctx, id, "", payment.SignalAdmin,
		payment.AdminCommand{Action: payment.ActionResolve, Party: "affiliate", PayeeID: "nobody", Made: false, Actor: "admin:bootstrap"}))
	awaitSignalsTaken(t, s.tc, id)
	awaitRunWaits(t, s.tc, id)

	code, body := s.do(http.MethodPost, "/api/v1/admin/payments/"+id+"/cancel", nil, adminKey)
	require.Equal(t, http.StatusAccepted, code, body)
	rec := s.result(id)
	require.Equal(t, ipayment.StatusCompensated, rec.Status, rec.Reason)
}

// TestAConnectReleaseWaitsForAnAdminsDecision: an admin cancels a held payment, and before its
// run saved what came of the cancel, Stripe says the held vendor's account can receive. The event
// reads the payment saved held and sends its run a release, which comes after the cancel and is
// dropped: the audit log said Stripe's event released a payment that was cancelled. The event
// skips it (decision_pending) as the admin API refuses a second decision; had the cancel left
// the leg held, the run asks about it again as soon as it has saved it.
//
// Deterministic: the payments table is locked for writes once the cancel is sent, so the run
// that took it cannot save before the event is delivered.
//
// It failed (the event released the payment, audited by stripe:account.updated, and the run did
// nothing with the release).
func TestAConnectReleaseWaitsForAnAdminsDecision(t *testing.T) {
	s := newStack(t, payment.Settings{SettleWindow: 0})
	client, account := uniqueName("connwait"), uniqueAccount("connwait")
	accounts := newConnectedAccounts(s)
	accounts.set(account, "inactive")
	s.seed(client)
	code, body := s.do(http.MethodPut, "/api/v1/admin/payees/"+client+"-vendor", map[string]any{"client_id": client, "kind": "vendor", "stripe_account": account}, adminKey)
	require.Equal(t, http.StatusOK, code, body)
	code, body = s.webhook(stripeevent.Sign(capture(client, "pi_"+client).Body(), webhookSecret, time.Now()))
	require.Equal(t, http.StatusOK, code, body)
	id := payment.WorkflowID("stripe", "pi_"+client)
	s.AwaitStatus(id, 20*time.Second, ipayment.StatusHeld)
	awaitRunWaits(t, s.tc, id)

	lock := newWriteLock(s.Stack.Pool, "payments")
	lock.take()
	code, body = s.do(http.MethodPost, "/api/v1/admin/payments/"+id+"/cancel", nil, adminKey)
	require.Equal(t, http.StatusAccepted, code, body)
	lock.awaitWriter(t) // the run took the cancel; its save waits

	accounts.set(account, "active")
	code, out := s.connect(stripeevent.AccountUpdated{EventID: "evt_" + client, Account: account, Transfers: "active", Created: time.Now()}.Body())
	lock.release(t)
	require.Equal(t, http.StatusOK, code, out)
	rec := s.result(id)
	require.Equal(t, ipayment.StatusCompensated, rec.Status, rec.Reason)
	require.Empty(t, strs(out["released"]), "released a payment whose run had taken a cancel: %v", out)
	require.Equal(t, []any{map[string]any{"workflow_id": id, "reason": "decision_pending"}}, out["skipped"], out)
	require.Equal(t, []string{"payment.cancel"}, s.decisionsAudited(id), "the audit log keeps the decision the run took")
	require.Empty(t, s.transfersTo(account), "the vendor is paid nothing: the payment was cancelled")
}

// TestTwoRetriesOfDuesAtOnceAreOneRetry: two admins retry a payment's movements due at once. The
// retry is an event whose ID counts the retries the payment took as stored, so both carried the
// same ID and the run took it once; both were answered 202 and the audit log kept two retries.
// The second is 409 decision_pending, as any second decision on one save.
//
// Deterministic as TestTwoDecisionsAtOnceTheSecondIsRefused: the payments table is locked for
// writes once the first retry is sent.
//
// It failed (the second was answered 202 and audited; the run took one retry).
func TestTwoRetriesOfDuesAtOnceAreOneRetry(t *testing.T) {
	s := newStack(t, payment.Settings{SettleWindow: 0})
	client := uniqueName("duetwice")
	id := s.paid(client, "pi_"+client)
	s.refundWithVendorReversalRefused(client, "pi_"+client)
	require.Equal(t, "reversal", s.awaitVendorDue(id)["kind"])
	require.Equal(t, ipayment.StatusPayoutFailed, s.result(id).Status)
	s.stripe.Inject = nil // the vendor's balance is back

	lock := newWriteLock(s.Stack.Pool, "payments")
	lock.take()
	code, body := s.do(http.MethodPost, "/api/v1/admin/payments/"+id+"/retry", nil, adminKey)
	require.Equal(t, http.StatusAccepted, code, body)
	lock.awaitWriter(t) // the run took the retry; its save waits

	code, body = s.do(http.MethodPost, "/api/v1/admin/payments/"+id+"/retry", nil, adminKey)
	lock.release(t)
	s.AwaitStatus(id, 30*time.Second, ipayment.StatusPartiallyRefunded)
	require.Equal(t, http.StatusConflict, code, "a second retry sent while the run had not taken the first: %v", body)
	require.Equal(t, "decision_pending", body["error"].(map[string]any)["code"], body)
	require.Equal(t, []string{"payment.retry"}, s.decisionsAudited(id), "one retry taken, one audited")
}

// TestTwoResolvesOfATopUpAtOnceTheSecondIsRefused: two admins answer for a top-up in doubt at
// once, one that it was made (naming PayPal's batch), the other that it was not. A top-up's
// resolve is an event, which the run takes whenever it comes: the first booked the top-up, the
// second found nothing in doubt and did nothing, and both were answered 202 and audited, so the
// audit log said an admin's "not made" was taken. The second is 409 decision_pending.
//
// Deterministic as TestTwoDecisionsAtOnceTheSecondIsRefused.
//
// It failed (the second was answered 202 and audited).
func TestTwoResolvesOfATopUpAtOnceTheSecondIsRefused(t *testing.T) {
	s := newStack(t, payment.Settings{SettleWindow: 0, StripeAttempts: 2, StripeRetryInterval: 10 * time.Millisecond})
	client := uniqueName("duedoubt")
	id := s.paidPayPalUnderTaxRule(client, "CAP"+client)
	s.paypal.IgnoreRequestIDs, s.paypal.OmitDuplicateLink = true, true
	s.paypal.LosePayoutAnswer = func(senderBatchID string) bool { return strings.Contains(senderBatchID, "/correction/") }
	code, out := s.do(http.MethodPost, "/api/v1/admin/payments/"+id+"/correct", map[string]any{"rule_version": 1}, adminKey)
	require.Equal(t, http.StatusAccepted, code, out)
	key := id + "/correction/v1/vendor-" + client + "-vendor"
	require.Equal(t, key, s.awaitVendorDue(id)["key"])
	var batch string
	for _, p := range s.paypal.Payouts() {
		if p.SenderBatchID == key {
			batch = p.BatchID
		}
	}
	require.NotEmpty(t, batch)

	lock := newWriteLock(s.Stack.Pool, "payments")
	lock.take()
	code, out = s.do(http.MethodPost, "/api/v1/admin/payments/"+id+"/resolve", map[string]any{"party": "vendor", "made": true, "provider_ref": batch}, adminKey)
	require.Equal(t, http.StatusAccepted, code, out)
	lock.awaitWriter(t) // the run took the first resolve; its save waits

	code, out = s.do(http.MethodPost, "/api/v1/admin/payments/"+id+"/resolve", map[string]any{"party": "vendor", "made": false}, adminKey)
	lock.release(t)
	s.AwaitStatus(id, 30*time.Second, ipayment.StatusPaid)
	require.Equal(t, http.StatusConflict, code, "a second resolve sent while the run had not taken the first: %v", out)
	require.Equal(t, "decision_pending", out["error"].(map[string]any)["code"], out)
	require.Equal(t, []string{"payment.correct", "payment.resolve"}, s.decisionsAudited(id), "the resolve the run took, audited once")
}
