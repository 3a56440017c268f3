package server_test

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"paysplit/activities"
	"paysplit/api/server"
	"paysplit/internal/money"
	ipayment "paysplit/internal/payment"
	"paysplit/internal/paypalevent"
	"paysplit/internal/paypalhook"
	"paysplit/testenv"
	"paysplit/workflows/payment"
)

// seedPayPal registers a client whose payees are paid through PayPal.
func (s *stack) seedPayPal(client, vendorReceiver string) {
	s.t.Helper()
	code, body := s.do(http.MethodPut, "/api/v1/admin/clients/"+client, map[string]any{"name": "PayPal Shop", "default_currency": "usd"}, adminKey)
	require.Equal(s.t, http.StatusCreated, code, body)
	for id, p := range map[string]map[string]any{
		client + "-vendor": {"client_id": client, "kind": "vendor", "paypal_receiver": vendorReceiver},
		client + "-aff":    {"client_id": client, "kind": "affiliate", "paypal_receiver": "affiliate@example.com"},
	} {
		code, body = s.do(http.MethodPut, "/api/v1/admin/payees/"+id, p, adminKey)
		require.Equal(s.t, http.StatusCreated, code, body)
	}
	code, body = s.do(http.MethodPost, "/api/v1/admin/clients/"+client+"/split-rules", map[string]any{"platform_bps": 1000, "affiliate_bps": 500}, adminKey)
	require.Equal(s.t, http.StatusCreated, code, body)
}

// paypalCapture is a 110.00 USD capture of an order of the client's vendor and affiliate, of
// which PayPal kept a 4.33 fee (3.49 % + 0.49).
func paypalCapture(client, capture string) []byte {
	return paypalevent.Capture{EventID: "WH-CAP-" + capture, CaptureID: capture, InvoiceID: "order-" + capture,
		Currency: "usd", Amount: 11000, Fee: 433, Created: time.Now(), Metadata: map[string]string{
			"client_id": client, "vendor_id": client + "-vendor", "affiliate_id": client + "-aff",
			"subtotal": "10000", "tax": "800", "shipping": "500", "discount": "300", "platform": "woocommerce"}}.Body()
}

func (s *stack) paypalWebhook(body []byte, h http.Header) (int, map[string]any) {
	s.t.Helper()
	req, err := http.NewRequest(http.MethodPost, s.api.URL+"/webhooks/paypal", bytes.NewReader(body))
	require.NoError(s.t, err)
	for k, v := range h {
		req.Header[k] = v
	}
	req.Header.Set("Content-Type", "application/json")
	code, out := s.send(req)
	forwardedAfter(s, "paypal", body, code, out)
	return code, out
}

// TestPayPalCaptureEndToEnd runs a PayPal capture, its duplicates and a refund through both
// webhook acknowledgement modes: once Temporal took the event (the default) and once the inbox
// stored it (the relay forwards it).
func TestPayPalCaptureEndToEnd(t *testing.T) {
	for _, tt := range []struct {
		name            string
		ack             server.WebhookAck
		client, capture string
	}{
		{"ack once Temporal holds it", server.AckOnTemporal, "ppco", "CAP123"},
		{"ack once stored", server.AckOnStore, "ppinbox", "CAP124"},
	} {
		t.Run(tt.name, func(t *testing.T) { paypalCaptureEndToEnd(t, tt.ack, tt.client, tt.capture) })
	}
}

