package payment

import (
	"errors"
	"time"

	"paysplit/internal/payment"
	"paysplit/internal/split"
)

// A retry from the Temporal UI (the admin signal) and the admin API's retry (an event) of the
// same top-up due, at the same moment, in either order, whatever the first attempt meets: the
// payee gets its top-up once, and nothing stays due.
func (s *workflowSuite) TestRetryFromTheUIAndTheAPIAtOnce() {
	ui := func(after time.Duration) {
		signalAt(s.env, after, SignalAdmin, map[string]any{"Action": "retry"}) // as the UI sends it
	}
	api := func(after time.Duration) { signalAt(s.env, after, SignalEvent, retryDues(1)) }
	tests := []struct {
		name        string
		first, then func(time.Duration)
		// fails are what the first retry's top-up meets.
		fails []error
	}{
		{name: "UI first", first: ui, then: api},
		{name: "API first", first: api, then: ui},
		{name: "UI first, its answer lost", first: ui, then: api, fails: []error{madeButLost{errors.New("connection reset")}}},
		{name: "API first, its answer lost", first: api, then: ui, fails: []error{madeButLost{errors.New("connection reset")}}},
		{name: "UI first, refused again", first: ui, then: api, fails: []error{rejected("insufficient funds in Stripe account")}},
	}
	for _, tt := range tests {
		s.Run(tt.name, func() {
			s.SetupTest()
			s.taxRules()
			signalAt(s.env, time.Second, SignalEvent, captureEvent("evt_1", gross))
			s.failAt(time.Minute-time.Millisecond, s.w.failNext, "vendor", rejected("insufficient funds in Stripe account"))
			signalAt(s.env, time.Minute, SignalEvent, correction("correction-v4", 4))
			if tt.fails != nil {
				s.failAt(10*time.Minute-time.Millisecond, s.w.failNext, "vendor", tt.fails...)
			}
			tt.first(10 * time.Minute)
			tt.then(10 * time.Minute)
			if tt.fails != nil {
				signalAt(s.env, 20*time.Minute, SignalEvent, retryDues(2)) // what is still due after both, once more
			}
			rec := s.runInDoubt()

			s.Equal(payment.StatusPaid, rec.Status, rec.Reason)
			s.Empty(legOf(s.T(), rec, split.PartyVendor).Dues)
			s.EqualValues(vendorCut, s.w.sent("acct_v1"), "the top-up of 120 sent once")
			s.checkBooks(rec)
		})
	}
}

// The same for a payout refused for good, the run waiting for a decision: the UI's retry and the
// API's (both admin signals) at once, or a retry and a cancel at once. The first the run takes
// wins; the other finds nothing waiting for it and is ignored: the vendor is paid once, or never.
func (s *workflowSuite) TestDecisionsFromTheUIAndTheAPIAtOnce() {
	retry := map[string]any{"Action": "retry"}
	tests := []struct {
		name        string
		first, then any
		want        payment.Status
		vendor      int64
	}{
		{name: "retry and retry", first: retry, then: AdminCommand{Action: ActionRetry, Actor: "admin:key1"}, want: payment.StatusPaid, vendor: vendorCut},
		{name: "retry, then cancel", first: retry, then: AdminCommand{Action: ActionCancel, Actor: "admin:key1"}, want: payment.StatusPaid, vendor: vendorCut},
		{name: "cancel, then retry", first: AdminCommand{Action: ActionCancel, Actor: "admin:key1"}, then: retry, want: payment.StatusCompensated},
	}
	for _, tt := range tests {
		s.Run(tt.name, func() {
			s.SetupTest()
			s.w.failNext["vendor"] = []error{rejected("insufficient platform balance")}
			signalAt(s.env, time.Second, SignalEvent, captureEvent("evt_1", gross))
			signalAt(s.env, time.Hour, SignalAdmin, tt.first)
			signalAt(s.env, time.Hour, SignalAdmin, tt.then)
			rec := s.run()

			s.Equal(tt.want, rec.Status, rec.Reason)
			s.Equal(tt.vendor, s.w.sent("acct_v1"))
		})
	}
}
