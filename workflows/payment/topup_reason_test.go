package payment

import (
	"time"

	"paysplit/internal/payment"
	"paysplit/internal/split"
)

// A top-up's reason, which clients read (their payouts list, the report), names its amount as
// people read money from code path 19 ("1.20 USD"), not in minor units without a currency ("120");
// older paths keep their text. Both a top-up held for its payee and one the provider refuses.
func (s *workflowSuite) TestTopUpReasonNamesItsAmountWithItsCurrency() {
	for _, c := range []struct {
		name   string
		path   int
		refuse bool
		want   string
	}{
		{"held", CurrentCodePath, false, "correction: top-up of 1.20 USD held: " + movedAway},
		{"held on path 18", codePathHoldRecheck - 1, false, "correction: top-up of 120 held: " + movedAway},
		{"refused", CurrentCodePath, true, "correction: top-up of 1.20 USD failed: insufficient funds"},
		{"refused on path 18", codePathHoldRecheck - 1, true, "correction: top-up of 120 failed: insufficient funds"},
	} {
		s.Run(c.name, func() {
			s.SetupTest()
			s.taxRules()
			in := testInput()
			in.CodePath = c.path
			signalAt(s.env, time.Second, SignalEvent, captureEvent("evt_1", gross))
			if c.refuse {
				s.failAt(time.Minute-time.Millisecond, s.w.failNext, "vendor", rejected("insufficient funds in Stripe account"))
			} else {
				s.holdPayee(30*time.Second, movedAway)
				s.holdPayee(5*time.Minute, "")
			}
			signalAt(s.env, time.Minute, SignalEvent, correction("correction-v4", 4))
			var due payment.Record
			s.env.RegisterDelayedCallback(func() { due = s.w.saved[len(s.w.saved)-1] }, 2*time.Minute)
			signalAt(s.env, 10*time.Minute, SignalEvent, retryDues(1))

			s.env.ExecuteWorkflow(Workflow, in)
			rec := result(s.T(), s.env)

			dues := legOf(s.T(), due, split.PartyVendor).Dues
			s.Require().Len(dues, 1, due.Reason)
			s.Contains(dues[0].Reason, c.want)
			s.Contains(due.Reason, c.want, "the payment's reason")
			s.Equal(payment.StatusPaid, rec.Status, rec.Reason)
		})
	}
}
