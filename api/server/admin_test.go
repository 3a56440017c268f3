package server_test

import (
	"encoding/json"
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

func TestAdminAPIValidatesAndAuthenticates(t *testing.T) {
	s := newStack(t, payment.Settings{})
	tests := []struct {
		name, method, path string
		body               any
		key                string
		status             int
		code               string
	}{
		{"no key", http.MethodGet, "/api/v1/admin/clients", nil, "", 401, "unauthorized"},
		{"wrong key", http.MethodGet, "/api/v1/admin/clients", nil, "nope", 401, "unauthorized"},
		{"bad client id", http.MethodPut, "/api/v1/admin/clients/bad%20id", map[string]any{"name": "x", "default_currency": "usd"}, adminKey, 400, "invalid_request"},
		{"unknown currency", http.MethodPut, "/api/v1/admin/clients/c1", map[string]any{"name": "x", "default_currency": "xxx"}, adminKey, 400, "invalid_request"},
		{"unknown field", http.MethodPut, "/api/v1/admin/clients/c1", map[string]any{"name": "x", "default_currency": "usd", "colour": "red"}, adminKey, 400, "invalid_json"},
		{"empty name", http.MethodPut, "/api/v1/admin/clients/c1", map[string]any{"name": " ", "default_currency": "usd"}, adminKey, 400, "invalid_request"},
		// JSON decoding turns an unpaired surrogate into U+FFFD: refused, not stored altered.
		{"name with an unpaired surrogate", http.MethodPut, "/api/v1/admin/clients/c1", json.RawMessage(`{"name":"Sakura \ud800","default_currency":"jpy"}`), adminKey, 400, "invalid_request"},
		{"name on two lines", http.MethodPut, "/api/v1/admin/clients/c1", map[string]any{"name": "Sakura\r\nBcc: x@example.com", "default_currency": "jpy"}, adminKey, 400, "invalid_request"},
		{"name of 201 characters", http.MethodPut, "/api/v1/admin/clients/c1", map[string]any{"name": strings.Repeat("桜", 201), "default_currency": "jpy"}, adminKey, 400, "invalid_request"},
		{"payee of unknown client", http.MethodPut, "/api/v1/admin/payees/p1", map[string]any{"client_id": "ghost", "kind": "vendor"}, adminKey, 400, "invalid_request"},
		{"payee bad kind", http.MethodPut, "/api/v1/admin/payees/p1", map[string]any{"client_id": "ghost", "kind": "boss"}, adminKey, 400, "invalid_request"},
		{"payee bad account", http.MethodPut, "/api/v1/admin/payees/p1", map[string]any{"client_id": "ghost", "kind": "vendor", "stripe_account": "bank-123"}, adminKey, 400, "invalid_request"},
		{"rule for unknown client", http.MethodPost, "/api/v1/admin/clients/ghost/split-rules", map[string]any{"platform_bps": 100}, adminKey, 404, "not_found"},
		{"rule over 100%", http.MethodPost, "/api/v1/admin/clients/ghost/split-rules", map[string]any{"platform_bps": 9000, "affiliate_bps": 2000}, adminKey, 400, "invalid_request"},
		{"rule negative", http.MethodPost, "/api/v1/admin/clients/ghost/split-rules", map[string]any{"platform_bps": -1}, adminKey, 400, "invalid_request"},
		{"rule without platform share", http.MethodPost, "/api/v1/admin/clients/ghost/split-rules", map[string]any{"affiliate_bps": 10}, adminKey, 400, "invalid_request"},
		{"unknown payment", http.MethodGet, "/api/v1/admin/payments/payment-stripe-nope", nil, adminKey, 404, "not_found"},
		{"retry unknown payment", http.MethodPost, "/api/v1/admin/payments/payment-stripe-nope/retry", nil, adminKey, 404, "not_found"},
		{"bad as_of", http.MethodGet, "/api/v1/admin/ledger/balances?as_of=yesterday", nil, adminKey, 400, "invalid_request"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, body := s.do(tt.method, tt.path, tt.body, tt.key)
			require.Equal(t, tt.status, code, body)
			e, ok := body["error"].(map[string]any)
			require.True(t, ok, "error shape: %v", body)
			require.Equal(t, tt.code, e["code"])
			require.NotEmpty(t, e["message"])
		})
	}
	// Rule versions count up and earlier ones stay as they were.
	s.seed("versions")
	code, body := s.do(http.MethodPost, "/api/v1/admin/clients/versions/split-rules", map[string]any{"platform_bps": 1500}, adminKey)
	require.Equal(t, http.StatusCreated, code, body)
	require.EqualValues(t, 2, body["version"])
	code, body = s.do(http.MethodGet, "/api/v1/admin/clients/versions/split-rules", nil, adminKey)
	require.Equal(t, http.StatusOK, code)
	rules := body["rules"].([]any)
	require.Len(t, rules, 2)
	require.EqualValues(t, 1000, rules[0].(map[string]any)["platform_bps"])
	require.EqualValues(t, 1500, rules[1].(map[string]any)["platform_bps"])
	// Fee bounds are amounts in a currency: the client's default unless the rule names one.
	require.Equal(t, "usd", rules[1].(map[string]any)["fee_currency"])
	code, body = s.do(http.MethodPost, "/api/v1/admin/clients/versions/split-rules", map[string]any{"platform_bps": 1500, "min_platform_fee": 50, "fee_currency": "EUR"}, adminKey)
	require.Equal(t, http.StatusCreated, code, body)
	require.Equal(t, "eur", body["fee_currency"])

	// A name's limit is in characters: 200 Japanese ones (600 bytes) are a name.
	name := strings.Repeat("さくら雑貨店", 33) + "東京"
	code, body = s.do(http.MethodPut, "/api/v1/admin/clients/sakura-names", map[string]any{"name": name, "default_currency": "jpy"}, adminKey)
	require.Equal(t, http.StatusCreated, code, body)
	require.Equal(t, name, body["name"])
}

