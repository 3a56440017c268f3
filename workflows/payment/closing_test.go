package payment

import (
	"strings"
	"time"

	"paysplit/activities"
	"paysplit/internal/payment"
)

// Cancelling the workflow (the Temporal UI, the API) while it waits (code path 11): an admin's
// cancel where the run takes one, a cancelled payment where nothing was split, a settled payment
// whose settle window ends early. Before, a waiting run ignored the cancel (held, parked) or spun
// on its cancelled timers (settle window, waiting for a capture).
func (s *workflowSuite) TestCancelledWorkflowWhileWaiting() {
	tests := []struct {
		name       string
		setup      func()
		events     func()
		wantStatus payment.Status
		wantReason string
		check      func(rec payment.Record)
	}{
		{
			name:       "in its settle window: settled, nothing taken back",
			events:     func() { signalAt(s.env, time.Second, SignalEvent, captureEvent("evt_1", gross)) },
			wantStatus: payment.StatusPaid,
			check: func(payment.Record) {
				s.NotZero(s.w.sent("acct_v1"))
				s.Empty(s.w.reversals)
			},
		},
		{
			name:       "a leg held: compensated as by an admin's cancel",
			setup:      func() { s.w.holds["v1"] = "cannot receive" },
			events:     func() { signalAt(s.env, time.Second, SignalEvent, captureEvent("evt_1", gross)) },
			wantStatus: payment.StatusCompensated,
			check: func(rec payment.Record) {
				s.Zero(s.w.sent("acct_a1"), "the affiliate's transfer is taken back")
				s.Contains(rec.Compensated, cancelActor)
			},
		},
		{
			name: "parked: cancelled",
			setup: func() {
				s.w.enrich = func(activities.EnrichInput) activities.EnrichOutput {
					return activities.EnrichOutput{Problem: "unknown client"}
				}
			},
			events:     func() { signalAt(s.env, time.Second, SignalEvent, captureEvent("evt_1", gross)) },
			wantStatus: payment.StatusCancelled,
			wantReason: "cancelled by " + cancelActor + " while parked",
		},
		{
			name: "waiting for its order: cancelled",
			setup: func() {
				s.w.enrich = func(activities.EnrichInput) activities.EnrichOutput {
					return activities.EnrichOutput{Missing: []string{"vendor_id"}}
				}
			},
			events:     func() { signalAt(s.env, time.Second, SignalEvent, captureEvent("evt_1", gross)) },
			wantStatus: payment.StatusCancelled,
			wantReason: "while waiting for its order metadata",
		},
		{
			name:       "waiting for its capture: cancelled",
			events:     func() { signalAt(s.env, time.Second, SignalEvent, refundEvent("evt_r1", 1100)) },
			wantStatus: payment.StatusCancelled,
			wantReason: "while waiting for its capture",
		},
	}
	for _, tt := range tests {
		s.Run(tt.name, func() {
			s.SetupTest()
			s.env.SetTestTimeout(30 * time.Second) // a run that ignores the cancel never ends
			if tt.setup != nil {
				tt.setup()
			}
			tt.events()
			s.env.RegisterDelayedCallback(s.env.CancelWorkflow, 5*time.Minute)
			rec := s.run()
			s.Equal(tt.wantStatus, rec.Status, rec.Reason)
			s.Contains(rec.Reason, tt.wantReason)
			if !rec.Split() {
				s.Empty(s.w.transfers, "nothing was split, nothing is sent")
			}
			if tt.check != nil {
				tt.check(rec)
			}
		})
	}
}

// A refund that comes while the run makes its last save is applied before the run ends: the
// provider was answered that the open run took it, so no follow-up run starts for it.
func (s *workflowSuite) TestEventDuringTheLastSaveIsApplied() {
	armed, sent := false, false
	s.w.onSave = func(payment.Record) {
		s.w.mu.Lock()
		defer s.w.mu.Unlock()
		if armed && !sent {
			sent = true
			s.env.SignalWorkflow(SignalEvent, refundEvent("evt_r1", 1100))
		}
	}
	signalAt(s.env, time.Second, SignalEvent, captureEvent("evt_1", gross))
	// The settle window (an hour) ends after this: the next save is the last.
	s.env.RegisterDelayedCallback(func() { s.w.mu.Lock(); armed = true; s.w.mu.Unlock() }, 59*time.Minute)
	rec := s.run()
	s.True(sent, "the refund came during the last save")
	s.EqualValues(1100, rec.Refunded, "and was applied")
	s.Equal(payment.StatusPartiallyRefunded, rec.Status)
}

// A payment an admin cancelled before its split stays cancelled: a refund's follow-up run ends at
// once, so a capture sent again meanwhile finds no run to split and pay it.
func (s *workflowSuite) TestRefundOfACancelledPaymentIsNotTaken() {
	s.w.enrich = func(activities.EnrichInput) activities.EnrichOutput {
		return activities.EnrichOutput{Missing: []string{"vendor_id"}}
	}
	signalAt(s.env, time.Second, SignalEvent, captureEvent("evt_1", gross))
	signalAt(s.env, 2*time.Hour, SignalAdmin, AdminCommand{Action: ActionCancel, Actor: "ops"})
	cancelled := s.run()
	s.Require().Equal(payment.StatusCancelled, cancelled.Status)

	s.followUp(cancelled)
	before := len(s.w.saved)
	s.w.enrich = nil // the order metadata is there by now
	signalAt(s.env, time.Second, SignalEvent, refundEvent("evt_r1", 1100))
	signalAt(s.env, 2*time.Hour, SignalEvent, captureEvent("evt_1", gross)) // sent again
	start := s.env.Now()
	rec := s.runInDoubt()
	s.Equal(payment.StatusCancelled, rec.Status, "an admin's cancel stands")
	s.True(strings.HasPrefix(rec.Reason, "cancelled by ops"), rec.Reason)
	s.Empty(s.w.transfers, "a cancelled payment pays nobody")
	s.Less(s.env.Now().Sub(start), time.Hour, "the follow-up run ends at once")
	for _, saved := range s.w.saved[before:] {
		s.NotEqual(payment.StatusNeedsAttention, saved.Status, "saved as %q", saved.Reason)
	}
}
