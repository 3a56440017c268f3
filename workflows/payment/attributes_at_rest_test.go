package payment

import (
	"time"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/temporal"

	"paysplit/internal/payment"
	"paysplit/workflows/searchattr"
)

// trackStatusAttribute records the PaymentStatus search attribute as the run upserts it, as the
// Temporal UI would show it.
func (s *workflowSuite) trackStatusAttribute() *string {
	var status string
	s.env.OnUpsertTypedSearchAttributes(mock.Anything).Run(func(args mock.Arguments) {
		if v, ok := args.Get(0).(temporal.SearchAttributes).GetKeyword(searchattr.PaymentStatus); ok {
			status = v
		}
	})
	return &status
}

// statusAtRest is a payment whose run rests half an hour in, waiting, and then closes.
type statusAtRest struct {
	name   string
	setup  func()
	events func()
	// atRest is the stored status half an hour in, while the run waits.
	atRest, closed payment.Status
}

// Whenever the run rests, the PaymentStatus admins filter on in the Temporal UI is the status the
// store holds (README, "Temporal search attributes"; flushAttributes: "what admins filter on in
// the Temporal UI is current whenever the run rests"), and so it is when the run closes.
func (s *workflowSuite) TestStatusAttributeIsTheStoredStatusWhileTheRunRests() {
	s.checkStatusAtRest([]statusAtRest{
		{
			name:   "waiting for a decision on a refused payout",
			setup:  func() { s.w.failNext["vendor"] = []error{rejected("insufficient platform balance")} },
			events: func() { signalAt(s.env, time.Hour, SignalAdmin, AdminCommand{Action: ActionRetry, Actor: "ops"}) },
			atRest: payment.StatusPayoutFailed, closed: payment.StatusPaid,
		},
		{
			name:   "a leg held",
			setup:  func() { s.w.holds["v1"] = "cannot receive" },
			events: func() { signalAt(s.env, time.Hour, SignalAdmin, AdminCommand{Action: ActionCancel, Actor: "ops"}) },
			atRest: payment.StatusHeld, closed: payment.StatusCompensated,
		},
	})
}

// An event the run takes while it waits (wait, events.go) changes and saves the status, and the
// attribute it changed is written at once (code path 15): in the settle window (24 h by default) a
// payment disputed or refunded meanwhile shows so in the Temporal UI, where before it stayed
// 'paid' until the window closed and `PaymentStatus = 'disputed'` did not find it.
func (s *workflowSuite) TestStatusAttributeFollowsEventsTakenWhileTheRunWaits() {
	s.checkStatusAtRest([]statusAtRest{
		{
			name: "a dispute opened in the settle window",
			events: func() {
				signalAt(s.env, 10*time.Minute, SignalEvent, Event{ID: "evt_d1", Kind: EventDisputeCreated, DisputeID: "dp_1", Amount: gross})
			},
			atRest: payment.StatusDisputed, closed: payment.StatusDisputed,
		},
		{
			name:   "a refund in the settle window",
			events: func() { signalAt(s.env, 10*time.Minute, SignalEvent, refundEvent("evt_r1", 1100)) },
			atRest: payment.StatusPartiallyRefunded, closed: payment.StatusPartiallyRefunded,
		},
	})
}

func (s *workflowSuite) checkStatusAtRest(tests []statusAtRest) {
	for _, tt := range tests {
		s.Run(tt.name, func() {
			s.SetupTest()
			shown := s.trackStatusAttribute()
			if tt.setup != nil {
				tt.setup()
			}
			signalAt(s.env, time.Second, SignalEvent, captureEvent("evt_1", gross))
			tt.events()
			var stored payment.Status
			var atRest string
			s.env.RegisterDelayedCallback(func() {
				s.w.mu.Lock()
				defer s.w.mu.Unlock()
				stored, atRest = s.w.saved[len(s.w.saved)-1].Status, *shown
			}, 30*time.Minute)
			rec := s.runInDoubt()

			s.Equal(tt.atRest, stored, "the stored status while the run rests")
			s.Equal(string(stored), atRest, "PaymentStatus while the run rests")
			s.Equal(tt.closed, rec.Status)
			s.Equal(string(rec.Status), *shown, "PaymentStatus once the run closed")
		})
	}
}