// heldPayment seeds client with payees of the kinds given ("vendor": <client>-vendor, "affiliate":
// <client>-aff) that have no connected account yet, has pi captured and returns its workflow ID
// once the payment is held and its run waits: their legs must be held, not sent or failed. The
// run saves the hold and then asks the payees once more (code path 20); a caller that gives a
// payee an account before that ask is answered would race it (awaitRunWaits).
func (s *stack) heldPayment(client, pi string, kinds ...string) string {
	s.t.Helper()
	s.seed(client)
	for _, kind := range kinds {
		id := client + "-vendor"
		if kind == "affiliate" {
			id = client + "-aff"
		}
		code, body := s.do(http.MethodPut, "/api/v1/admin/payees/"+id, map[string]any{"client_id": client, "kind": kind}, adminKey)
		require.Equal(s.t, http.StatusOK, code, body)
	}
	code, body := s.webhook(stripeevent.Sign(capture(client, pi).Body(), webhookSecret, time.Now()))
	require.Equal(s.t, http.StatusOK, code, body)
	id := payment.WorkflowID("stripe", pi)
	s.AwaitStatus(id, 20*time.Second, ipayment.StatusHeld)
	awaitRunWaits(s.t, s.tc, id)
	return id
}

func TestHeldLegReleasedThroughAdminAPI(t *testing.T) {
	s := newStack(t, payment.Settings{SettleWindow: 0})
	id := s.heldPayment("holdco", "pi_hold", "vendor")

	code, body := s.do(http.MethodPost, "/api/v1/admin/payments/"+id+"/retry", nil, adminKey)
	require.Equal(t, http.StatusConflict, code, "retry is for failed payouts, release is for held ones: %v", body)

	// Only the vendor's leg is held: a release of the affiliate's would release nothing.
	code, body = s.do(http.MethodPost, "/api/v1/admin/payments/"+id+"/release", map[string]any{"party": "affiliate"}, adminKey)
	require.Equal(t, http.StatusConflict, code, body)
	require.Equal(t, "not_held", body["error"].(map[string]any)["code"], body)

	code, body = s.do(http.MethodPut, "/api/v1/admin/payees/holdco-vendor", map[string]any{"client_id": "holdco", "kind": "vendor", "stripe_account": "acct_fixed1"}, adminKey)
	require.Equal(t, http.StatusOK, code, body)
	code, body = s.do(http.MethodPost, "/api/v1/admin/payments/"+id+"/release", map[string]any{"party": "vendor"}, adminKey)
	require.Equal(t, http.StatusAccepted, code, body)

	rec := s.result(id)
	require.Equal(t, ipayment.StatusPaid, rec.Status)
	require.Equal(t, map[string][]int64{id: {9545}}, s.transfersTo("acct_fixed1"), "the vendor paid once, in full")
	s.requireBooksBalanced()
}

