package server_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	ipayment "paysplit/internal/payment"
	"paysplit/internal/paypalevent"
	"paysplit/workflows/payment"
)

// A PayPal case can cover several of the buyer's payments: its disputed_transactions lists each
// with its seller_transaction_id and gross_amount (developer.paypal.com/api/customer-disputes/v1/
// disputes-get). Each capture's payment is disputed, and closed, by it, each under an event ID of
// its own (delivered again, the event is a duplicate for every one), each with its own
// transaction's gross. Only the first transaction's payment heard of it before: the others
// showed paid with a case open on them.
func TestPayPalDisputeOfSeveralTransactionsReachesEachPayment(t *testing.T) {
	s := newStack(t, payment.Settings{SettleWindow: 0})
	s.seedPayPal("ppmulti", "VENDORMULTI12")
	captures := []string{"CAPMULTI1", "CAPMULTI2"}
	for _, c := range captures {
		body := paypalCapture("ppmulti", c)
		code, out := s.paypalWebhook(body, s.paypal.Sign(body))
		require.Equal(t, http.StatusOK, code, out)
		require.Equal(t, ipayment.StatusPaid, s.result(payment.WorkflowID("paypal", c)).Status)
	}
	dispute := func(eventID, typ, outcome string) []byte {
		return paypalevent.Dispute{EventID: eventID, Type: typ, DisputeID: "PP-D-MULTI", Outcome: outcome,
			Currency: "usd", Amount: 15000, Created: time.Now(), Transactions: []paypalevent.Disputed{
				{CaptureID: "CAPMULTI1", Gross: 11000, Currency: "usd"}, {CaptureID: "CAPMULTI2", Gross: 11000, Currency: "usd"}}}.Body()
	}
	opened := dispute("WH-MULTI-1", "CUSTOMER.DISPUTE.CREATED", "")
	for range 2 { // delivered again: taken once by each payment
		code, out := s.paypalWebhook(opened, s.paypal.Sign(opened))
		require.Equal(t, http.StatusOK, code, out)
	}
	for _, c := range captures {
		rec := s.result(payment.WorkflowID("paypal", c))
		assert.True(t, rec.Disputed, "%s is disputed", c)
		assert.Equal(t, ipayment.StatusDisputed, rec.Status, c)
		assert.Equal(t, []string{"PP-D-MULTI"}, rec.OpenDisputes, c)
	}

	resolved := dispute("WH-MULTI-2", "CUSTOMER.DISPUTE.RESOLVED", "RESOLVED_SELLER_FAVOUR")
	code, out := s.paypalWebhook(resolved, s.paypal.Sign(resolved))
	require.Equal(t, http.StatusOK, code, out)
	for _, c := range captures {
		rec := s.result(payment.WorkflowID("paypal", c))
		assert.False(t, rec.Disputed, "%s closed", c)
		assert.Equal(t, ipayment.StatusPaid, rec.Status, c)
		assert.Equal(t, []string{"PP-D-MULTI"}, rec.ClosedDisputes, c)
	}
}