func paypalCaptureEndToEnd(t *testing.T, ack server.WebhookAck, client, capture string) {
	s := newStackAck(t, payment.Settings{SettleWindow: 0}, ack)
	s.seedPayPal(client, "VENDORPAYER01")
	body := paypalCapture(client, capture)

	code, out := s.paypalWebhook(body, s.paypal.Sign(body))
	require.Equal(t, http.StatusOK, code, out)
	require.Equal(t, "accepted", out["status"])
	id := payment.WorkflowID("paypal", capture)
	rec := s.result(id)
	require.Equal(t, ipayment.StatusPaid, rec.Status, rec.Reason)
	require.Equal(t, "order-"+capture, rec.Order.OrderID, "invoice_id is the order when custom_id has none")
	var inInbox int
	require.NoError(t, s.Pool.QueryRow(t.Context(), `SELECT count(*) FROM webhook_inbox WHERE provider = 'paypal' AND event_id = $1
		AND forwarded_at IS NOT NULL`, "WH-CAP-"+capture).Scan(&inInbox))
	require.Equal(t, map[server.WebhookAck]int{server.AckOnTemporal: 0, server.AckOnStore: 1}[ack], inInbox,
		"acknowledged once stored, the event went through the inbox; otherwise straight to Temporal")

	payouts := s.paypal.Payouts()
	require.Len(t, payouts, 2)
	byBatch := map[string]string{}
	for _, p := range payouts {
		require.Equal(t, p.SenderBatchID, p.RequestID, "sender_batch_id and PayPal-Request-Id are the leg's key")
		require.Equal(t, "USD", p.Currency)
		byBatch[p.SenderBatchID] = p.Receiver + " " + p.Value
	}
	vendor, aff := client+"-vendor", client+"-aff"
	require.Equal(t, map[string]string{
		id + "/transfer/vendor-" + vendor + "/0": "VENDORPAYER01 95.45",
		id + "/transfer/affiliate-" + aff + "/0": "affiliate@example.com 4.85",
	}, byBatch)
	require.EqualValues(t, 433, rec.Fee)
	require.Equal(t, map[string]int64{
		"vendor_payable:" + vendor: 0, "affiliate_payable:" + aff: 0, "platform:revenue": -970,
		"processing_fees:paypal": 433, "provider:paypal": 970 - 433,
	}, s.paymentBalances(id), "PayPal holds the gross less its fee and the payouts; the platform bears the fee")

	for range 3 {
		code, out = s.paypalWebhook(body, s.paypal.Sign(body))
		require.Equal(t, http.StatusOK, code, out)
		require.Equal(t, "duplicate", out["status"])
	}
	require.Len(t, s.paypal.Payouts(), 2)

	// A partial refund: PayPal payouts cannot be pulled back, so the payees' shares of it stay
	// owed by them in the ledger, with the reason on the leg.
	refunded := time.Now()
	refund := paypalevent.Refund{EventID: "WH-REF-" + capture, RefundID: "REF-" + capture, CaptureID: capture,
		Currency: "usd", Amount: 1100, TotalRefunded: 1100, Fee: 38, Created: refunded}.Body()
	code, out = s.paypalWebhook(refund, s.paypal.Sign(refund))
	require.Equal(t, http.StatusOK, code, out)
	rec = s.result(id)
	require.Equal(t, ipayment.StatusPartiallyRefunded, rec.Status)
	require.Contains(t, rec.Leg("vendor").Reason, "cannot be reversed")
	require.EqualValues(t, 38, rec.FeeReturned)
	_, view := s.do(http.MethodGet, "/api/v1/admin/payments/"+id, nil, adminKey)
	require.EqualValues(t, 433, view["fee"])
	require.EqualValues(t, 38, view["fee_returned"])
	require.EqualValues(t, 1, view["payout_unit"], "PayPal pays US cents")
	require.Equal(t, map[string]int64{
		"vendor_payable:" + vendor: 955, "affiliate_payable:" + aff: 48, "platform:revenue": -873,
		"processing_fees:paypal": 433 - 38, "provider:paypal": -130 - 433 + 38,
	}, s.paymentBalances(id), "the payees owe back their shares of the refund; PayPal gave back 0.38 of its fee")

	// The refund did not go through after all (an eCheck that bounced): PayPal tells the refund
	// again, FAILED. It is undone with the fee it had given back, and the payees owe nothing.
	failed := paypalevent.Refund{EventID: "WH-REF-FAILED-" + capture, RefundID: "REF-" + capture, CaptureID: capture,
		Currency: "usd", Amount: 1100, TotalRefunded: 1100, Fee: 38, Created: refunded.Add(time.Hour), Made: refunded, Status: "FAILED"}.Body()
	code, out = s.paypalWebhook(failed, s.paypal.Sign(failed))
	require.Equal(t, http.StatusOK, code, out)
	rec = s.result(id)
	require.Equal(t, ipayment.StatusPaid, rec.Status, rec.Reason)
	require.Zero(t, rec.Refunded)
	require.Zero(t, rec.FeeReturned)
	require.Equal(t, map[string]int64{
		"vendor_payable:" + vendor: 0, "affiliate_payable:" + aff: 0, "platform:revenue": -970,
		"processing_fees:paypal": 433, "provider:paypal": 970 - 433,
	}, s.paymentBalances(id), "as before the refund")
	require.Len(t, s.paypal.Payouts(), 2, "nobody paid again: the payees kept their payouts")
}

func TestPayPalUnclaimedPayoutGoesToAdmin(t *testing.T) {
	s := newStack(t, payment.Settings{SettleWindow: 0})
	s.paypal.ItemStatus = func(receiver string) string {
		if strings.HasPrefix(receiver, "UNCLAIMED") {
			return "UNCLAIMED"
		}
		return "SUCCESS"
	}
	s.seedPayPal("lostco", "UNCLAIMED0001")
	body := paypalCapture("lostco", "CAP404")
	code, out := s.paypalWebhook(body, s.paypal.Sign(body))
	require.Equal(t, http.StatusOK, code, out)
	id := payment.WorkflowID("paypal", "CAP404")
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		_, view := s.do(http.MethodGet, "/api/v1/admin/payments/"+id, nil, adminKey)
		assert.Equal(c, "payout_failed", view["status"])
	}, 30*time.Second, 100*time.Millisecond)
	code, out = s.do(http.MethodPost, "/api/v1/admin/payments/"+id+"/cancel", nil, adminKey)
	require.Equal(t, http.StatusAccepted, code, out)
	rec := s.result(id)
	require.Equal(t, ipayment.StatusCompensated, rec.Status)
	require.Contains(t, rec.Reason, "unclaimed")
}

func TestPayPalWebhookRejectsBadInput(t *testing.T) {
	s := newStack(t, payment.Settings{})
	body := paypalCapture("acme", "CAPBAD")
	forged := s.paypal.Sign(body)
	forged.Set("Paypal-Cert-Url", "https://certs.example.com/paypal.pem")
	tests := []struct {
		name   string
		body   []byte
		h      http.Header
		status int
		code   string
	}{
		{"no signature", body, http.Header{}, 400, "invalid_signature"},
		{"tampered", append([]byte(" "), body...), s.paypal.Sign(body), 400, "invalid_signature"},
		{"certificate off PayPal", body, forged, 400, "invalid_signature"},
		{"malformed", []byte(`{"id":`), s.paypal.Sign([]byte(`{"id":`)), 400, "invalid_event"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out := s.paypalWebhook(tt.body, tt.h)
			require.Equal(t, tt.status, code, out)
			require.Equal(t, tt.code, out["error"].(map[string]any)["code"])
		})
	}
	other := paypalevent.Build("WH-X", "BILLING.SUBSCRIPTION.CREATED", time.Now(), map[string]any{"id": "I-1"})
	code, out := s.paypalWebhook(other, s.paypal.Sign(other))
	require.Equal(t, http.StatusOK, code)
	require.Equal(t, "ignored", out["status"])
	require.Equal(t, 0, s.runs(payment.WorkflowID("paypal", "CAPBAD")))
}