// paidUnderTaxRule seeds client with a version 2 rule that wrongly takes commission on tax, has
// pi captured and split under it, and returns the payment's workflow ID.
func (s *stack) paidUnderTaxRule(client, pi string) string {
	s.t.Helper()
	s.seed(client)
	code, body := s.do(http.MethodPost, "/api/v1/admin/clients/"+client+"/split-rules", map[string]any{"platform_bps": 1000, "affiliate_bps": 500, "commission_on_tax": true}, adminKey)
	require.Equal(s.t, http.StatusCreated, code, body)
	code, body = s.webhook(stripeevent.Sign(capture(client, pi).Body(), webhookSecret, time.Now()))
	require.Equal(s.t, http.StatusOK, code, body)
	return payment.WorkflowID("stripe", pi)
}

func TestCorrectionThroughAdminAPI(t *testing.T) {
	s := newStack(t, payment.Settings{SettleWindow: 0})
	id := s.paidUnderTaxRule("fixco", "pi_fix")
	rec := s.result(id)
	require.Equal(t, 2, rec.RuleVersion)
	require.EqualValues(t, 1050, rec.Leg("platform").Amount)

	code, body := s.do(http.MethodPost, "/api/v1/admin/payments/"+id+"/correct", map[string]any{"rule_version": 9}, adminKey)
	require.Equal(t, http.StatusBadRequest, code, body)
	code, body = s.do(http.MethodPost, "/api/v1/admin/payments/"+id+"/correct", map[string]any{"rule_version": 1}, adminKey)
	require.Equal(t, http.StatusAccepted, code, body)

	require.EventuallyWithT(t, func(c *assert.CollectT) {
		_, view := s.do(http.MethodGet, "/api/v1/admin/payments/"+id, nil, adminKey)
		assert.EqualValues(c, 1, view["rule_version"])
		assert.Equal(c, []any{float64(1)}, view["corrected_to"])
	}, 20*time.Second, 100*time.Millisecond)
	keys := map[string]string{}
	for _, c := range s.stripe.Calls(http.MethodPost, "") {
		keys[c.IdempotencyKey] = c.Form.Get("amount")
	}
	require.Equal(t, "120", keys[id+"/correction/v1/vendor-fixco-vendor"], "vendor topped up")
	require.Equal(t, "40", keys[id+"/correction/v1/affiliate-fixco-aff"], "affiliate excess reversed")
	require.Equal(t, map[string]int64{
		"vendor_payable:fixco-vendor": 0, "affiliate_payable:fixco-aff": 0, "platform:revenue": -970,
		"processing_fees:stripe": 349, "provider:stripe": 970 - 349,
	}, s.paymentBalances(id), "a correction moves shares between the legs, never the fee")
	s.record("stripe_correction_followup.json", s.history(id))

	// Refunded in full afterwards: the vendor gives back what its first transfer has left and the
	// rest from the correction's top-up, as Stripe takes back at most what a transfer has left.
	refund := stripeevent.Refund{EventID: "evt_fix_re", PaymentIntent: "pi_fix", Charge: "ch_pi_fix", Currency: "usd",
		Amount: 11000, AmountRefunded: 11000, Created: time.Now()}
	code, body = s.webhook(stripeevent.Sign(refund.Body(), webhookSecret, time.Now()))
	require.Equal(t, http.StatusOK, code, body)
	rec = s.result(id)
	require.Equal(t, ipayment.StatusRefunded, rec.Status)
	vendor := rec.Leg("vendor")
	require.Empty(t, vendor.Reason)
	require.Equal(t, ipayment.LegReversed, vendor.State)
	require.Len(t, vendor.TopUps, 1)
	_, view := s.do(http.MethodGet, "/api/v1/admin/payments/"+id, nil, adminKey)
	var topUps []any
	for _, l := range view["legs"].([]any) {
		if l := l.(map[string]any); l["party"] == "vendor" {
			topUps, _ = l["top_ups"].([]any)
		}
	}
	require.Equal(t, []any{map[string]any{"transfer_id": vendor.TopUps[0].TransferID, "amount": float64(120), "reversed": float64(120)}}, topUps)
	s.stripe.RequireTakenBack(t, id, "the refund in full takes the top-up back too")
	require.Equal(t, map[string]int64{
		"vendor_payable:fixco-vendor": 0, "affiliate_payable:fixco-aff": 0, "platform:revenue": 0,
		"processing_fees:stripe": 349, "provider:stripe": -349,
	}, s.paymentBalances(id), "all of it back with the buyer; the platform bears Stripe's fee")
}

