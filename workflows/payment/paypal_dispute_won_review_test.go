package payment

import (
	"time"

	"paysplit/internal/payment"
	"paysplit/internal/split"
)

// ppEvents runs a PayPal payment captured for gross through events a minute apart, ten minutes
// after the capture, to its end.
func (s *workflowSuite) ppEvents(events []Event) payment.Record {
	s.SetupTest()
	s.provider = "paypal"
	signalAt(s.env, time.Second, SignalEvent, captureEvent("evt_1", gross))
	for i, e := range events {
		signalAt(s.env, 10*time.Minute+time.Duration(i+1)*time.Minute, SignalEvent, e)
	}
	return s.run()
}

func ppOpened(dispute string) Event {
	return Event{ID: "WH-C-" + dispute, Kind: EventDisputeCreated, DisputeID: dispute, Amount: gross}
}

func ppResolved(dispute, outcome string) Event {
	return Event{ID: "WH-R-" + dispute, Kind: EventDisputeClosed, DisputeID: dispute, DisputeStatus: outcome, Amount: gross}
}

func ppReversed(reversal string, amount int64) Event {
	return Event{ID: "WH-V-" + reversal, Kind: EventDisputeClosed, DisputeID: reversal, DisputeStatus: "lost", Amount: amount}
}

// A PayPal reversal names no dispute: one that came while several disputes were open, or after
// a dispute had already been closed, cannot be told to be the one a dispute won was about. PayPal
// returns a reversal's funds only when its own dispute is won: given back on another's win (an
// inquiry resolved before any money moved), the payees were paid again with money the platform
// never got back.
func (s *workflowSuite) TestPayPalDisputeWonGivesBackNoReversalOfAnother() {
	tests := []struct {
		name   string
		events []Event
	}{
		{"reversed while two were open, the other won", []Event{ppOpened("PP-A"), ppOpened("PP-B"), ppReversed("REV1", gross), ppResolved("PP-B", paypalSellerFavour)}},
		{"reversal told after its dispute was lost, another won later", []Event{ppOpened("PP-A"), ppResolved("PP-A", "resolved_buyer_favour"), ppReversed("REV1", gross),
			ppOpened("PP-B"), ppResolved("PP-B", paypalSellerFavour)}},
	}
	for _, tt := range tests {
		s.Run(tt.name, func() {
			rec := s.ppEvents(tt.events)
			s.EqualValues(gross, rec.DisputesLost, "the reversal stands: its funds were not returned")
			s.NotContains(s.w.transfers, wfID+"/refund-failed/REV1/vendor-v1")
			for _, p := range []split.Party{split.PartyVendor, split.PartyAffiliate} {
				leg := legOf(s.T(), rec, p)
				s.Zero(s.w.sentToPayee(leg.PayeeID), "%s: not paid again", p)
			}
		})
	}
}

// A dispute closed without money moving (cancelled by the buyer, an inquiry closed) can have no
// reversal told after it: a reversal that comes while one other dispute is open is that one's,
// and given back when it is won.
func (s *workflowSuite) TestPayPalReversalOfTheOneDisputeThatCouldHaveTakenIt() {
	rec := s.ppEvents([]Event{ppOpened("PP-A"), ppResolved("PP-A", "canceled_by_buyer"), ppOpened("PP-B"), ppReversed("REV1", gross),
		ppResolved("PP-B", paypalSellerFavour)})
	s.Zero(rec.DisputesLost)
	s.Equal(payment.StatusPaid, rec.Status)
	s.Contains(s.w.transfers, wfID+"/refund-failed/REV1/vendor-v1")
}