// A dispute the seller loses reaches us twice: PayPal takes the money back with a
// PAYMENT.CAPTURE.REVERSED (in the capture's currency, once per reversal) and closes the dispute
// with a CUSTOMER.DISPUTE.RESOLVED (its dispute_amount in the buyer's currency). The money is taken
// once, whatever the order and however often each is delivered.
func TestPayPalLostDisputeTakesTheMoneyOnce(t *testing.T) {
	s := newStack(t, payment.Settings{SettleWindow: 0})
	s.seedPayPal("ppdispute", "VENDORDISPUT1")
	body := paypalCapture("ppdispute", "CAPDSP1")
	code, out := s.paypalWebhook(body, s.paypal.Sign(body))
	require.Equal(t, http.StatusOK, code, out)
	id := payment.WorkflowID("paypal", "CAPDSP1")
	require.Equal(t, ipayment.StatusPaid, s.result(id).Status)

	deliver := func(body []byte) ipayment.Record {
		t.Helper()
		code, out := s.paypalWebhook(body, s.paypal.Sign(body))
		require.Equal(t, http.StatusOK, code, out)
		return s.result(id)
	}
	opened := paypalevent.Dispute{EventID: "WH-DSP-1", Type: "CUSTOMER.DISPUTE.CREATED", DisputeID: "PP-D-1", CaptureID: "CAPDSP1",
		Currency: "eur", Amount: 2760, Created: time.Now()}.Body()
	rec := deliver(opened)
	require.Equal(t, ipayment.StatusDisputed, rec.Status)
	require.True(t, rec.Disputed)

	resolved := paypalevent.Dispute{EventID: "WH-DSP-2", Type: "CUSTOMER.DISPUTE.RESOLVED", DisputeID: "PP-D-1", CaptureID: "CAPDSP1",
		Currency: "eur", Amount: 2760, Outcome: "RESOLVED_BUYER_FAVOUR", Created: time.Now()}.Body()
	reversed := paypalevent.Reversal{EventID: "WH-REV-1", ReversalID: "REV-CAPDSP1", CaptureID: "CAPDSP1",
		Currency: "usd", Amount: 3000, Created: time.Now()}.Body()
	for _, b := range [][]byte{resolved, reversed, resolved, reversed} {
		rec = deliver(b)
	}
	require.EqualValues(t, 3000, rec.Refunded, "the reversal's amount, once; the dispute's resolution moved no money")
	require.Equal(t, []string{"REV-CAPDSP1"}, rec.LostDisputes)
	require.False(t, rec.Disputed)
	require.Equal(t, ipayment.StatusPartiallyRefunded, rec.Status)
	var shares int64
	for _, l := range rec.Legs {
		shares += l.Refunded
	}
	require.EqualValues(t, 3000, shares, "the legs bear the reversal in proportion, once")
	balances := s.paymentBalances(id)
	require.EqualValues(t, 11000-433-9545-485-3000, balances["provider:paypal"],
		"PayPal holds the gross less its fee, the payouts and the reversal, once")

	// The seller then refunds 11.00 more: PayPal's total_refunded_amount counts refunds only.
	refund := paypalevent.Refund{EventID: "WH-REF-DSP", RefundID: "REF-DSP", CaptureID: "CAPDSP1", Currency: "usd",
		Amount: 1100, TotalRefunded: 1100, Created: time.Now()}.Body()
	rec = deliver(refund)
	require.EqualValues(t, 3000+1100, rec.Refunded, "the refund on top of the reversal")
	require.EqualValues(t, 3000, rec.DisputesLost)
	_, view := s.do(http.MethodGet, "/api/v1/admin/payments/"+id, nil, adminKey)
	require.EqualValues(t, 4100, view["refunded"])
	require.EqualValues(t, 3000, view["disputes_lost"])
}

// A PayPal payout that fails (the correction's top-up to the vendor: its item FAILED) is due like
// a Stripe transfer; the admin's retry sends it under a new sender_batch_id and the books owe the
// vendor nothing after.
// paidPayPalUnderTaxRule seeds a PayPal client whose rule v2 takes commission on tax by mistake,
// captures for it and waits until it is paid: a correction to v1 then tops the vendor up by 120.
func (s *stack) paidPayPalUnderTaxRule(client, capture string) string {
	s.t.Helper()
	s.seedPayPal(client, client+"-vendor@example.com")
	code, out := s.do(http.MethodPost, "/api/v1/admin/clients/"+client+"/split-rules", map[string]any{"platform_bps": 1000, "affiliate_bps": 500, "commission_on_tax": true}, adminKey)
	require.Equal(s.t, http.StatusCreated, code, out)
	body := paypalCapture(client, capture)
	code, out = s.paypalWebhook(body, s.paypal.Sign(body))
	require.Equal(s.t, http.StatusOK, code, out)
	id := payment.WorkflowID("paypal", capture)
	require.Equal(s.t, ipayment.StatusPaid, s.result(id).Status)
	return id
}

