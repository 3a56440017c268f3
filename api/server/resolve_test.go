package server_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	ipayment "paysplit/internal/payment"
	"paysplit/internal/stripeevent"
	"paysplit/testenv"
	"paysplit/workflows/payment"
)

// A PayPal payout whose answer was lost, asked again where PayPal neither replays the request ID
// nor links the batch it refuses the used sender_batch_id for: the vendor's leg stays in doubt
// whatever the retries do (a new key could pay twice). The admin looks the payout up in PayPal
// and names its batch through the API: a wrong one is checked and refused, the right one is
// booked, and PayPal paid the vendor once.
func TestPayPalTransferInDoubtResolvedThroughAdminAPI(t *testing.T) {
	s := newStack(t, payment.Settings{SettleWindow: 0, StripeAttempts: 2, StripeRetryInterval: 10 * time.Millisecond})
	id := s.payPalPayoutInDoubt("doubtco", "VENDORPAYER03", "CAP909")
	key := id + "/transfer/vendor-doubtco-vendor/0"
	path := "/api/v1/admin/payments/" + id

	vendorLeg := func(c *assert.CollectT) map[string]any {
		_, view := s.do(http.MethodGet, path, nil, adminKey)
		legs, _ := view["legs"].([]any)
		for _, l := range legs {
			if leg := l.(map[string]any); leg["party"] == "vendor" {
				return leg
			}
		}
		assert.Fail(c, "no vendor leg yet")
		return map[string]any{}
	}
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		leg := vendorLeg(c)
		assert.Equal(c, true, leg["in_doubt"])
		assert.Equal(c, key, leg["transfer_key"])
	}, 30*time.Second, 100*time.Millisecond)

	for _, tc := range []struct {
		name   string
		body   map[string]any
		status int
		code   string
	}{
		{"no body fields", map[string]any{}, 400, "invalid_request"},
		{"platform is not paid out", map[string]any{"party": "platform", "made": false}, 400, "invalid_request"},
		{"made missing", map[string]any{"party": "vendor"}, 400, "invalid_request"},
		{"made without the provider's movement", map[string]any{"party": "vendor", "made": true}, 400, "invalid_request"},
		{"not made with a movement", map[string]any{"party": "vendor", "made": false, "provider_ref": "BATCH0001"}, 400, "invalid_request"},
		{"a movement with spaces", map[string]any{"party": "vendor", "made": true, "provider_ref": "BATCH 1"}, 400, "invalid_request"},
		{"unknown field", map[string]any{"party": "vendor", "made": false, "amount": 1}, 400, "invalid_json"},
		{"another payee", map[string]any{"party": "vendor", "payee_id": "nobody", "made": false}, 400, "invalid_request"},
		{"a leg not in doubt", map[string]any{"party": "affiliate", "made": false}, 409, "not_in_doubt"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out := s.do(http.MethodPost, path+"/resolve", tc.body, adminKey)
			require.Equal(t, tc.status, code, out)
			require.Equal(t, tc.code, out["error"].(map[string]any)["code"], out)
		})
	}
	code, out := s.do(http.MethodPost, "/api/v1/admin/payments/payment-paypal-nope/resolve", map[string]any{"party": "vendor", "made": false}, adminKey)
	require.Equal(t, http.StatusNotFound, code, out)

	// A batch that is not the vendor's (the affiliate's, say) is checked and refused.
	code, out = s.do(http.MethodPost, path+"/resolve", map[string]any{"party": "vendor", "made": true, "provider_ref": "BATCH9999"}, adminKey)
	require.Equal(t, http.StatusAccepted, code, out)
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		_, view := s.do(http.MethodGet, path, nil, adminKey)
		assert.Equal(c, "payout_failed", view["status"])
		assert.Contains(c, view["reason"], "still in doubt")
		assert.Contains(c, view["reason"], "PayPal has no payout batch BATCH9999")
	}, 30*time.Second, 100*time.Millisecond)
	require.Equal(t, true, vendorLeg(nil)["in_doubt"])

	var batch string
	for _, p := range s.paypal.Payouts() {
		if p.SenderBatchID == key {
			batch = p.BatchID
		}
	}
	require.NotEmpty(t, batch, "PayPal made the vendor's batch; its answer was lost")
	code, out = s.do(http.MethodPost, path+"/resolve", map[string]any{"party": "vendor", "made": true, "provider_ref": batch}, adminKey)
	require.Equal(t, http.StatusAccepted, code, out)
	rec := s.result(id)
	require.Equal(t, ipayment.StatusPaid, rec.Status, rec.Reason)
	vendor := rec.Leg("vendor")
	require.Equal(t, key, vendor.TransferKey, "booked under the key it was made with")
	require.NotEmpty(t, vendor.TransferID)
	require.EqualValues(t, vendor.Amount, vendor.Transferred)
	perReceiver := map[string]int{}
	for _, p := range s.paypal.Payouts() {
		perReceiver[p.Receiver]++
	}
	require.Equal(t, map[string]int{"VENDORPAYER03": 1, "affiliate@example.com": 1}, perReceiver, "each payee paid once")
	require.EqualValues(t, 0, s.paymentBalances(id)["vendor_payable:doubtco-vendor"], "the books owe the vendor nothing")

	code, out = s.do(http.MethodGet, "/api/v1/admin/audit?action=payment.resolve&target=payment:"+id, nil, adminKey)
	require.Equal(t, http.StatusOK, code, out)
	require.Len(t, out["entries"], 2, "each resolve audited")
}

