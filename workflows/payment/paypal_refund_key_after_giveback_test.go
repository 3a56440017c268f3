package payment

import "paysplit/internal/recon"

// A reversal given back brings the refunded amount down, as a failed refund does: a refund or a
// reversal after it can bring it back to a figure it had, and keyed by that figure alone its
// entry was the first one's (the ledger kept the first, the books short of the second) and its
// payees' reversals reused the first one's keys.
func (s *workflowSuite) TestPayPalRefundAfterAReversalGivenBackHasKeysOfItsOwn() {
	refund := Event{ID: "WH-F-1", Kind: EventRefund, RefundID: "RF-1", Amount: gross}
	tests := []struct {
		name string
		then []Event
	}{
		{"a second chargeback", []Event{ppOpened("PP-B"), ppReversed("REV2", gross)}},
		{"a refund", []Event{refund}},
	}
	for _, tt := range tests {
		s.Run(tt.name, func() {
			rec := s.ppEvents(append([]Event{ppOpened("PP-A"), ppReversed("REV1", gross), ppResolved("PP-A", paypalSellerFavour)}, tt.then...))
			s.EqualValues(gross, rec.Refunded) // and the books hold (checkBooks)
			s.Contains(s.w.transfers, wfID+"/refund-failed/REV1/vendor-v1")
			refunds := 0
			for key := range s.w.entries {
				if recon.RefundEntry(key) {
					refunds++
				}
			}
			s.Equal(3, refunds, "reconciliation reads the refund entries: the reversal, its giving back, what came after")
		})
	}
}