func TestPayPalTopUpDueRetried(t *testing.T) {
	s := newStack(t, payment.Settings{SettleWindow: 0})
	id := s.paidPayPalUnderTaxRule("pptop", "CAPTOP")

	s.paypal.ItemStatus = func(string) string { return "FAILED" }
	code, out := s.do(http.MethodPost, "/api/v1/admin/payments/"+id+"/correct", map[string]any{"rule_version": 1}, adminKey)
	require.Equal(t, http.StatusAccepted, code, out)
	due := s.awaitVendorDue(id)
	require.Equal(t, "top_up", due["kind"])
	require.EqualValues(t, 120, due["amount"])
	require.Contains(t, due["reason"], "failed")

	s.paypal.ItemStatus = nil
	s.retryUntil(id, "paid")
	var topUps []testenv.PayPalPayout
	for _, p := range s.paypal.Payouts() {
		if strings.HasPrefix(p.SenderBatchID, id+"/correction/") {
			topUps = append(topUps, p)
		}
	}
	require.Len(t, topUps, 2, "the vendor's top-up that failed and its retry (the affiliate's excess is a reversal, which PayPal cannot make): %+v", topUps)
	last := topUps[len(topUps)-1]
	require.Equal(t, id+"/correction/v1.a1/vendor-pptop-vendor", last.SenderBatchID)
	require.Equal(t, "1.20", last.Value)
	require.EqualValues(t, 0, s.paymentBalances(id)["vendor_payable:pptop-vendor"], "the vendor is paid in full")
}

// PayPal's Payouts API has been seen to make a second batch instead of replaying the first
// answer for a repeated PayPal-Request-Id (paypal/PayPal-Java-SDK#379); sender_batch_id is what
// deduplicates, and PayPal's refusal of a used one links the batch made under it. The vendor's
// payout is made and its answer lost: the retry's refusal leads to that batch, and the vendor is
// paid once, under the leg's first key (a refusal would have taken a new key and paid again).
func TestPayPalPayoutWhoseAnswerWasLostIsPaidOnce(t *testing.T) {
	s := newStack(t, payment.Settings{SettleWindow: 0})
	s.paypal.IgnoreRequestIDs = true
	lost := 0
	s.paypal.LosePayoutAnswer = func(senderBatchID string) bool {
		if !strings.Contains(senderBatchID, "/transfer/vendor-") {
			return false
		}
		lost++
		return lost == 1
	}
	s.seedPayPal("dupco", "VENDORPAYER02")
	body := paypalCapture("dupco", "CAP777")
	code, out := s.paypalWebhook(body, s.paypal.Sign(body))
	require.Equal(t, http.StatusOK, code, out)
	id := payment.WorkflowID("paypal", "CAP777")
	rec := s.result(id)
	require.Equal(t, ipayment.StatusPaid, rec.Status, rec.Reason)

	require.Equal(t, 1, lost, "the vendor's batch was made once, its answer lost")
	vendor := rec.Leg("vendor")
	require.NotEmpty(t, vendor.TransferID, "the item of the batch made, learnt through the refusal's link")
	require.Equal(t, id+"/transfer/vendor-dupco-vendor/0", vendor.TransferKey, "the first key, not a new attempt's")
	payouts := s.paypal.Payouts()
	require.Len(t, payouts, 2, "one batch for each payee")
	for _, p := range payouts {
		if p.Receiver == "VENDORPAYER02" {
			require.Equal(t, vendor.TransferKey, p.SenderBatchID)
			want, err := money.ParseAmount(p.Value, "usd")
			require.NoError(t, err)
			require.Equal(t, vendor.Transferred, want, "the books paid what PayPal did")
		}
	}
}

// forintCapture is a 12,345 HUF capture of an order of the client's vendor and affiliate, of
// which PayPal kept 431 HUF.
func forintCapture(client, capture string) []byte {
	return paypalevent.Capture{EventID: "WH-CAP-" + capture, CaptureID: capture, InvoiceID: "order-" + capture,
		Currency: "huf", Amount: 1234500, Fee: 43100, Created: time.Now(), Metadata: map[string]string{
			"client_id": client, "vendor_id": client + "-vendor", "affiliate_id": client + "-aff", "subtotal": "1234500", "platform": "woocommerce"}}.Body()
}

// PayPal takes forints without decimals. A HUF capture's payees are paid whole forints, the
// platform's share making up their last forint, and the books agree with what PayPal paid.
func TestPayPalCaptureInForintsPaysWholeForints(t *testing.T) {
	s := newStack(t, payment.Settings{SettleWindow: 0})
	const client, capture = "pphuf", "CAPHUF"
	s.seedPayPal(client, "VENDORPAYER01")
	// 12,345 HUF: affiliate 5 % = 617.25, platform 10 % = 1,234.50, vendor 10,493.25; made whole,
	// the vendor gets 10,494 and the affiliate 618, from the platform's 1,233.
	body := forintCapture(client, capture)
	code, out := s.paypalWebhook(body, s.paypal.Sign(body))
	require.Equal(t, http.StatusOK, code, out)
	id := payment.WorkflowID("paypal", capture)
	rec := s.result(id)
	require.Equal(t, ipayment.StatusPaid, rec.Status, rec.Reason)

	byReceiver := map[string]string{}
	for _, p := range s.paypal.Payouts() {
		require.Equal(t, "HUF", p.Currency)
		byReceiver[p.Receiver] = p.Value
	}
	require.Equal(t, map[string]string{"VENDORPAYER01": "10494", "affiliate@example.com": "618"}, byReceiver)
	_, view := s.do(http.MethodGet, "/api/v1/admin/payments/"+id, nil, adminKey)
	require.EqualValues(t, 100, view["payout_unit"], "admins see why the shares are whole forints")
	require.Equal(t, map[string]int64{
		"vendor_payable:" + client + "-vendor": 0, "affiliate_payable:" + client + "-aff": 0, "platform:revenue": -123300,
		"processing_fees:paypal": 43100, "provider:paypal": 123300 - 43100,
	}, s.paymentBalances(id))
}

