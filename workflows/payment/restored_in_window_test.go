package payment

import (
	"time"

	"paysplit/internal/payment"
)

// Refunded in full before its payout, the payment paid nobody; the refund fails half-way
// through the settle window: the payees are paid their shares then, not when the window closes.
// The soak found it (FAULT_SOAK_SEED=29, 50 payments): the payment rested paying_out with no
// step in flight, its payees unpaid, for the rest of the window (a day in production), since the
// window's wait ends only at its timer or a movement due, and a leg made pending again is
// neither (TestFullRefundBeforePayoutFailed checks the run's end only).
func (s *workflowSuite) TestFullRefundBeforePayoutFailedPaysWithinTheSettleWindow() {
	signalAt(s.env, time.Millisecond, SignalEvent, refundAt("evt_r1", gross, 0))
	signalAt(s.env, time.Second, SignalEvent, captureEvent("evt_1", gross))
	signalAt(s.env, 20*time.Minute, SignalEvent, refundFailedAt("evt_f1", "re_1", gross, 20))
	var stored payment.Status
	var vendor, affiliate int64
	s.env.RegisterDelayedCallback(func() {
		s.w.mu.Lock()
		defer s.w.mu.Unlock()
		stored, vendor, affiliate = s.w.saved[len(s.w.saved)-1].Status, s.w.sent("acct_v1"), s.w.sent("acct_a1")
	}, 40*time.Minute) // the window (an hour) still open
	rec := s.run()

	s.Equal(payment.StatusPaid, stored, "stored status 20 minutes after the failure")
	s.EqualValues(vendorCut, vendor, "the vendor paid its share within the window")
	s.EqualValues(affiliateCut, affiliate, "the affiliate paid its share within the window")
	s.Equal(payment.StatusPaid, rec.Status)
}