// A correction's top-up through PayPal whose answer was lost, where PayPal neither replays the
// request ID nor links the batch: the top-up is due in doubt on the closed payment. The admin
// names the batch found in PayPal; the resolve reaches the payment as an event (a follow-up run),
// which checks the batch and books it: the vendor was topped up once.
func TestPayPalTopUpInDoubtResolvedThroughAdminAPI(t *testing.T) {
	s := newStack(t, payment.Settings{SettleWindow: 0, StripeAttempts: 2, StripeRetryInterval: 10 * time.Millisecond})
	id := s.paidPayPalUnderTaxRule("ppdue", "CAPDUE")

	s.paypal.IgnoreRequestIDs, s.paypal.OmitDuplicateLink = true, true
	s.paypal.LosePayoutAnswer = func(senderBatchID string) bool { return strings.Contains(senderBatchID, "/correction/") }
	code, out := s.do(http.MethodPost, "/api/v1/admin/payments/"+id+"/correct", map[string]any{"rule_version": 1}, adminKey)
	require.Equal(t, http.StatusAccepted, code, out)
	due := s.awaitVendorDue(id)
	key := id + "/correction/v1/vendor-ppdue-vendor"
	require.Equal(t, false, due["refused"], "in doubt: %v", due)
	require.Equal(t, key, due["key"])
	require.NotEmpty(t, due["sent_at"], "dated for PayPal's 30 days")

	code, out = s.do(http.MethodPost, "/api/v1/admin/payments/"+id+"/resolve", map[string]any{"party": "vendor", "key": id + "/correction/v9/vendor-ppdue-vendor", "made": false}, adminKey)
	require.Equal(t, http.StatusConflict, code, out)
	var batch string
	for _, p := range s.paypal.Payouts() {
		if p.SenderBatchID == key {
			batch = p.BatchID
		}
	}
	require.NotEmpty(t, batch)
	code, out = s.do(http.MethodPost, "/api/v1/admin/payments/"+id+"/resolve", map[string]any{"party": "vendor", "made": true, "provider_ref": batch}, adminKey)
	require.Equal(t, http.StatusAccepted, code, out)
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		_, view := s.do(http.MethodGet, "/api/v1/admin/payments/"+id, nil, adminKey)
		assert.Equal(c, "paid", view["status"], view["reason"])
	}, 30*time.Second, 100*time.Millisecond)
	topUps := 0
	for _, p := range s.paypal.Payouts() {
		if strings.HasPrefix(p.SenderBatchID, id+"/correction/") {
			topUps++
		}
	}
	require.Equal(t, 1, topUps, "topped up once")
	require.EqualValues(t, 0, s.paymentBalances(id)["vendor_payable:ppdue-vendor"], "the vendor is paid in full, in the books too")
}

