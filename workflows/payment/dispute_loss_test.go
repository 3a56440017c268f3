package payment

import (
	"time"

	"paysplit/internal/ledger"
	"paysplit/internal/payment"
	"paysplit/internal/split"
)

// disputeLossKey is the idempotency key of dp_1's loss beyond refunds.
const disputeLossKey = wfID + "/dispute-loss/dp_1"

// lostDispute is Stripe's charge.dispute.closed of dp_1, lost, for amount.
func lostDispute(id string, amount int64) Event {
	return Event{ID: id, Kind: EventDisputeClosed, DisputeID: "dp_1", DisputeStatus: "lost", Amount: amount}
}

// checkDisputeLoss: the loss is booked in one entry of its own, the provider's balance down by it
// and the platform's dispute losses up, and the record says it.
func (s *workflowSuite) checkDisputeLoss(rec payment.Record, loss int64) {
	s.EqualValues(loss, rec.DisputeLossBeyondRefunds, "the record shows the loss")
	e, ok := s.w.entries[disputeLossKey]
	s.Require().True(ok, "an entry of the loss")
	s.ElementsMatch([]ledger.Posting{
		{Account: ledger.DisputeLosses("stripe"), Amount: loss},
		{Account: ledger.ProviderBalance("stripe"), Amount: -loss},
	}, e.Postings)
	s.EqualValues(loss, s.w.balance(ledger.DisputeLosses("stripe")), "booked once")
}

// A dispute lost on a payment refunded in full before: Stripe takes the disputed amount from the
// platform's balance all the same (code path 13). The payees gave their shares back with the
// refund, so nobody is charged again: the platform bears it, and the payment is refunded, not
// left disputed.
func (s *workflowSuite) TestLostDisputeAfterFullRefundIsThePlatformsLoss() {
	signalAt(s.env, time.Second, SignalEvent, captureEvent("evt_1", gross))
	signalAt(s.env, 10*time.Minute, SignalEvent, refundEvent("evt_r1", gross))
	signalAt(s.env, 20*time.Minute, SignalEvent, Event{ID: "evt_d1", Kind: EventDisputeCreated, DisputeID: "dp_1", Amount: gross})
	signalAt(s.env, 30*time.Minute, SignalEvent, lostDispute("evt_d2", gross))
	rec := s.run()

	s.Equal(payment.StatusRefunded, rec.Status)
	s.False(rec.Disputed, "the dispute is closed")
	s.EqualValues(gross, rec.Refunded, "what went back to the buyer as refunds, not counted twice")
	s.Zero(rec.DisputesLost, "the dispute took nothing the payment still had")
	s.checkDisputeLoss(rec, gross)
	s.Len(s.w.reversals, 2, "each payee's share was taken back once, with the refund")
	s.Zero(s.w.sent("acct_v1"))
	s.Zero(s.w.sent("acct_a1"))
	s.EqualValues(-gross, s.w.balance(ledger.ProviderBalance("stripe")), "Stripe took the gross back twice: once refunded, once disputed")
}

// A dispute of the whole gross lost after a partial refund: what the payment still had is taken
// from the legs as a refund is, and what the dispute took beyond it is the platform's loss.
func (s *workflowSuite) TestLostDisputeBeyondAPartialRefund() {
	signalAt(s.env, time.Second, SignalEvent, captureEvent("evt_1", gross))
	signalAt(s.env, 10*time.Minute, SignalEvent, refundEvent("evt_r1", 3000))
	signalAt(s.env, 30*time.Minute, SignalEvent, lostDispute("evt_d2", gross))
	rec := s.run()

	s.Equal(payment.StatusRefunded, rec.Status)
	s.False(rec.Disputed)
	s.EqualValues(gross, rec.Refunded, "the refund's 3000 and the 8000 the dispute had left to take")
	s.EqualValues(gross-3000, rec.DisputesLost)
	s.checkDisputeLoss(rec, 3000)
	s.EqualValues(-3000, s.w.balance(ledger.ProviderBalance("stripe")), "Stripe took the 3000 refunded again with the dispute")
	for _, l := range rec.Legs {
		s.Equal(l.Amount, l.Refunded, "%s: its whole share went back, no more", l.Party)
	}
	s.Zero(s.w.sent("acct_v1"))
	s.Zero(s.w.sent("acct_a1"))
}

