package server_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	ipayment "paysplit/internal/payment"
	"paysplit/internal/paypalevent"
	"paysplit/workflows/payment"
)

// A chargeback the seller wins, through the webhook: PayPal takes the funds with the reversal and
// gives them back when it resolves the dispute RESOLVED_SELLER_FAVOUR. The payment ends paid, its
// payees paid their shares again once, and PayPal's balance in the books is what it was before
// the chargeback, however often each event is delivered.
func TestPayPalChargebackWonGivesTheFundsBack(t *testing.T) {
	s := newStack(t, payment.Settings{SettleWindow: 0})
	id, before, deliver := s.paidPayPalCapture("ppwon", "VENDORWON1234", "CAPWON1")
	opened := paypalevent.Dispute{EventID: "WH-WON-1", Type: "CUSTOMER.DISPUTE.CREATED", DisputeID: "PP-D-WON", CaptureID: "CAPWON1",
		Currency: "usd", Amount: 11000, Created: time.Now()}.Body()
	reversed := paypalevent.Reversal{EventID: "WH-WON-REV", ReversalID: "REV-CAPWON1", CaptureID: "CAPWON1",
		Currency: "usd", Amount: 11000, Created: time.Now()}.Body()
	won := paypalevent.Dispute{EventID: "WH-WON-2", Type: "CUSTOMER.DISPUTE.RESOLVED", DisputeID: "PP-D-WON", CaptureID: "CAPWON1",
		Currency: "usd", Amount: 11000, Outcome: "RESOLVED_SELLER_FAVOUR", Created: time.Now()}.Body()
	deliver(opened)
	rec := deliver(reversed)
	require.EqualValues(t, 11000, rec.Refunded, "the chargeback took it all")
	require.Equal(t, ipayment.StatusDisputed, rec.Status, "its dispute still open")
	for _, b := range [][]byte{won, reversed, won} {
		rec = deliver(b)
	}
	require.Equal(t, ipayment.StatusPaid, rec.Status)
	require.Zero(t, rec.Refunded)
	require.Zero(t, rec.DisputesLost)
	require.False(t, rec.Disputed)
	for _, l := range rec.Legs {
		require.Zero(t, l.Refunded, "%s", l.Party)
	}
	require.Equal(t, before, s.paymentBalances(id)["provider:paypal"], "the funds are back and the payees paid again, once")
	s.requireBooksBalanced()
}

// paidPayPalCapture seeds a PayPal client and its vendor, delivers the capture and waits for it
// paid; it returns the payment's workflow ID, PayPal's balance in its books then, and deliver,
// which delivers a signed event (200 required) and returns the payment's record after it.
func (s *stack) paidPayPalCapture(client, payee, capture string) (id string, before int64, deliver func([]byte) ipayment.Record) {
	t := s.t
	t.Helper()
	s.seedPayPal(client, payee)
	body := paypalCapture(client, capture)
	code, out := s.paypalWebhook(body, s.paypal.Sign(body))
	require.Equal(t, http.StatusOK, code, out)
	id = payment.WorkflowID("paypal", capture)
	require.Equal(t, ipayment.StatusPaid, s.result(id).Status)
	deliver = func(body []byte) ipayment.Record {
		t.Helper()
		code, out := s.paypalWebhook(body, s.paypal.Sign(body))
		require.Equal(t, http.StatusOK, code, out)
		return s.result(id)
	}
	return id, s.paymentBalances(id)["provider:paypal"], deliver
}