// A refund taken before a payee's PayPal payout keeps the payee's part in whole forints (the
// platform's part evens it out, code path 7), so the payout released after it is payable; on the
// path before, the vendor was left 9,643.94 HUF, which PayPal cannot pay.
func TestPayPalForintRefundBeforePayoutLeavesItPayable(t *testing.T) {
	s := newStack(t, payment.Settings{SettleWindow: 0})
	const client, capture = "pphufheld", "CAPHUFHELD"
	s.seedPayPal(client, "") // the vendor has no PayPal receiver yet: its leg is held
	body := forintCapture(client, capture)
	code, out := s.paypalWebhook(body, s.paypal.Sign(body))
	require.Equal(t, http.StatusOK, code, out)
	id := payment.WorkflowID("paypal", capture)
	s.awaitStatus(id, "held")

	// 1,000 HUF back: 99.88, 850.06 and 50.06 HUF in proportion; made whole, 98, 851 and 51.
	refund := paypalevent.Refund{EventID: "WH-REF-" + capture, RefundID: "REF-" + capture, CaptureID: capture,
		Currency: "huf", Amount: 100000, TotalRefunded: 100000, Created: time.Now()}.Body()
	code, out = s.paypalWebhook(refund, s.paypal.Sign(refund))
	require.Equal(t, http.StatusOK, code, out)
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		_, view := s.do(http.MethodGet, "/api/v1/admin/payments/"+id, nil, adminKey)
		assert.EqualValues(c, 100000, view["refunded"])
	}, 30*time.Second, 100*time.Millisecond)

	code, out = s.do(http.MethodPut, "/api/v1/admin/payees/"+client+"-vendor", map[string]any{"client_id": client, "kind": "vendor", "paypal_receiver": "VENDORPAYER01"}, adminKey)
	require.Equal(t, http.StatusOK, code, out)
	code, out = s.do(http.MethodPost, "/api/v1/admin/payments/"+id+"/release", map[string]any{"party": "vendor"}, adminKey)
	require.Equal(t, http.StatusAccepted, code, out)
	rec := s.result(id)
	require.Equal(t, ipayment.StatusPartiallyRefunded, rec.Status, rec.Reason)
	require.EqualValues(t, 100, rec.PayoutUnit)

	byReceiver := map[string]string{}
	for _, p := range s.paypal.Payouts() {
		byReceiver[p.Receiver] = p.Value
	}
	require.Equal(t, map[string]string{"VENDORPAYER01": "9643", "affiliate@example.com": "618"}, byReceiver,
		"the vendor's 10,494 less its 851 of the refund; the affiliate was paid before it")
	require.Equal(t, map[string]int64{
		"vendor_payable:" + client + "-vendor": 0, "affiliate_payable:" + client + "-aff": 5100, "platform:revenue": -(123300 - 9800),
		"processing_fees:paypal": 43100, "provider:paypal": 1234500 - 43100 - 100000 - 964300 - 61800,
	}, s.paymentBalances(id), "the affiliate owes back its 51 HUF of the refund, as any PayPal payee paid before one")
}

// TestPayPalMalformedBodyIsRefusedInEveryVerifyMode: a delivery whose body is not JSON is no
// PayPal event, however it is signed: 400 invalid_event (PayPal does not retry it) whether the
// signature is checked offline or by PayPal's verify-webhook-signature API, which is not asked.
// APIPayPalVerifier says such a body is unverified, not that PayPal is unavailable.
func TestPayPalMalformedBodyIsRefusedInEveryVerifyMode(t *testing.T) {
	pp := testenv.NewPayPal(t)
	api, err := activities.NewPayPalClient("id", "secret", pp.APIBase, pp.HTTPClient())
	require.NoError(t, err)
	verifiers := map[string]server.PayPalVerifier{
		"offline": server.OfflinePayPalVerifier{V: &paypalhook.Verifier{WebhookID: pp.WebhookID, Env: paypalhook.Sandbox, HTTP: pp.HTTPClient()}},
		"api":     server.APIPayPalVerifier{Client: api, WebhookID: pp.WebhookID},
	}
	for mode, v := range verifiers {
		a := newAPI(t, func(d *server.Deps) { d.PayPalVerifier = v })
		for _, body := range []string{`{"id":`, `not json`, `{"id":"WH-1"} trailing`, ``} {
			t.Run(mode+" "+body, func(t *testing.T) {
				code, out := postPayPal(t, a.url, []byte(body), pp.Sign([]byte(body)))
				require.Equal(t, http.StatusBadRequest, code, out)
				require.Equal(t, "invalid_event", out["error"].(map[string]any)["code"], out)
			})
		}
	}

	// PayPal unreachable: a malformed body is still unverified (never worth a retry); a well-formed
	// one is PayPal being unavailable.
	gone, err := activities.NewPayPalClient("id", "secret", "http://127.0.0.1:1", nil)
	require.NoError(t, err)
	v := server.APIPayPalVerifier{Client: gone, WebhookID: pp.WebhookID}
	err = v.Verify(t.Context(), pp.Sign([]byte(`{"id":`)), []byte(`{"id":`))
	require.ErrorIs(t, err, paypalhook.ErrUnverified)
	good := paypalCapture("acme", "CAPGONE")
	err = v.Verify(t.Context(), pp.Sign(good), good)
	require.Error(t, err)
	require.NotErrorIs(t, err, paypalhook.ErrUnverified)
	// A transmission older than the offline verifier takes is refused here too, before PayPal is asked.
	err = v.Verify(t.Context(), pp.SignAt(good, time.Now().Add(-paypalhook.MaxTransmissionAge-time.Hour)), good)
	require.ErrorIs(t, err, paypalhook.ErrUnverified)
}

