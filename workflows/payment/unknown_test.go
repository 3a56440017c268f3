package payment

import (
	"time"

	"go.temporal.io/sdk/temporal"

	"paysplit/internal/payment"
	"paysplit/internal/split"
)

// An admin action this build does not know (a typo sent from the Temporal UI, or a newer API's
// action during a deploy), sent while a failed payout waits for a decision, is ignored: before
// code path 13 it was taken as a retry, which sends the money.
func (s *workflowSuite) TestUnknownAdminActionIsNotARetry() {
	s.w.failNext["affiliate"] = []error{rejected("account closed")}
	signalAt(s.env, time.Second, SignalEvent, captureEvent("evt_1", gross))
	signalAt(s.env, time.Hour, SignalAdmin, AdminCommand{Action: AdminAction("retyr"), Party: split.PartyAffiliate, Actor: "ops"})
	rec := s.run()

	s.NotEqual(payment.StatusPaid, rec.Status, "an action this build does not know paid the failed leg")
	s.Zero(s.w.sent("acct_a1"), "an action this build does not know sent the affiliate's share")
}

// An event of a kind this build does not know (a newer API's, during a deploy) fails the run's
// task, as a code path it does not know does: dropped, what the newer API acknowledged to the
// provider would never be applied, and the newer build could not replay the run.
func (s *workflowSuite) TestUnknownEventKindFailsItsTask() {
	signalAt(s.env, time.Second, SignalEvent, captureEvent("evt_1", gross))
	signalAt(s.env, 10*time.Minute, SignalEvent, Event{ID: "evt_future", Kind: EventKind("refund_v2"), Amount: 5000, Currency: "usd"})
	s.env.ExecuteWorkflow(Workflow, testInput())
	s.Require().True(s.env.IsWorkflowCompleted())
	var panicErr *temporal.PanicError
	s.Require().ErrorAs(s.env.GetWorkflowError(), &panicErr, "the run closed having dropped an event it could not read")
	s.Contains(panicErr.Error(), "refund_v2")
}
