package payment

import (
	"fmt"
	"time"

	"paysplit/activities"
	"paysplit/internal/money"
	"paysplit/internal/payment"
	"paysplit/internal/split"
)

// auditEvent is one event of a money-after-capture scenario, told at its minute after the capture.
type auditEvent struct {
	at time.Duration
	ev Event
}

// The money rules after a capture, held on every path a refund or a dispute takes: each payee leg
// holds its share of what is left (transferred − reversed = amount − refunded, to the minor unit),
// the legs' refunds together are the payment's refunded amount and each leg's is its
// largest-remainder share of it (within a unit per leg beyond two), the books (payables, platform
// revenue, fees, provider balance, dispute losses) end where checkBooks says, and no key moved
// two amounts (the world refuses that). In JPY (exponent 0), USD (2) and KWD (3), with a rule
// that takes commission on tax and shipping, an affiliate, and rounding leftovers.
func (s *workflowSuite) TestMoneyAfterCaptureHoldsItsRules() {
	refund := func(id string, cumulative int64) Event {
		return Event{ID: id, Kind: EventRefund, ChargeID: "ch_1", AmountRefunded: cumulative}
	}
	lost := func(id string, amount int64) Event {
		return Event{ID: id, Kind: EventDisputeClosed, DisputeID: "dp_" + id, DisputeStatus: "lost", Amount: amount}
	}
	opened := func(id string) Event { return Event{ID: id + "o", Kind: EventDisputeCreated, DisputeID: "dp_" + id} }
	won := func(id string) Event {
		return Event{ID: id, Kind: EventDisputeClosed, DisputeID: "dp_" + id, DisputeStatus: "won"}
	}
	failed := func(id, refundID string, amount int64) Event {
		return Event{ID: id, Kind: EventRefundFailed, RefundID: refundID, Amount: amount,
			RefundMade: time.Date(2026, 11, 20, 12, 1, 0, 0, time.UTC), OccurredAt: time.Date(2026, 11, 20, 12, 30, 0, 0, time.UTC)}
	}
	scenarios := []struct {
		name     string
		events   []auditEvent
		held     string // a payee whose account cannot receive at first, released at 40 minutes
		refunded int64
		status   payment.Status
	}{
		{name: "one partial refund", events: []auditEvent{{2, refund("r1", 1001)}}, refunded: 1001, status: payment.StatusPartiallyRefunded},
		{name: "several partial refunds then the rest", events: []auditEvent{
			{2, refund("r1", 333)}, {3, refund("r2", 777)}, {4, refund("r3", 4999)}, {5, refund("r4", gross)},
		}, refunded: gross, status: payment.StatusRefunded},
		{name: "several refunds told out of order and twice", events: []auditEvent{
			{2, refund("r2", 2777)}, {3, refund("r1", 777)}, {4, refund("r2", 2777)}, {5, refund("r3", 2778)},
		}, refunded: 2778, status: payment.StatusPartiallyRefunded},
		{name: "a figure above the payment", events: []auditEvent{{2, refund("r1", 999)}, {3, refund("r2", gross+500)}},
			refunded: gross, status: payment.StatusRefunded},
		{name: "a refund before the capture", events: []auditEvent{{-1, refund("r1", 4321)}}, refunded: 4321, status: payment.StatusPartiallyRefunded},
		{name: "a full refund before the capture", events: []auditEvent{{-1, refund("r1", gross)}}, refunded: gross, status: payment.StatusRefunded},
		{name: "a partial refund while the vendor is held", held: "v1", events: []auditEvent{{2, refund("r1", 1234)}, {3, refund("r2", 2345)}},
			refunded: 2345, status: payment.StatusPartiallyRefunded},
		{name: "a full refund while the affiliate is held", held: "a1", events: []auditEvent{{2, refund("r1", gross)}},
			refunded: gross, status: payment.StatusRefunded},
		{name: "a dispute lost after a partial refund", events: []auditEvent{{2, refund("r1", 2000)}, {3, opened("d1")}, {4, lost("d1", gross)}},
			refunded: gross, status: payment.StatusRefunded},
		{name: "a partial dispute lost, then a refund", events: []auditEvent{{2, opened("d1")}, {3, lost("d1", 3333)}, {4, refund("r1", 1111)}},
			refunded: 4444, status: payment.StatusPartiallyRefunded},
		{name: "a dispute won", events: []auditEvent{{2, opened("d1")}, {3, won("d1")}, {4, refund("r1", 10)}},
			refunded: 10, status: payment.StatusPartiallyRefunded},
		{name: "a refund failed after a later one", events: []auditEvent{
			{2, Event{ID: "r1", Kind: EventRefund, ChargeID: "ch_1", RefundID: "re_1", AmountRefunded: 3001, OccurredAt: time.Date(2026, 11, 20, 12, 1, 0, 0, time.UTC)}},
			{3, Event{ID: "r2", Kind: EventRefund, ChargeID: "ch_1", RefundID: "re_2", AmountRefunded: 5002, OccurredAt: time.Date(2026, 11, 20, 12, 2, 0, 0, time.UTC)}},
			{4, failed("f1", "re_1", 3001)},
			{5, Event{ID: "r3", Kind: EventRefund, ChargeID: "ch_1", RefundID: "re_3", AmountRefunded: 2002 + 999, OccurredAt: time.Date(2026, 11, 20, 12, 40, 0, 0, time.UTC)}},
		}, refunded: 2002 + 999, status: payment.StatusPartiallyRefunded},
	}
	rules := []struct {
		name string
		rule split.Rule
	}{
		{"commission on tax and shipping, an affiliate", split.Rule{ClientID: "acme", Version: 3, PlatformBps: 1333, AffiliateBps: 777, CommissionOnTax: true, CommissionOnShipping: true}},
		{"no affiliate share", split.Rule{ClientID: "acme", Version: 3, PlatformBps: 1111}},
	}
	for _, cur := range []money.Currency{money.JPY, money.USD, money.KWD} {
		for _, rl := range rules {
			for _, vendors := range []int{1, 3} {
				for _, sc := range scenarios {
					s.Run(fmt.Sprintf("%s/%s/%d vendors/%s", cur, rl.name, vendors, sc.name), func() {
						s.auditScenario(cur, rl.rule, vendors, sc.events, sc.held, sc.refunded, sc.status)
					})
				}
			}
		}
	}
}