// A correction's top-up that Stripe refuses (the platform balance is short) is due: the payment
// shows payout_failed with the top-up due, a cancel is refused (the payee is owed it), and an
// admin's retry, once the balance is there, reaches the closed payment and sends it under a new
// key; the books then owe the vendor nothing.
func TestRefusedTopUpRetriedThroughAdminAPI(t *testing.T) {
	s := newStack(t, payment.Settings{SettleWindow: 0})
	id := s.paidUnderTaxRule("topco", "pi_top")
	require.Equal(t, ipayment.StatusPaid, s.result(id).Status)

	topUpKey := id + "/correction/v1/vendor-topco-vendor"
	s.stripe.Inject = func(r *http.Request, _ url.Values) (int, string) {
		if r.URL.Path == "/v1/transfers" && r.Header.Get("Idempotency-Key") == topUpKey {
			return http.StatusBadRequest, `{"error":{"type":"invalid_request_error","code":"balance_insufficient","message":"You have insufficient available funds in your Stripe account."}}`
		}
		return 0, ""
	}
	code, body := s.do(http.MethodPost, "/api/v1/admin/payments/"+id+"/correct", map[string]any{"rule_version": 1}, adminKey)
	require.Equal(t, http.StatusAccepted, code, body)
	due := s.awaitVendorDue(id)
	require.EqualValues(t, 120, due["amount"])
	require.Contains(t, due["reason"], "insufficient available funds")
	require.EqualValues(t, -120, s.paymentBalances(id)["vendor_payable:topco-vendor"], "the books owe the vendor the top-up")
	require.Equal(t, ipayment.StatusPayoutFailed, s.result(id).Status, "the correction's run closed with the top-up due")
	s.record("stripe_topup_due_followup.json", s.history(id))

	code, body = s.do(http.MethodPost, "/api/v1/admin/payments/"+id+"/cancel", nil, adminKey)
	require.Equal(t, http.StatusConflict, code, body)
	require.Contains(t, body["error"].(map[string]any)["message"], "owed to the payee, or by it")

	s.stripe.Inject = nil
	s.retryUntil(id, "paid")
	rec := s.result(id)
	require.Empty(t, rec.Leg("vendor").Dues)
	require.Equal(t, 1, rec.DueRetries)
	_, view := s.do(http.MethodGet, "/api/v1/admin/payments/"+id, nil, adminKey)
	require.EqualValues(t, 1, view["due_retries"])
	s.record("stripe_topup_retry_followup.json", s.history(id))
	keys := map[string]string{}
	for _, c := range s.stripe.Calls(http.MethodPost, "/v1/transfers") {
		if c.Status == http.StatusOK {
			keys[c.IdempotencyKey] = c.Form.Get("amount")
		}
	}
	require.Equal(t, "120", keys[id+"/correction/v1.a1/vendor-topco-vendor"], "sent again under a key of its own")
	require.NotContains(t, keys, topUpKey, "the refused key made nothing")
	require.EqualValues(t, 0, s.paymentBalances(id)["vendor_payable:topco-vendor"], "the vendor is paid in full")

	code, body = s.do(http.MethodPost, "/api/v1/admin/payments/"+id+"/retry", nil, adminKey)
	require.Equal(t, http.StatusConflict, code, "nothing is due any more: %v", body)
	s.requireBooksBalanced()
}