// A correction's top-up is a PayPal payout of its own: reconciliation counts it with the first,
// as the books do, so a corrected payment paid in full shows no drift.
func TestPayPalReconciliationCountsTopUps(t *testing.T) {
	s := newStack(t, payment.Settings{SettleWindow: 0})
	id := s.paidPayPalUnderTaxRule("rctop", "CAPRCTOP")
	code, out := s.do(http.MethodPost, "/api/v1/admin/payments/"+id+"/correct", map[string]any{"rule_version": 1}, adminKey)
	require.Equal(t, http.StatusAccepted, code, out)
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		_, view := s.do(http.MethodGet, "/api/v1/admin/payments/"+id, nil, adminKey)
		assert.Equal(c, []any{float64(1)}, view["corrected_to"])
	}, 30*time.Second, 100*time.Millisecond)
	rec := s.result(id)
	require.Len(t, rec.Leg("vendor").TopUps, 1, "the vendor was topped up by a payout of its own")
	mine := func(p, payee string) bool { return p == id && payee == "rctop-vendor" }
	require.Empty(t, s.Reconcile("paypal", mine), "PayPal paid the vendor what the books say")
}

// answeringVerify answers PayPal's verify-webhook-signature with status; everything else goes on.
type answeringVerify struct {
	next   http.RoundTripper
	status int
}

func (a answeringVerify) RoundTrip(r *http.Request) (*http.Response, error) {
	if !strings.HasSuffix(r.URL.Path, "/v1/notifications/verify-webhook-signature") {
		return a.next.RoundTrip(r)
	}
	body := fmt.Sprintf(`{"name":"VALIDATION_ERROR","message":"answered %d","debug_id":"d1"}`, a.status)
	return &http.Response{StatusCode: a.status, Header: http.Header{"Content-Type": {"application/json"}},
		Body: io.NopCloser(strings.NewReader(body)), Request: r}, nil
}

// With PAYPAL_WEBHOOK_VERIFY=api, PayPal refusing to check a delivery (400, 422: what it carries
// is missing or malformed) leaves it unverified, a 400 to the sender; our credentials refused, a
// rate limit or PayPal down are PayPal being unavailable, a 503 the sender retries.
func TestPayPalAPIVerifierRefusalIsUnverified(t *testing.T) {
	pp := testenv.NewPayPal(t)
	good := paypalCapture("acme", "CAPVER")
	for _, tt := range []struct {
		status     int
		unverified bool
	}{
		{http.StatusBadRequest, true},
		{http.StatusUnprocessableEntity, true},
		{http.StatusUnauthorized, false},
		{http.StatusTooManyRequests, false},
		{http.StatusServiceUnavailable, false},
	} {
		t.Run(strconv.Itoa(tt.status), func(t *testing.T) {
			hc := pp.HTTPClient()
			hc.Transport = answeringVerify{next: hc.Transport, status: tt.status}
			c, err := activities.NewPayPalClient("id", "secret", pp.APIBase, hc)
			require.NoError(t, err)
			err = server.APIPayPalVerifier{Client: c, WebhookID: pp.WebhookID}.Verify(t.Context(), pp.Sign(good), good)
			require.Error(t, err)
			require.Equal(t, tt.unverified, errors.Is(err, paypalhook.ErrUnverified), "%v", err)
		})
	}
}

// postPayPal delivers body with the given transmission headers; the answer must match openapi.yaml.
func postPayPal(t *testing.T, baseURL string, body []byte, h http.Header) (int, map[string]any) {
	t.Helper()
	hr, err := http.NewRequest(http.MethodPost, baseURL+"/webhooks/paypal", bytes.NewReader(body))
	require.NoError(t, err)
	for k, vs := range h {
		hr.Header[k] = vs
	}
	hr.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(hr)
	require.NoError(t, err)
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	checkAgainstSpec(t, hr, res, raw)
	out := map[string]any{}
	require.NoError(t, json.Unmarshal(raw, &out), string(raw))
	return res.StatusCode, out
}

