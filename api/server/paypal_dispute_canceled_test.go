package server_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	ipayment "paysplit/internal/payment"
	"paysplit/internal/paypalevent"
	"paysplit/workflows/payment"
)

// A chargeback the buyer cancels, through the webhook: PayPal takes the funds with the reversal
// and returns them when the buyer withdraws the claim, which only the dispute's
// CUSTOMER.DISPUTE.RESOLVED says (outcome CANCELED_BY_BUYER). From code path 27 it ends as a win
// does: the payment paid, its payees paid their shares again once, PayPal's balance in the books
// what it was before the chargeback, however often each event is delivered and whichever of the
// reversal and the dispute's opening is told first.
func TestPayPalChargebackCanceledByTheBuyerGivesTheFundsBack(t *testing.T) {
	s := newStack(t, payment.Settings{SettleWindow: 0})
	id, before, deliver := s.paidPayPalCapture("ppcancel", "VENDORCXL1234", "CAPCXL1")
	reversed := paypalevent.Reversal{EventID: "WH-CXL-REV", ReversalID: "REV-CAPCXL1", CaptureID: "CAPCXL1",
		Currency: "usd", Amount: 11000, Created: time.Now()}.Body()
	opened := paypalevent.Dispute{EventID: "WH-CXL-1", Type: "CUSTOMER.DISPUTE.CREATED", DisputeID: "PP-D-CXL", CaptureID: "CAPCXL1",
		Currency: "usd", Amount: 11000, Created: time.Now()}.Body()
	canceled := paypalevent.Dispute{EventID: "WH-CXL-2", Type: "CUSTOMER.DISPUTE.RESOLVED", DisputeID: "PP-D-CXL", CaptureID: "CAPCXL1",
		Currency: "usd", Amount: 11000, Outcome: "CANCELED_BY_BUYER", Created: time.Now()}.Body()
	rec := deliver(reversed) // the chargeback's reversal before its dispute is told
	require.EqualValues(t, 11000, rec.Refunded, "the chargeback took it all")
	rec = deliver(opened)
	require.Equal(t, ipayment.StatusDisputed, rec.Status, "its dispute open")
	rec = deliver(canceled)
	// The run that gave it back (code path 27), for the replay tests; then both told again.
	s.record("paypal_dispute_canceled_by_buyer.json", s.history(id))
	for _, b := range [][]byte{reversed, canceled} {
		rec = deliver(b)
	}
	require.Equal(t, payment.CurrentCodePath, rec.CodePath)
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