// A vendor transfer Stripe made whose answers were all lost leaves the leg in doubt and the
// payment payout_failed. The admin retries after Stripe forgot the key (it prunes keys 24 hours
// old, and a decision may take days): the retry finds the transfer by the key its metadata
// carries and books it, where sending under the forgotten key would have paid the vendor twice.
func TestRetryAfterStripeForgotTheKeyPaysOnce(t *testing.T) {
	s := newStack(t, payment.Settings{SettleWindow: 0, StripeAttempts: 2, StripeRetryInterval: 10 * time.Millisecond})
	id := s.stripeTransferInDoubt("forgotco", "pi_forgot")
	vendorTransfers := func() []testenv.StripeTransfer {
		var out []testenv.StripeTransfer
		for _, tr := range s.stripe.Transfers() {
			if tr.Metadata["workflow_id"] == id && tr.Metadata["party"] == "vendor" {
				out = append(out, tr)
			}
		}
		return out
	}
	require.Len(t, vendorTransfers(), 1, "Stripe made the transfer; its answers were lost")

	s.stripe.LoseAnswer = nil
	s.stripe.ForgetKeys()
	s.retryUntil(id, "paid")
	made := vendorTransfers()
	require.Len(t, made, 1, "found by its key, not made again")
	rec := s.result(id)
	require.Equal(t, made[0].ID, rec.Leg("vendor").TransferID)
	require.EqualValues(t, 9545, rec.Leg("vendor").Transferred)
	require.EqualValues(t, 0, s.paymentBalances(id)["vendor_payable:forgotco-vendor"])
}

// A refund's share the vendor's connected account cannot give back (Stripe refuses the reversal)
// is due: the payment is payout_failed with a reversal due, the affiliate's share taken back
// meanwhile; the admin's retry, once the account has the funds, takes it back under a new key.
func TestRefusedReversalRetriedThroughAdminAPI(t *testing.T) {
	s := newStack(t, payment.Settings{SettleWindow: 0})
	id := s.paid("backco", "pi_back")
	s.refundWithVendorReversalRefused("backco", "pi_back")
	due := s.awaitVendorDue(id)
	require.Equal(t, "reversal", due["kind"])
	require.EqualValues(t, 955, due["amount"])
	require.Contains(t, due["reason"], "insufficient funds")
	require.EqualValues(t, 955, s.paymentBalances(id)["vendor_payable:backco-vendor"], "the vendor owes its share of the refund back")
	require.Equal(t, ipayment.StatusPayoutFailed, s.result(id).Status)
	s.record("stripe_reversal_due_followup.json", s.history(id))

	s.stripe.Inject = nil
	s.retryUntil(id, "partially_refunded")
	rec := s.result(id)
	require.Empty(t, rec.Leg("vendor").Dues)
	s.record("stripe_reversal_retry_followup.json", s.history(id))
	var reversed int64
	for _, tr := range s.stripe.Transfers() {
		if tr.Metadata["workflow_id"] == id && tr.Metadata["party"] == "vendor" {
			for _, rv := range tr.Reversals {
				require.Equal(t, id+"/refund/1100.a1/vendor-backco-vendor", rv.IdempotencyKey)
				reversed += rv.Amount
			}
		}
	}
	require.EqualValues(t, 955, reversed, "taken back once, under a key of its own")
	require.EqualValues(t, 0, s.paymentBalances(id)["vendor_payable:backco-vendor"])
}