// PayPal signs transmission_id|time|webhook_id|CRC32(body): CRC32 is no MAC, so a body is bound
// to its signature by 32 linear bits only, which 4 chosen bytes match. The headers of one genuine
// delivery (a log, a proxy, a misrouted request) carried a forged 9,999.00 USD capture of another
// ID and were taken. The API now records each transmission ID with its body's SHA-256 and refuses
// the ID with another body, in either ack mode, ignored event types included (their headers could
// carry a capture as well), while PayPal's own retry of the same body is answered as before.
func TestPayPalTransmissionReplayedWithAnotherBodyIsRefused(t *testing.T) {
	n := time.Now().UnixNano() % 1e9
	for i, tt := range []struct {
		name           string
		ack            server.WebhookAck
		genuine        []byte
		first, retried string
	}{
		{"a capture, ack once stored", server.AckOnStore, paypalCapture("acme", fmt.Sprintf("CAPREAL%d", n)), "accepted", "duplicate"},
		// Ignored, the event never reaches Temporal (none runs here).
		{"an ignored event, ack once Temporal holds it", server.AckOnTemporal,
			paypalevent.Build(fmt.Sprintf("WH-SUB-%d", n), "BILLING.SUBSCRIPTION.CREATED", time.Now(), map[string]any{"id": "I-1"}), "ignored", "ignored"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			pp := testenv.NewPayPal(t)
			a := newAPI(t, func(d *server.Deps) {
				d.PayPalVerifier = server.OfflinePayPalVerifier{V: &paypalhook.Verifier{WebhookID: pp.WebhookID, Env: paypalhook.Sandbox, HTTP: pp.HTTPClient()}}
				// A queue of its own: another test's API in this database must not claim the
				// event from the inbox.
				d.WebhookAck, d.TaskQueue = tt.ack, uniqueID("q-replay")
			})
			h := pp.Sign(tt.genuine)
			code, out := postPayPal(t, a.url, tt.genuine, h)
			require.Equal(t, http.StatusOK, code, out)
			require.Equal(t, tt.first, out["status"])

			forgedID := fmt.Sprintf("CAPFORGED%d%d", n, i)
			forged := forgeCRC32(t, crc32.ChecksumIEEE(tt.genuine), func(nonce int, pad string) []byte {
				return paypalevent.Build(fmt.Sprintf("WH-FORGED-%d-%d-%d", n, i, nonce), "PAYMENT.CAPTURE.COMPLETED", time.Now(), map[string]any{
					"id": forgedID, "status": "COMPLETED", "amount": paypalevent.Amount(999900, "usd"),
					"custom_id": "client_id=acme&order_id=order-forged&vendor_id=acme-vendor", "note": pad,
				})
			})
			require.NotEqual(t, tt.genuine, forged)
			require.Equal(t, crc32.ChecksumIEEE(tt.genuine), crc32.ChecksumIEEE(forged), "the forged body passes PayPal's signature")
			code, out = postPayPal(t, a.url, forged, h)
			require.Equal(t, http.StatusBadRequest, code, "a forged capture was taken under a replayed transmission's headers: %v", out)
			require.Equal(t, "replayed_transmission", errCode(out))

			code, out = postPayPal(t, a.url, tt.genuine, h)
			require.Equal(t, http.StatusOK, code, "PayPal's retry of the genuine delivery: %v", out)
			require.Equal(t, tt.retried, out["status"])
			var held int
			require.NoError(t, a.pool.QueryRow(t.Context(), `SELECT count(*) FROM webhook_inbox WHERE provider = 'paypal' AND payment_id = $1`,
				forgedID).Scan(&held))
			require.Zero(t, held, "nothing of the forged capture was stored")
		})
	}
}

// PAYPAL-TRANSMISSION-TIME is checked: a delivery older than paypalhook.MaxTransmissionAge is
// refused as unverified. PayPal retries a delivery for 3 days and does not say whether a retry
// keeps the first attempt's transmission time, so the window covers them (a retry 3 days on is
// taken); within it, the transmission record above bounds what a replay can do.
func TestPayPalTransmissionOlderThanPayPalRetriesIsRefused(t *testing.T) {
	pp := testenv.NewPayPal(t)
	a := newAPI(t, func(d *server.Deps) {
		d.PayPalVerifier = server.OfflinePayPalVerifier{V: &paypalhook.Verifier{WebhookID: pp.WebhookID, Env: paypalhook.Sandbox, HTTP: pp.HTTPClient()}}
		d.WebhookAck, d.TaskQueue = server.AckOnStore, uniqueID("q-stale") // a queue no other test's API claims from
	})
	n := time.Now().UnixNano() % 1e9
	for i, tt := range []struct {
		name   string
		age    time.Duration
		status int
	}{
		{"PayPal's last retry, 3 days on", 72 * time.Hour, http.StatusOK},
		{"older than PayPal retries", paypalhook.MaxTransmissionAge + time.Hour, http.StatusBadRequest},
		{"from the future", -time.Hour, http.StatusBadRequest},
	} {
		t.Run(tt.name, func(t *testing.T) {
			body := paypalCapture("acme", fmt.Sprintf("CAPAGE%d%d", n, i))
			code, out := postPayPal(t, a.url, body, pp.SignAt(body, time.Now().Add(-tt.age)))
			require.Equal(t, tt.status, code, out)
			if tt.status == http.StatusBadRequest {
				require.Equal(t, "invalid_signature", errCode(out))
			}
		})
	}
}

