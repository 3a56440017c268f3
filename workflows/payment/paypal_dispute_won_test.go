package payment

import (
	"time"

	"paysplit/internal/ledger"
	"paysplit/internal/payment"
	"paysplit/internal/recon"
	"paysplit/internal/split"
)

// A PayPal chargeback takes the funds at once (PAYMENT.CAPTURE.REVERSED, booked as a lost
// dispute); when the seller wins it PayPal gives them back, and says so only with the dispute's
// CUSTOMER.DISPUTE.RESOLVED, outcome RESOLVED_SELLER_FAVOUR: REST's capture events are COMPLETED,
// DECLINED, PENDING, REFUNDED and REVERSED, none for a reversal undone
// (docs.paypal.ai/reference/webhook-events/payments-v2), where PayPal's classic status
// Canceled_Reversal reads "you won a dispute with the customer, and the funds for the transaction
// that was reversed have been returned to you". As with Stripe's won dispute, nothing stays lost:
// the payees get their shares again, once, and a loss booked beyond refunds is taken back.
func (s *workflowSuite) TestPayPalChargebackWonAfterItsReversalGivesTheFundsBack() {
	opened := Event{ID: "WH-D1", Kind: EventDisputeCreated, DisputeID: "PP-D-1", Amount: gross}
	reversal := Event{ID: "WH-REV", Kind: EventDisputeClosed, DisputeID: "09E71677NS257044M", DisputeStatus: "lost", Amount: gross}
	won := Event{ID: "WH-D1-RES", Kind: EventDisputeClosed, DisputeID: "PP-D-1", DisputeStatus: "resolved_seller_favour", Amount: gross}
	tests := []struct {
		name   string
		events []Event
		// refunded before the chargeback: what the reversal took beyond it is the platform's loss
		refund int64
	}{
		{"opened, reversed, won", []Event{opened, reversal, won}, 0},
		{"reversed before the dispute was told, won", []Event{reversal, opened, won}, 0},
		{"won told twice", []Event{opened, reversal, won, won}, 0},
		{"partly refunded first", []Event{opened, reversal, won}, 3000},
	}
	for _, tt := range tests {
		s.Run(tt.name, func() {
			s.SetupTest()
			s.provider = "paypal"
			signalAt(s.env, time.Second, SignalEvent, captureEvent("evt_1", gross))
			at := 10 * time.Minute
			if tt.refund > 0 {
				signalAt(s.env, at, SignalEvent, Event{ID: "WH-REF", Kind: EventRefund, RefundID: "1Y107995YT783435V", Amount: tt.refund})
			}
			for i, e := range tt.events {
				signalAt(s.env, at+time.Duration(i+1)*time.Minute, SignalEvent, e)
			}
			rec := s.run()

			s.Zero(rec.DisputesLost, "the chargeback's funds came back")
			s.EqualValues(tt.refund, rec.Refunded, "only the seller's refund stands")
			s.Zero(rec.DisputeLossBeyondRefunds)
			s.Zero(s.w.balance(ledger.DisputeLosses("paypal")))
			s.False(rec.Disputed)
			want := payment.StatusPaid
			if tt.refund > 0 {
				want = payment.StatusPartiallyRefunded
			}
			s.Equal(want, rec.Status)
			for _, p := range []split.Party{split.PartyVendor, split.PartyAffiliate} {
				leg := legOf(s.T(), rec, p)
				s.Equal(leg.Amount-leg.Refunded, s.w.sentToPayee(leg.PayeeID), "%s: paid its share again, once", p)
			}
			// Keyed as the reversal's refund undone, which reconciliation counts with the payouts.
			topUp := wfID + "/refund-failed/09E71677NS257044M/vendor-v1"
			s.Contains(s.w.transfers, topUp)
			_, payee, ok := recon.PayoutEntry(topUp)
			s.True(ok && payee == "v1", "reconciliation reads %s as a payout to v1", topUp)
			if tt.refund > 0 {
				s.Contains(s.w.entries, wfID+"/dispute-loss-back/09E71677NS257044M", "the loss beyond refunds taken back")
			}
		})
	}
}
