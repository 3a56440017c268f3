package payment

import (
	"context"
	"errors"
	"time"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/client"

	"paysplit/activities"
	"paysplit/internal/payment"
)

// A first payout in doubt, the payee's account replaced meanwhile, the admin retries: the key is
// asked where it went (code path 13), never at the new account (Stripe refuses a key reused with
// other parameters, or pays it again once it forgot the key).
func (s *workflowSuite) TestPayoutInDoubtIsAskedWhereItsKeyWent() {
	lost := madeButLost{errors.New("connection reset")}
	s.w.failNext["vendor"] = []error{lost, lost, lost}
	signalAt(s.env, time.Second, SignalEvent, captureEvent("evt_1", gross))
	s.replaceAccount(30 * time.Minute)
	signalAt(s.env, time.Hour, SignalAdmin, AdminCommand{Action: ActionRetry, Actor: "ops"})
	rec := s.run()
	s.Equal(payment.StatusPaid, rec.Status, rec.Reason)
	s.EqualValues(vendorCut, s.w.sentToPayee("v1"))
}

// The payee check fails (activity error, every attempt) for the correction's top-up; it is
// held; the check works again and the admin retries.
func (s *workflowSuite) TestTopUpHeldWhileThePayeeCannotBeChecked() {
	s.env = s.NewTestWorkflowEnvironment()
	s.env.SetStartWorkflowOptions(client.StartWorkflowOptions{ID: wfID})
	failing := false
	s.env.OnActivity(act.ResolvePayee, mock.Anything, mock.Anything).Return(
		func(ctx context.Context, in activities.ResolvePayeeInput) (activities.ResolvePayeeOutput, error) {
			s.w.mu.Lock()
			f := failing
			s.w.mu.Unlock()
			if f {
				return activities.ResolvePayeeOutput{}, errors.New("payees db: connection refused")
			}
			return s.w.ResolvePayee(ctx, in)
		})
	s.w.install(s.env)
	s.taxRules()
	signalAt(s.env, time.Second, SignalEvent, captureEvent("evt_1", gross))
	s.env.RegisterDelayedCallback(func() { s.w.mu.Lock(); failing = true; s.w.mu.Unlock() }, 30*time.Second)
	signalAt(s.env, time.Minute, SignalEvent, correction("correction-v4", 4))
	var held payment.Record
	s.env.RegisterDelayedCallback(func() { held = s.w.saved[len(s.w.saved)-1]; s.w.mu.Lock(); failing = false; s.w.mu.Unlock() }, 5*time.Minute)
	signalAt(s.env, 10*time.Minute, SignalEvent, retryDues(1))
	rec := s.run()
	s.T().Logf("held: %s %q", held.Status, held.Reason)
	s.paidTopUpOnce(rec)
}

// A held top-up saved by a path-13 run; a follow-up run started on code path 12 (an API
// instance not yet on 13 during the deploy, or the API rolled back) takes the admin's retry while
// the payee is still registered to another client.
func (s *workflowSuite) TestHeldTopUpStaysHeldInARunOnAnOlderPath() {
	s.taxRules()
	signalAt(s.env, time.Second, SignalEvent, captureEvent("evt_1", gross))
	s.holdPayee(30*time.Second, movedAway)
	signalAt(s.env, time.Minute, SignalEvent, correction("correction-v4", 4))
	due := s.run()
	s.Require().True(legOf(s.T(), due, "vendor").Dues[0].Held)
	s.followUp(due)
	signalAt(s.env, time.Minute, SignalEvent, retryDues(1))
	in := testInput()
	in.CodePath = codePathRecordUnits
	s.env.ExecuteWorkflow(Workflow, in)
	rec := result(s.T(), s.env)
	s.Empty(s.requestsUnder(topUpKey), "nothing sent to a payee registered to another client")
	s.Equal(payment.StatusPayoutFailed, rec.Status, rec.Reason)
}

// A top-up in doubt (sent to acct_v1); a path-13 run moves the leg to the payee's new account
// (a failed refund's top-up); a follow-up run on code path 12 retries the due in doubt.
func (s *workflowSuite) TestTopUpInDoubtIsAskedWhereItWentInARunOnAnOlderPath() {
	due := s.topUpInDoubt(true)
	s.followUp(due)
	s.replaceAccount(time.Second)
	signalAt(s.env, 10*time.Minute, SignalEvent, refundAt("evt_r1", 1100, 10))
	signalAt(s.env, 20*time.Minute, SignalEvent, refundFailedAt("evt_f1", "re_1", 1100, 20))
	moved := s.runInDoubt()
	s.Require().Equal("acct_v1b", legOf(s.T(), moved, "vendor").Destination)
	s.Require().Equal("acct_v1", legOf(s.T(), moved, "vendor").Dues[0].Destination)
	s.followUp(moved)
	signalAt(s.env, time.Minute, SignalEvent, retryDues(1))
	in := testInput()
	in.CodePath = codePathRecordUnits
	s.env.ExecuteWorkflow(Workflow, in)
	rec := result(s.T(), s.env)
	asked := s.requestsUnder(topUpKey)
	s.Equal("acct_v1", asked[len(asked)-1].Destination, "the key in doubt is asked where it went")
	s.Equal(payment.StatusPaid, rec.Status, rec.Reason)
}