// forgeCRC32 builds bodies with a 4-character pad until one, with the pad solved for, has the
// wanted CRC32 and a pad of printable JSON-safe characters.
func forgeCRC32(t *testing.T, want uint32, build func(nonce int, pad string) []byte) []byte {
	t.Helper()
	const marker = "QQQQ"
	for nonce := range 100000 {
		tmpl := build(nonce, marker)
		at := bytes.Index(tmpl, []byte(marker))
		require.GreaterOrEqual(t, at, 0)
		withPad := func(x uint32) []byte {
			b := bytes.Clone(tmpl)
			binary.LittleEndian.PutUint32(b[at:], x)
			return b
		}
		// CRC32 is affine in the message bits: crc(x) = crc(0) ^ L(x). Solve L(x) = want ^ crc(0).
		base := crc32.ChecksumIEEE(withPad(0))
		var cols [32]uint32
		for i := range 32 {
			cols[i] = crc32.ChecksumIEEE(withPad(1<<i)) ^ base
		}
		x, ok := solveGF2(cols, want^base)
		if !ok {
			continue
		}
		b := withPad(x)
		good := true
		for _, c := range b[at : at+4] {
			good = good && c >= 0x20 && c < 0x7f && c != '"' && c != '\\'
		}
		if good {
			require.Equal(t, want, crc32.ChecksumIEEE(b))
			return b
		}
	}
	t.Fatal("no forgery found")
	return nil
}

// solveGF2 finds x with XOR of cols[i] for every bit i set in x equal to target.
func solveGF2(cols [32]uint32, target uint32) (uint32, bool) {
	// Rows: equation per output bit r: sum_i bit_r(cols[i]) x_i = bit_r(target).
	var rows [32]uint64 // low 32 bits: coefficients, bit 32: right-hand side
	for r := range 32 {
		var row uint64
		for i := range 32 {
			if cols[i]>>r&1 == 1 {
				row |= 1 << i
			}
		}
		row |= uint64(target>>r&1) << 32
		rows[r] = row
	}
	for col := range 32 {
		pivot := -1
		for r := col; r < 32; r++ {
			if rows[r]>>col&1 == 1 {
				pivot = r
				break
			}
		}
		if pivot < 0 {
			return 0, false
		}
		rows[col], rows[pivot] = rows[pivot], rows[col]
		for r := range 32 {
			if r != col && rows[r]>>col&1 == 1 {
				rows[r] ^= rows[col]
			}
		}
	}
	var x uint32
	for i := range 32 {
		x |= uint32(rows[i]>>32&1) << i
	}
	return x, true
}

// PayPal's certificate host failing (its outage, its rate limit) is PayPal unavailable, not a
// forged delivery: 503 verification_unavailable, and the same delivery retried once the
// certificate is served again is taken. Before, it was 400 invalid_signature.
func TestPayPalCertificateHostDownIsUnavailable(t *testing.T) {
	pp := testenv.NewPayPal(t)
	a := newAPI(t, func(d *server.Deps) {
		d.PayPalVerifier = server.OfflinePayPalVerifier{V: &paypalhook.Verifier{WebhookID: pp.WebhookID, Env: paypalhook.Sandbox, HTTP: pp.HTTPClient()}}
		d.WebhookAck, d.TaskQueue = server.AckOnStore, uniqueID("q-certdown") // a queue no other test's API claims from
	})
	body := paypalCapture("acme", fmt.Sprintf("CAPCERT%d", time.Now().UnixNano()%1e9))
	h := pp.Sign(body)
	pp.FailCertificate(http.StatusServiceUnavailable)
	code, out := postPayPal(t, a.url, body, h)
	require.Equal(t, http.StatusServiceUnavailable, code, out)
	require.Equal(t, "verification_unavailable", errCode(out))
	pp.FailCertificate(0)
	code, out = postPayPal(t, a.url, body, h)
	require.Equal(t, http.StatusOK, code, out)
}

// PayPal's verify-webhook-signature checks the webhook_event it is sent against the signature of
// the delivery's exact bytes ("the actual JSON string is what is validated against",
// paypal/PayPal-Python-SDK#196). PayPal writes the custom_id's '&' as it is and may space its
// JSON; the client library re-encoded the event (json.Marshal compacts a RawMessage and escapes
// &, < and >), so in PAYPAL_WEBHOOK_VERIFY=api every such delivery, every capture carrying our
// URL-encoded custom_id among them, came back FAILURE and was refused as unverified.
func TestPayPalAPIVerifierSendsTheEventAsDelivered(t *testing.T) {
	pp := testenv.NewPayPal(t)
	c, err := activities.NewPayPalClient("id", "secret", pp.APIBase, pp.HTTPClient())
	require.NoError(t, err)
	v := server.APIPayPalVerifier{Client: c, WebhookID: pp.WebhookID}
	raw := paypalCapture("acme", "CAPAMP") // as PayPal writes it
	require.Contains(t, string(raw), "client_id=acme&")
	escaped := bytes.ReplaceAll(raw, []byte("&"), []byte(`\u0026`)) // as Go's json.Marshal writes it
	var spaced bytes.Buffer
	require.NoError(t, json.Indent(&spaced, raw, "", "  "))
	for name, body := range map[string][]byte{"escaped by Go": escaped, "a raw &": raw, "spaced, with a raw &": spaced.Bytes()} {
		t.Run(name, func(t *testing.T) {
			require.NoError(t, v.Verify(t.Context(), pp.Sign(body), body))
			tampered := bytes.Replace(body, []byte("acme"), []byte("acmf"), 1)
			require.ErrorIs(t, v.Verify(t.Context(), pp.Sign(body), tampered), paypalhook.ErrUnverified, "still checked")
		})
	}
}
