package payment

import "paysplit/internal/split"

// A claim the seller accepted (outcome ACCEPTED) is closed in the buyer's favour as surely as one
// PayPal decided for the buyer: its funds go, the reversal told after it closed. Left to the next
// dispute heard of, that dispute's win gave the payees the accepted claim's money again, funds
// PayPal never returned.
func (s *workflowSuite) TestPayPalReversalOfAnAcceptedClaimStands() {
	rec := s.ppEvents([]Event{ppOpened("PP-A"), ppResolved("PP-A", "accepted"), ppReversed("REV1", gross),
		ppOpened("PP-B"), ppResolved("PP-B", paypalSellerFavour)})
	s.EqualValues(gross, rec.DisputesLost, "the accepted claim's reversal stands: its funds were not returned")
	s.NotContains(s.w.transfers, wfID+"/refund-failed/REV1/vendor-v1")
	for _, p := range []split.Party{split.PartyVendor, split.PartyAffiliate} {
		s.Zero(s.w.sentToPayee(legOf(s.T(), rec, p).PayeeID), "%s: not paid again", p)
	}
}
