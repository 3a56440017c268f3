package payment

import (
	"errors"
	"time"

	"paysplit/internal/payment"
)

// A provider that answers 503 for a while is asked again StripeAttempts times, with backoff, as
// the setting says (code path 21). A local activity's retries stop at its ScheduleToCloseTimeout,
// which the SDK takes from its StartToCloseTimeout when none is set: the payout call's retries
// ended after PayoutTimeout (2 minutes: 7 of the 10 attempts), and a Stripe outage of two
// minutes left the leg in doubt, the payment payout_failed for an admin, compensated without one.
func (s *workflowSuite) TestPayoutCallIsTriedStripeAttemptsTimes() {
	for range 7 {
		s.w.failNext["vendor"] = append(s.w.failNext["vendor"], errors.New("stripe: 503 Service Unavailable"))
	}
	signalAt(s.env, time.Second, SignalEvent, captureEvent("evt_1", gross))

	in := testInput()
	in.Settings.StripeAttempts = 10
	s.env.ExecuteWorkflow(Workflow, in)
	rec := result(s.T(), s.env)
	s.checkBooks(rec)

	s.Len(s.requestsUnder(wfID+"/transfer/vendor-v1/0"), 8, "seven 503s, then paid under the same key")
	s.Equal(payment.StatusPaid, rec.Status, rec.Reason)
	s.EqualValues(vendorCut, s.w.sent("acct_v1"))
	for _, saved := range s.w.saved {
		s.NotEqual(payment.StatusPayoutFailed, saved.Status, "never failed: %s", saved.Reason)
	}
}

// The attempts still bound the retries: a provider answering 503 to every one of them leaves
// the leg in doubt after StripeAttempts attempts, for an admin.
func (s *workflowSuite) TestPayoutCallStopsAfterStripeAttempts() {
	for range 12 {
		s.w.failNext["vendor"] = append(s.w.failNext["vendor"], errors.New("stripe: 503 Service Unavailable"))
	}
	signalAt(s.env, time.Second, SignalEvent, captureEvent("evt_1", gross))
	var sent int
	s.env.RegisterDelayedCallback(func() {
		s.w.mu.Lock()
		defer s.w.mu.Unlock()
		sent = len(s.w.requests)
	}, time.Hour)
	failed := s.lastSavedAt(time.Hour)

	in := testInput()
	in.Settings.StripeAttempts = 10
	s.env.ExecuteWorkflow(Workflow, in)
	result(s.T(), s.env)

	s.Equal(10, sent, "StripeAttempts attempts, then the admin's decision")
	s.Equal(payment.StatusPayoutFailed, failed.Status)
	s.True(legOf(s.T(), *failed, "vendor").InDoubt(wfID), "the key kept: it may have been made")
}
