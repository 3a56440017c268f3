package payment

import (
	"paysplit/internal/ledger"
	"paysplit/internal/split"
)

// What a reversal left of the payment and what it took beyond moves with events told after it
// (a refund made before it told later, a refund that failed, another reversal): given back, the
// reversal's whole amount comes back, first off the loss booked beyond refunds (as if it had
// never been taken), the rest to the legs. Split as it was when the reversal came, a part of the
// returned funds stayed booked as lost, or the payees got back what another reversal took.
func (s *workflowSuite) TestPayPalReversalGivenBackAsIfNeverTaken() {
	refund := Event{ID: "WH-REF", Kind: EventRefund, RefundID: "1Y107995YT783435V", Amount: 3000}
	failed := Event{ID: "WH-REF-F", Kind: EventRefundFailed, RefundID: "1Y107995YT783435V", Amount: 3000}
	tests := []struct {
		name              string
		events            []Event
		refunded, lost    int64 // what stands: refunds, and what disputes took from the legs
		lossBeyondRefunds int64
	}{
		{"refund made before told after the reversal", []Event{ppOpened("PP-A"), ppReversed("REV1", gross), refund, ppResolved("PP-A", paypalSellerFavour)}, 3000, 0, 0},
		{"refund failed after the reversal", []Event{refund, ppOpened("PP-A"), ppReversed("REV1", gross), failed, ppResolved("PP-A", paypalSellerFavour)}, 0, 0, 0},
		{"another reversal stands", []Event{ppOpened("PP-A"), ppReversed("REV1", gross), ppResolved("PP-A", paypalSellerFavour),
			ppOpened("PP-B"), ppReversed("REV2", 5000), ppResolved("PP-B", "resolved_buyer_favour")}, 5000, 5000, 0},
		{"another reversal, then the first one's dispute won", []Event{ppOpened("PP-A"), ppReversed("REV1", gross),
			ppOpened("PP-B"), ppResolved("PP-B", "resolved_buyer_favour"), ppReversed("REV2", 5000), ppResolved("PP-A", paypalSellerFavour)}, 5000, 5000, 0},
	}
	for _, tt := range tests {
		s.Run(tt.name, func() {
			rec := s.ppEvents(tt.events)
			s.EqualValues(tt.refunded, rec.Refunded, "refunded")
			s.EqualValues(tt.lost, rec.DisputesLost, "disputes lost")
			s.EqualValues(tt.lossBeyondRefunds, rec.DisputeLossBeyondRefunds, "loss beyond refunds")
			s.EqualValues(tt.lossBeyondRefunds, s.w.balance(ledger.DisputeLosses("paypal")), "dispute losses booked")
			for _, p := range []split.Party{split.PartyVendor, split.PartyAffiliate} {
				leg := legOf(s.T(), rec, p)
				s.Equal(leg.Amount-leg.Refunded, s.w.sentToPayee(leg.PayeeID), "%s: paid its share, once", p)
			}
		})
	}
}