// The admin cancels a PayPal payment whose vendor payout is in doubt (answer lost, the batch not
// linked); the compensation asks again and learns nothing, so the leg stays in doubt on the
// compensated payment instead of being cancelled with a payout PayPal may have made. A retry is
// refused with the reason; the resolve naming the batch books the payout, which PayPal cannot
// pull back (the leg says so): the books know the vendor holds its share, paid once.
func TestCompensationLeavesAPayPalPayoutInDoubtUntilResolved(t *testing.T) {
	s := newStack(t, payment.Settings{SettleWindow: 0, StripeAttempts: 2, StripeRetryInterval: 10 * time.Millisecond})
	id := s.payPalPayoutInDoubt("cancelco", "VENDORPAYER04", "CAP808")
	path := "/api/v1/admin/payments/" + id

	code, out := s.do(http.MethodPost, path+"/cancel", nil, adminKey)
	require.Equal(t, http.StatusAccepted, code, out)
	rec := s.result(id)
	require.Equal(t, ipayment.StatusPayoutFailed, rec.Status, rec.Reason)
	require.NotEmpty(t, rec.Compensated)
	require.True(t, rec.Leg("vendor").InDoubt(id), "the payee may hold it: %+v", rec.Leg("vendor"))

	code, out = s.do(http.MethodPost, path+"/retry", nil, adminKey)
	require.Equal(t, http.StatusConflict, code, out)
	require.Equal(t, "in_doubt", out["error"].(map[string]any)["code"])

	key := id + "/transfer/vendor-cancelco-vendor/0"
	var batch string
	for _, p := range s.paypal.Payouts() {
		if p.SenderBatchID == key {
			batch = p.BatchID
		}
	}
	require.NotEmpty(t, batch)
	code, out = s.do(http.MethodPost, path+"/resolve", map[string]any{"party": "vendor", "made": true, "provider_ref": batch}, adminKey)
	require.Equal(t, http.StatusAccepted, code, out)
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		r := s.Result(id)
		l := r.Leg("vendor")
		assert.EqualValues(c, l.Amount, l.Transferred, "booked")
		assert.False(c, l.InDoubt(id))
	}, 30*time.Second, 100*time.Millisecond)
	vendorPayouts := 0
	for _, p := range s.paypal.Payouts() {
		if p.Receiver == "VENDORPAYER04" {
			vendorPayouts++
		}
	}
	require.Equal(t, 1, vendorPayouts, "paid once")
	final := s.result(id)
	vendor := final.Leg("vendor")
	require.Equal(t, ipayment.StatusCompensated, final.Status, final.Reason)
	require.Contains(t, vendor.Reason, "cannot be reversed", "the admin sees the vendor keeps it")
	require.EqualValues(t, 0, s.paymentBalances(id)["vendor_payable:cancelco-vendor"], "the books know the vendor holds its share")
}

