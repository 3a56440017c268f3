package payment

import (
	"time"

	"paysplit/internal/payment"
)

// disputeOpened is a dispute's created event.
func disputeOpened(id, dispute string) Event {
	return Event{ID: id, Kind: EventDisputeCreated, DisputeID: dispute, Amount: gross}
}

// A payment can have more than one dispute (Stripe, over time on one charge; PayPal, several
// cases on one capture). Closing one leaves the payment disputed while another is open (code path
// 16): before, any close cleared it, so the payment showed paid with a dispute open, and a
// correction, which moves money between the payees and is refused for a disputed payment, went
// through.
func (s *workflowSuite) TestOneOfTwoDisputesClosedLeavesThePaymentDisputed() {
	s.taxRules()
	signalAt(s.env, time.Second, SignalEvent, captureEvent("evt_1", gross))
	signalAt(s.env, 10*time.Minute, SignalEvent, disputeOpened("evt_d1", "dp_1"))
	signalAt(s.env, 20*time.Minute, SignalEvent, disputeOpened("evt_d2", "dp_2"))
	signalAt(s.env, 30*time.Minute, SignalEvent, Event{ID: "evt_d3", Kind: EventDisputeClosed, DisputeID: "dp_1", DisputeStatus: "won", Amount: gross})
	signalAt(s.env, 40*time.Minute, SignalEvent, correction("correction-v4", 4))
	signalAt(s.env, 50*time.Minute, SignalEvent, Event{ID: "evt_d4", Kind: EventDisputeClosed, DisputeID: "dp_2", DisputeStatus: "won", Amount: gross})
	rec := s.run()

	var between []payment.Status
	for _, saved := range s.w.saved {
		if len(saved.ClosedDisputes) == 1 {
			between = append(between, saved.Status)
			s.True(saved.Disputed, "dp_2 is still open")
		}
	}
	s.Require().NotEmpty(between, "saved with one dispute closed")
	for _, st := range between {
		s.Equal(payment.StatusDisputed, st, "dp_2 is still open")
	}
	s.Equal(3, rec.RuleVersion, "no correction while a dispute is open")
	s.NotContains(s.w.transfers, wfID+"/correction/v4/vendor-v1", "nothing moved for the correction")
	s.Equal(payment.StatusPaid, rec.Status, "both disputes won")
	s.False(rec.Disputed)
}
