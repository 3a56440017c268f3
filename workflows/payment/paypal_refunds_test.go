package payment

import (
	"time"

	"paysplit/internal/payment"
)

// PayPal's total_refunded_amount counts reversals: in PayPal's documented PAYMENT.CAPTURE.REVERSED
// sample the reversal is a refund resource whose seller_payable_breakdown.total_refunded_amount is
// the reversal's own amount (2.51 of 2.51; developer.paypal.com/api/rest/webhooks/event-names/,
// reproduced verbatim in zencart's PayPal REST module, PayPalRestful/Webhooks/Events/
// PaymentCaptureReversed.php), "the total amount refunded from the original capture to date".
// A capture of 110.00, a reversal of 30.00 (total 30.00) and a seller's refund of 20.00 (total
// 50.00): 50.00 left the capture, not 80.00, in whichever order the two are told (code path 13).
func (s *workflowSuite) TestPayPalRefundAfterReversalCountsTheReversalOnce() {
	reversal := Event{ID: "WH-REV", Kind: EventDisputeClosed, DisputeID: "09E71677NS257044M", DisputeStatus: "lost", Amount: 3000}
	refund := Event{ID: "WH-REF", Kind: EventRefund, RefundID: "1Y107995YT783435V", Amount: 2000, AmountRefunded: 5000}
	tests := []struct {
		name         string
		first, later Event
	}{
		{"reversal, then refund", reversal, refund},
		{"refund told first", refund, reversal},
	}
	for _, tt := range tests {
		s.Run(tt.name, func() {
			s.SetupTest()
			s.provider = "paypal"
			signalAt(s.env, time.Second, SignalEvent, captureEvent("evt_1", gross))
			signalAt(s.env, 10*time.Minute, SignalEvent, tt.first)
			signalAt(s.env, 20*time.Minute, SignalEvent, tt.later)
			rec := s.runInDoubt()

			s.EqualValues(3000, rec.DisputesLost)
			s.EqualValues(5000, rec.Refunded, "PayPal gave back 30.00 + 20.00; its 50.00 already holds the reversal")
			s.Equal(payment.StatusPartiallyRefunded, rec.Status)
		})
	}
}