// A vendor transfer made with its answers lost, then held at the admin's retry (the payee's
// account was removed meanwhile), is released after Stripe forgot the key: the release asks under
// the key and finds the transfer made to the old account, instead of sending it as new, which
// Stripe, having forgotten the key, would make a second time.
func TestReleaseOfALegHeldInDoubtAsksUnderItsKey(t *testing.T) {
	s := newStack(t, payment.Settings{SettleWindow: 0, StripeAttempts: 2, StripeRetryInterval: 10 * time.Millisecond})
	id := s.stripeTransferInDoubt("heldco", "pi_held_doubt")

	code, out := s.do(http.MethodPut, "/api/v1/admin/payees/heldco-vendor", map[string]any{"client_id": "heldco", "kind": "vendor"}, adminKey)
	require.Equal(t, http.StatusOK, code, out)
	s.retryUntil(id, "held")
	// The run saved the hold and asks the payee once more in the same workflow task (code path
	// 20): until that task ends, its history records no save after the retry, and a release is
	// decision_pending.
	awaitRunWaits(t, s.tc, id)
	s.stripe.LoseAnswer = nil
	s.stripe.ForgetKeys()
	code, out = s.do(http.MethodPut, "/api/v1/admin/payees/heldco-vendor", map[string]any{"client_id": "heldco", "kind": "vendor", "stripe_account": "acct_heldfixed"}, adminKey)
	require.Equal(t, http.StatusOK, code, out)
	code, out = s.do(http.MethodPost, "/api/v1/admin/payments/"+id+"/release", nil, adminKey)
	require.Equal(t, http.StatusAccepted, code, out)
	s.awaitStatus(id, "paid")

	var made []testenv.StripeTransfer
	for _, tr := range s.stripe.Transfers() {
		if tr.Metadata["workflow_id"] == id && tr.Metadata["party"] == "vendor" {
			made = append(made, tr)
		}
	}
	require.Len(t, made, 1, "the vendor was paid once")
	rec := s.result(id)
	require.Equal(t, made[0].ID, rec.Leg("vendor").TransferID)
}

// payPalPayoutInDoubt captures a PayPal payment for a new client whose vendor payout PayPal makes
// with its answer lost, and which, asked again, neither replays the request ID nor links the
// batch it refuses the used sender_batch_id for: the payment waits payout_failed, the vendor's
// payout in doubt. It returns the payment's workflow ID.
func (s *stack) payPalPayoutInDoubt(client, vendorReceiver, capture string) string {
	s.t.Helper()
	s.paypal.IgnoreRequestIDs, s.paypal.OmitDuplicateLink = true, true
	s.paypal.LosePayoutAnswer = func(senderBatchID string) bool { return strings.Contains(senderBatchID, "/transfer/vendor-") }
	s.seedPayPal(client, vendorReceiver)
	body := paypalCapture(client, capture)
	code, out := s.paypalWebhook(body, s.paypal.Sign(body))
	require.Equal(s.t, http.StatusOK, code, out)
	id := payment.WorkflowID("paypal", capture)
	s.awaitStatus(id, "payout_failed")
	return id
}

// stripeTransferInDoubt seeds client and captures pi for it; Stripe makes the vendor's transfer
// and every answer to it is lost, so the payment waits payout_failed with the transfer in doubt.
// It returns the payment's workflow ID; answers are lost until the test sets LoseAnswer again.
// Meanwhile Stripe's transfer list cannot be read either: a retry of a key sent before looks the
// transfer up by its key (stripe_key_sends), and would otherwise learn it was made.
func (s *stack) stripeTransferInDoubt(client, pi string) string {
	s.t.Helper()
	s.seed(client)
	id := payment.WorkflowID("stripe", pi)
	s.stripe.LoseAnswer = func(c testenv.StripeCall) bool {
		return c.Path == "/v1/transfers" && strings.HasPrefix(c.IdempotencyKey, id+"/transfer/vendor-")
	}
	s.stripe.Inject = func(r *http.Request, _ url.Values) (int, string) {
		if r.Method == http.MethodGet && r.URL.Path == "/v1/transfers" && s.stripe.LoseAnswer != nil {
			return http.StatusBadGateway, `{"error":{"type":"api_error","message":"upstream connection reset"}}`
		}
		return 0, ""
	}
	s.t.Cleanup(func() { s.stripe.Inject = nil })
	code, out := s.webhook(stripeevent.Sign(capture(client, pi).Body(), webhookSecret, time.Now()))
	require.Equal(s.t, http.StatusOK, code, out)
	s.awaitStatus(id, "payout_failed")
	return id
}

// awaitStatus waits for the payment to reach status.
func (s *stack) awaitStatus(id, status string) {
	s.t.Helper()
	require.EventuallyWithT(s.t, func(c *assert.CollectT) {
		_, view := s.do(http.MethodGet, "/api/v1/admin/payments/"+id, nil, adminKey)
		assert.Equal(c, status, view["status"])
	}, 30*time.Second, 100*time.Millisecond)
}