// The dispute's close told twice (a re-sent webhook under another event ID, then the same event
// to a follow-up run of the stored payment) books its loss once.
func (s *workflowSuite) TestDisputeLossToldAgainIsBookedOnce() {
	signalAt(s.env, time.Second, SignalEvent, captureEvent("evt_1", gross))
	signalAt(s.env, 10*time.Minute, SignalEvent, refundEvent("evt_r1", gross))
	signalAt(s.env, 30*time.Minute, SignalEvent, lostDispute("evt_d2", gross))
	signalAt(s.env, 31*time.Minute, SignalEvent, lostDispute("evt_d2b", gross))
	first := s.run()
	s.checkDisputeLoss(first, gross)
	entries := len(s.w.entries)

	s.followUp(first)
	signalAt(s.env, time.Second, SignalEvent, lostDispute("evt_d2", gross))
	rec := s.run()

	s.Equal(payment.StatusRefunded, rec.Status)
	s.checkDisputeLoss(rec, gross)
	s.Len(s.w.entries, entries, "nothing booked again")
	s.Equal([]string{"dp_1"}, rec.LostDisputes)
}

// A run on code path 12 keeps its behaviour: the dispute closes, nothing is booked for it.
func (s *workflowSuite) TestDisputeLossNotBookedOnCodePath12() {
	signalAt(s.env, time.Second, SignalEvent, captureEvent("evt_1", gross))
	signalAt(s.env, 10*time.Minute, SignalEvent, refundEvent("evt_r1", gross))
	signalAt(s.env, 30*time.Minute, SignalEvent, lostDispute("evt_d2", gross))
	in := testInput()
	in.CodePath = codePathRecordUnits
	s.env.ExecuteWorkflow(Workflow, in)
	rec := result(s.T(), s.env)
	s.checkBooks(rec)

	s.Equal(payment.StatusRefunded, rec.Status)
	s.False(rec.Disputed)
	s.Zero(rec.DisputeLossBeyondRefunds)
	s.NotContains(s.w.entries, disputeLossKey)
	s.Zero(s.w.balance(ledger.DisputeLosses("stripe")))
	s.Equal(payment.LegReversed, legOf(s.T(), rec, split.PartyVendor).State)
}

// A partial refund and a lost dispute of the whole gross, told in either order: providers do not
// deliver in order, and the refund was made before the dispute whichever event comes first. The
// outcome is the same either way (code path 16): the refund's share taken from the legs, the rest
// by the dispute, and what the dispute took beyond it the platform's loss. Before, a refund told
// after the dispute found nothing left to take and was dropped: the loss was never booked (the
// books' provider balance stayed 3000 above Stripe's) and the refund was counted as the dispute's.
func (s *workflowSuite) TestRefundAndLostDisputeInEitherOrder() {
	for _, provider := range []string{"stripe", "paypal"} {
		refund := refundEvent("evt_r1", 3000)
		if provider == "paypal" {
			refund = Event{ID: "WH-REF", Kind: EventRefund, RefundID: "REF1", Amount: 3000, AmountRefunded: 3000}
		}
		for _, tt := range []struct {
			name         string
			first, later Event
		}{
			{"refund, then dispute", refund, lostDispute("evt_d2", gross)},
			{"dispute told first", lostDispute("evt_d2", gross), refund},
		} {
			s.Run(provider+": "+tt.name, func() {
				s.SetupTest()
				s.provider = provider
				signalAt(s.env, time.Second, SignalEvent, captureEvent("evt_1", gross))
				signalAt(s.env, 10*time.Minute, SignalEvent, tt.first)
				signalAt(s.env, 20*time.Minute, SignalEvent, tt.later)
				rec := s.runInDoubt()

				s.Equal(payment.StatusRefunded, rec.Status)
				s.EqualValues(gross, rec.Refunded)
				s.EqualValues(gross-3000, rec.DisputesLost, "the refund's 3000 was a refund, not the dispute's")
				s.EqualValues(3000, rec.DisputeLossBeyondRefunds)
				s.EqualValues(3000, s.w.balance(ledger.DisputeLosses(provider)), "the loss, booked once")
				s.EqualValues(-3000-rec.Fee, s.w.balance(ledger.ProviderBalance(provider)),
					"the provider gave back 3000 and then took the whole gross with the dispute")
				for _, l := range rec.Legs {
					s.Equal(l.Amount, l.Refunded, "%s: its whole share went back, no more", l.Party)
				}
			})
		}
	}
}
