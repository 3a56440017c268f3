package payment

import "paysplit/internal/payment"

// A dispute decided for the buyer and then, on the seller's appeal, for the seller is decided: its
// reversal was given back, and it can own no reversal told later. Still counted as decided for
// the buyer, it made the reversal of the next chargeback, the one dispute open when it came,
// unattributed, never given back when that chargeback was won: the platform kept funds PayPal
// had returned.
func (s *workflowSuite) TestPayPalDisputeWonOnAppealOwnsNoLaterReversal() {
	appealWon := ppResolved("PP-A", paypalSellerFavour)
	appealWon.ID = "WH-R-PP-A-appeal"
	rec := s.ppEvents([]Event{ppOpened("PP-A"), ppResolved("PP-A", "resolved_buyer_favour"), ppReversed("REV1", gross), appealWon,
		ppOpened("PP-B"), ppReversed("REV2", gross), ppResolved("PP-B", paypalSellerFavour)})
	s.Zero(rec.DisputesLost, "both reversals' funds were returned")
	s.Equal(payment.StatusPaid, rec.Status)
	s.Contains(s.w.transfers, wfID+"/refund-failed/REV1/vendor-v1")
	s.Contains(s.w.transfers, wfID+"/refund-failed/REV2/vendor-v1")
}