// auditScenario runs one payment of gross in cur split by rule among vendors (one: v1; three: v1,
// v2 and v3 on lines of their own) and the affiliate a1, tells it the events, and checks its
// money rules.
func (s *workflowSuite) auditScenario(cur money.Currency, rule split.Rule, vendors int, events []auditEvent, held string, refunded int64, status payment.Status) {
	s.SetupTest()
	s.w.rules[3] = rule
	if vendors > 1 {
		s.w.enrich = func(activities.EnrichInput) activities.EnrichOutput {
			return activities.EnrichOutput{Order: payment.Order{ClientID: "acme", OrderID: "o-3", AffiliateID: "a1", Platform: "shopify",
				Subtotal: 10000, Tax: 800, Shipping: 500, Discount: 300, Lines: []payment.OrderLine{
					{VendorID: "v1", Subtotal: 3333, Tax: 267, Discount: 100},
					{VendorID: "v2", Subtotal: 3333, Tax: 266, Discount: 100},
					{VendorID: "v3", Subtotal: 3334, Tax: 267, Discount: 100},
				}}}
		}
	}
	if held != "" {
		s.w.holds[held] = "account cannot receive"
		s.env.RegisterDelayedCallback(func() { delete(s.w.holds, held) }, 39*time.Minute)
		signalAt(s.env, 40*time.Minute, SignalAdmin, AdminCommand{Action: ActionRelease, Actor: "ops"})
	}
	capture := captureEvent("evt_c", gross)
	capture.Currency = cur
	signalAt(s.env, 2*time.Second, SignalEvent, capture)
	for _, e := range events {
		e.ev.Currency = cur
		at := e.at * time.Minute
		if e.at < 0 {
			at = time.Second
		}
		signalAt(s.env, at, SignalEvent, e.ev)
	}
	rec := s.run()
	s.Equal(refunded, rec.Refunded, "refunded")
	s.Equal(status, rec.Status, "status: %s", rec.Reason)
	s.checkShares(rec)
}

