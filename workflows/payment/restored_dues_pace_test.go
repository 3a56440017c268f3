package payment

import (
	"time"

	"paysplit/internal/payment"
	"paysplit/internal/split"
)

// A failed refund makes a leg pending again while a movement is due in the settle window: the leg
// is paid at once (code path 25), but the due's automatic retry keeps its time, DueRetryEvery
// after the due arose. The wait that ends for the leg ended also the wait for the retry, which
// settleWait then made at once: a due refused a minute before was sent again with the event
// (and counted as a retry, hurrying its back-off), not at its pace.
//
// Refunded but a cent before the payout, the vendor is paid the cent and the affiliate nothing;
// the rest refunded at 1 min, the vendor's reversal of its cent is refused (due); the first
// refund fails at 10 min, which gives the affiliate its share, never sent before.
func (s *workflowSuite) TestRestoredLegDoesNotHurryTheDuesRetry() {
	signalAt(s.env, time.Millisecond, SignalEvent, refundAt("evt_r1", gross-1, 0))
	signalAt(s.env, time.Second, SignalEvent, captureEvent("evt_1", gross))
	s.failAt(time.Minute-time.Millisecond, s.w.failBack, "vendor", rejected("insufficient funds in the destination account"))
	signalAt(s.env, time.Minute, SignalEvent, refundAt("evt_r2", gross, 1))
	failed := refundFailedAt("evt_f1", "re_1", gross-1, 10)
	failed.RefundMade = refundAt("", 0, 0).OccurredAt
	signalAt(s.env, 10*time.Minute, SignalEvent, failed)
	snap := map[time.Duration]*payment.Record{2 * time.Minute: nil, 11 * time.Minute: nil, 60 * time.Minute: nil, 62 * time.Minute: nil}
	for at := range snap {
		s.env.RegisterDelayedCallback(func() {
			s.w.mu.Lock()
			defer s.w.mu.Unlock()
			snap[at] = &s.w.saved[len(s.w.saved)-1]
		}, at)
	}
	in := testInput()
	in.Settings.DueRetryEvery, in.Settings.SettleWindow = time.Hour, 3*time.Hour
	s.env.ExecuteWorkflow(Workflow, in)
	rec := result(s.T(), s.env)
	s.checkBooks(rec)

	s.NotEmpty(legOf(s.T(), *snap[2*time.Minute], split.PartyVendor).Dues, "the vendor's reversal is due")
	s.Equal(payment.LegTransferred, legOf(s.T(), *snap[11*time.Minute], split.PartyAffiliate).State, "the affiliate paid at once")
	s.Zero(snap[11*time.Minute].DueRetries, "no automatic retry with the failure")
	s.Zero(snap[60*time.Minute].DueRetries, "nor before DueRetryEvery since the due arose")
	s.Equal(1, snap[62*time.Minute].DueRetries, "retried at its time (61 min)")
	s.Empty(legOf(s.T(), *snap[62*time.Minute], split.PartyVendor).Dues, "and made")
	s.Equal(payment.StatusPartiallyRefunded, rec.Status)
	s.EqualValues(1, rec.Refunded)
}

// A leg made pending again whose payee cannot receive now is held, and the run waits on the hold
// (its asks backing off), not woken again and again by the pending leg: events told meanwhile (a
// refund's event re-sent hourly for two days) each take one wait, and the run's steps stay few.
// The payee registered on day 5, the next ask pays it.
func (s *workflowSuite) TestRestoredLegHeldDoesNotSpin() {
	signalAt(s.env, time.Millisecond, SignalEvent, refundAt("evt_r1", gross, 0))
	signalAt(s.env, time.Second, SignalEvent, captureEvent("evt_1", gross))
	s.env.RegisterDelayedCallback(func() { s.w.mu.Lock(); s.w.holds["a1"] = "not registered"; s.w.mu.Unlock() }, 10*time.Minute)
	signalAt(s.env, 20*time.Minute, SignalEvent, refundFailedAt("evt_f1", "re_1", gross, 20))
	for i := 1; i < 50; i++ {
		signalAt(s.env, 20*time.Minute+time.Duration(i)*time.Hour, SignalEvent, refundAt("evt_r1", gross, 0))
	}
	s.env.RegisterDelayedCallback(func() { s.w.mu.Lock(); delete(s.w.holds, "a1"); s.w.mu.Unlock() }, 5*day)
	in := testInput()
	in.Settings.SettleWindow, in.Settings.HoldRecheckEvery, in.Settings.DueRetryEvery = 2*day, time.Hour, time.Hour
	s.env.ExecuteWorkflow(Workflow, in)
	rec := result(s.T(), s.env)
	s.checkBooks(rec)

	s.Equal(payment.StatusPaid, rec.Status)
	s.EqualValues(affiliateCut, s.w.sent("acct_a1"), "paid once its payee could receive")
	s.LessOrEqual(s.w.calls["payee:a1"], 15, "the held payee asked at the hold's backed-off pace")
	s.LessOrEqual(len(s.w.saved), 15, "saves")
}
