package payment

import (
	"time"

	"paysplit/internal/payment"
	"paysplit/internal/split"
)

// A due that arises after the ones before it were paid starts the automatic retries at their pace
// again (code path 25), though they had backed off to a day for the earlier ones: it is a new
// shortfall, say, not the one the retries gave up hurrying on. Here the refused top-up backs off
// (retries at 26, 30, 38 and 54 h, the next at 78 h), an admin's retry pays it at 55 h, and a
// correction's reversal refused at 60 h is due: it is retried at 61 h, as the first due was at
// first, not with the day-long wait the earlier due had reached.
func (s *workflowSuite) TestADueAfterTheOthersWerePaidIsRetriedAtPace() {
	s.taxRules()
	errs := make([]error, 100)
	for i := range errs {
		errs[i] = rejected("insufficient funds")
	}
	signalAt(s.env, time.Second, SignalEvent, captureEvent("evt_1", gross))
	s.failAt(time.Minute-time.Millisecond, s.w.failNext, "vendor", errs...)
	signalAt(s.env, time.Minute, SignalEvent, correction("correction-v4", 4))
	s.failAt(55*time.Hour-time.Millisecond, s.w.failNext, "vendor")
	signalAt(s.env, 55*time.Hour, SignalEvent, retryDues(29))
	var paid payment.Record
	s.env.RegisterDelayedCallback(func() { paid = s.w.saved[len(s.w.saved)-1] }, 56*time.Hour)
	s.failAt(60*time.Hour-time.Millisecond, s.w.failBack, "vendor", rejected("insufficient funds in the destination account"))
	signalAt(s.env, 60*time.Hour, SignalEvent, correction("correction-v3", 3))
	var due, retried payment.Record
	s.env.RegisterDelayedCallback(func() { due = s.w.saved[len(s.w.saved)-1] }, 60*time.Hour+time.Minute)
	s.env.RegisterDelayedCallback(func() { retried = s.w.saved[len(s.w.saved)-1] }, 61*time.Hour+time.Minute)
	in := testInput()
	in.Settings.DueRetryEvery, in.Settings.SettleWindow = time.Hour, 10*day
	s.env.ExecuteWorkflow(Workflow, in)
	rec := result(s.T(), s.env)
	s.checkBooks(rec)

	s.Equal(29, paid.DueRetries, "28 automatic retries, then the admin's")
	s.Empty(legOf(s.T(), paid, split.PartyVendor).Dues, "the admin's retry paid the top-up")
	s.NotEmpty(legOf(s.T(), due, split.PartyVendor).Dues, "the correction's reversal is due")
	s.Empty(legOf(s.T(), retried, split.PartyVendor).Dues, "retried within DueRetryEvery of arising, and made")
	s.Equal(30, retried.DueRetries)
	s.Equal(payment.StatusPaid, rec.Status)
	s.Equal(3, rec.RuleVersion)
}