// checkShares: every leg's refunds are its share of the payment's (largest remainder over the
// legs' amounts, within a unit per leg beyond two), add up to the refunded amount, and every
// payee holds exactly its share of what is left.
func (s *workflowSuite) checkShares(rec payment.Record) {
	amounts := make([]int64, len(rec.Legs))
	var refunded, total int64
	for i, l := range rec.Legs {
		amounts[i] = l.Amount
		refunded += l.Refunded
		total += l.Amount
	}
	s.Equal(rec.Gross, total, "the legs add up to the payment")
	s.Equal(rec.Refunded, refunded, "the legs' refunds add up to the payment's")
	want, err := money.AllocateLargestRemainder(rec.Refunded, amounts)
	s.Require().NoError(err)
	slack := int64(max(len(rec.Legs)-2, 0))
	for i, l := range rec.Legs {
		s.InDelta(want[i], l.Refunded, float64(slack), "%s: its share of the %d refunded", l.Name(), rec.Refunded)
		if l.Party == split.PartyPlatform {
			continue
		}
		s.Equal(l.Remaining(), l.Transferred-l.Reversed, "%s: transferred − reversed is its share of what is left (state %s, %s)", l.Name(), l.State, l.Reason)
		s.Empty(l.Dues, "%s: nothing left due", l.Name())
	}
}

// A payment whose affiliate payout Stripe refuses and no admin decides is compensated; refunds
// told while the run waits for the decision, and after it closed (a follow-up run), leave nobody holding anything, the
// shares still owed on the payables less what was refunded, and the books as checkBooks says.
func (s *workflowSuite) TestRefundsAroundACompensation() {
	for _, cur := range []money.Currency{money.JPY, money.USD, money.KWD} {
		s.Run(string(cur), func() {
			s.SetupTest()
			s.w.failNext["affiliate"] = []error{rejected("insufficient platform balance")}
			capture := captureEvent("evt_c", gross)
			capture.Currency = cur
			signalAt(s.env, time.Second, SignalEvent, capture)
			signalAt(s.env, 10*time.Minute, SignalEvent, Event{ID: "r1", Kind: EventRefund, ChargeID: "ch_1", Currency: cur, AmountRefunded: 1001})
			signalAt(s.env, 20*time.Minute, SignalEvent, Event{ID: "r2", Kind: EventRefund, ChargeID: "ch_1", Currency: cur, AmountRefunded: 2503})
			first := s.run()
			s.Require().Equal(payment.StatusCompensated, first.Status, first.Reason)
			s.EqualValues(2503, first.Refunded)

			// The run closed with the compensation: a refund then starts a follow-up run.
			s.followUp(first)
			signalAt(s.env, time.Second, SignalEvent, Event{ID: "r3", Kind: EventRefund, ChargeID: "ch_1", Currency: cur, AmountRefunded: 4007})
			rec := s.run()

			s.Equal(payment.StatusCompensated, rec.Status, rec.Reason)
			s.EqualValues(4007, rec.Refunded)
			s.Zero(s.w.sentToPayee("v1"), "the vendor holds nothing")
			s.Zero(s.w.sentToPayee("a1"), "the affiliate holds nothing")
			want, err := money.AllocateLargestRemainder(rec.Refunded, []int64{rec.Legs[0].Amount, rec.Legs[1].Amount, rec.Legs[2].Amount})
			s.Require().NoError(err)
			for i, l := range rec.Legs {
				s.InDelta(want[i], l.Refunded, 1, "%s: its share of the refunds", l.Name())
			}
		})
	}
}
