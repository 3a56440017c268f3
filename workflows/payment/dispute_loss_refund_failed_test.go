package payment

import (
	"time"

	"paysplit/internal/ledger"
	"paysplit/internal/split"
)

// A refund of 3000, then a dispute of the whole gross lost (the 3000 beyond what the payment had
// left is booked as the platform's loss, code path 13), then the refund is told failed: the 3000
// came back to the platform's Stripe balance and the buyer got the whole gross through the
// dispute alone. The payment had the gross left for the dispute after all, so the payees' shares
// went with it: nothing is owed to them, and the platform lost nothing beyond refunds (before,
// the 3000 stayed the platform's loss and the payees were paid their shares of it again).
func (s *workflowSuite) TestRefundFailedAfterDisputeLossMovesTheLossToTheLegs() {
	signalAt(s.env, time.Second, SignalEvent, captureEvent("evt_1", gross))
	signalAt(s.env, 10*time.Minute, SignalEvent, refundAt("evt_r1", 3000, 10))
	signalAt(s.env, 30*time.Minute, SignalEvent, lostDispute("evt_d2", gross))
	signalAt(s.env, 40*time.Minute, SignalEvent, refundFailedAt("evt_f1", "re_1", 3000, 40))
	rec := s.run()

	s.NotContains(s.w.transfers, wfID+"/refund-failed/re_1/vendor-v1", "the vendor is paid again for a sale the buyer took back in full")
	for _, p := range []split.Party{split.PartyVendor, split.PartyAffiliate} {
		leg := legOf(s.T(), rec, p)
		s.Equal(leg.Amount, leg.Refunded, "%s: the dispute took its whole share", p)
	}
	s.Zero(s.w.balance(ledger.DisputeLosses("stripe")), "no loss beyond refunds: no refund stands")
	s.Zero(rec.DisputeLossBeyondRefunds)
}

// Two refunds (3,000 and 2,000), then a dispute of the whole gross lost: 5,000 taken beyond what
// was left. The 3,000 refund fails: 3,000 of that loss was the payees' shares after all; the
// other refund's 2,000 stays the platform's loss, and nobody is paid again.
func (s *workflowSuite) TestRefundFailedAfterDisputeLossLeavesTheRestOfTheLoss() {
	signalAt(s.env, time.Second, SignalEvent, captureEvent("evt_1", gross))
	signalAt(s.env, 10*time.Minute, SignalEvent, refundAt("evt_r1", 3000, 10))
	signalAt(s.env, 15*time.Minute, SignalEvent, refundAt("evt_r2", 5000, 15))
	signalAt(s.env, 30*time.Minute, SignalEvent, lostDispute("evt_d2", gross))
	signalAt(s.env, 40*time.Minute, SignalEvent, refundFailedAt("evt_f1", "re_1", 3000, 40))
	rec := s.run()

	for k := range s.w.transfers {
		s.NotContains(k, "/refund-failed/", "nobody is paid again: %s", k)
	}
	for _, p := range []split.Party{split.PartyVendor, split.PartyAffiliate} {
		leg := legOf(s.T(), rec, p)
		s.Equal(leg.Amount, leg.Refunded, "%s: the dispute took its whole share", p)
	}
	s.EqualValues(2000, s.w.balance(ledger.DisputeLosses("stripe")), "the standing refund's 2,000 stays the platform's loss")
	s.EqualValues(2000, rec.DisputeLossBeyondRefunds)
	s.EqualValues(gross-2000, rec.DisputesLost, "what the dispute took: all but the standing refund")
}