// awaitVendorDue waits until the payment is payout_failed with one movement due on its vendor
// leg, and returns that due as the admin API shows it.
func (s *stack) awaitVendorDue(id string) map[string]any {
	s.t.Helper()
	var dues []any
	require.EventuallyWithT(s.t, func(c *assert.CollectT) {
		_, view := s.do(http.MethodGet, "/api/v1/admin/payments/"+id, nil, adminKey)
		assert.Equal(c, "payout_failed", view["status"])
		for _, l := range view["legs"].([]any) {
			if l := l.(map[string]any); l["party"] == "vendor" {
				dues, _ = l["dues"].([]any)
			}
		}
		assert.Len(c, dues, 1)
	}, 30*time.Second, 100*time.Millisecond)
	return dues[0].(map[string]any)
}

// retryUntil sends an admin's retry and waits for the payment to reach status.
func (s *stack) retryUntil(id, status string) {
	s.t.Helper()
	code, body := s.do(http.MethodPost, "/api/v1/admin/payments/"+id+"/retry", nil, adminKey)
	require.Equal(s.t, http.StatusAccepted, code, body)
	require.EventuallyWithT(s.t, func(c *assert.CollectT) {
		_, view := s.do(http.MethodGet, "/api/v1/admin/payments/"+id, nil, adminKey)
		assert.Equal(c, status, view["status"])
	}, 30*time.Second, 100*time.Millisecond)
}

// With the run open (its settle window) and automatic retries on, a refused reversal is retried
// by the workflow itself, with no admin, once Stripe takes it.
func TestDueRetriedAutomaticallyWhileTheRunIsOpen(t *testing.T) {
	s := newStack(t, payment.Settings{SettleWindow: time.Minute, DueRetryEvery: 2 * time.Second})
	s.seed("autoco")
	code, body := s.webhook(stripeevent.Sign(capture("autoco", "pi_auto").Body(), webhookSecret, time.Now()))
	require.Equal(t, http.StatusOK, code, body)
	id := payment.WorkflowID("stripe", "pi_auto")
	s.AwaitStatus(id, 30*time.Second, ipayment.StatusPaid)
	s.refundWithVendorReversalRefused("autoco", "pi_auto")
	require.Equal(t, "reversal", s.awaitVendorDue(id)["kind"])

	s.stripe.Inject = nil // the vendor's balance is back
	s.AwaitStatus(id, 30*time.Second, ipayment.StatusPartiallyRefunded)
	require.EqualValues(t, 0, s.paymentBalances(id)["vendor_payable:autoco-vendor"], "the vendor gave its share back")
	var reversed int64
	for _, tr := range s.stripe.Transfers() {
		if tr.Metadata["workflow_id"] == id && tr.Metadata["party"] == "vendor" {
			reversed += tr.AmountReversed
		}
	}
	require.EqualValues(t, 955, reversed)
}

// refundWithVendorReversalRefused has Stripe refuse every reversal from the client's vendor (its
// connected account is short) and delivers a 11.00 refund of pi, whose vendor share is 9.55.
func (s *stack) refundWithVendorReversalRefused(client, pi string) {
	s.t.Helper()
	s.stripe.Inject = func(r *http.Request, _ url.Values) (int, string) {
		if r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/reversals") && strings.HasSuffix(r.Header.Get("Idempotency-Key"), "/vendor-"+client+"-vendor") {
			return http.StatusBadRequest, `{"error":{"type":"invalid_request_error","code":"insufficient_funds","message":"The destination account has insufficient funds to cover the reversal."}}`
		}
		return 0, ""
	}
	refund := stripeevent.Refund{EventID: "evt_" + pi + "_re", PaymentIntent: pi, Charge: "ch_" + pi, Currency: "usd",
		Amount: 1100, AmountRefunded: 1100, Created: time.Now()}
	code, body := s.webhook(stripeevent.Sign(refund.Body(), webhookSecret, time.Now()))
	require.Equal(s.t, http.StatusOK, code, body)
}
