package payment

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"go.temporal.io/sdk/activity"

	"paysplit/internal/payment"
)

// maxOutageTimers bounds the workflow timers a Postgres outage may cost a run however long it
// lasts. The test environment retries a failed local activity through a timer after every
// attempt; a worker does so only once the backoff outgrows the workflow task timeout, and each
// such retry is about six history events (marker, timer started and fired, a workflow task).
const maxOutageTimers = 10

// A database step that fails while Postgres is down (code path 14): its local attempts are spent
// after StepTimeout and it goes on as a regular activity, retried on the server, so the run
// outlives the outage, pays once when Postgres is back, and the outage's length costs its history
// nothing more. Before, the local step's last error ended the run (a workflow failure, the
// payment left as it was) once the outage passed StepTimeout (30 s by default): the SDK takes a
// local activity's StartToCloseTimeout for its ScheduleToCloseTimeout.
//
// The test environment caps an unlimited activity's retries at 10 attempts (about four minutes
// of backoff here), so the outages are minutes; TestPostgresOutageOnTheServer shows on a real
// server that more of the server's attempts add no history event.
func (s *workflowSuite) TestPostgresOutageOutlastingAStepNeitherEndsTheRunNorGrowsItsHistory() {
	for _, step := range []string{stepPrepare, stepResolvePayee, stepSaveAndBook} {
		timers := map[time.Duration]int{}
		for _, outage := range []time.Duration{time.Minute, 3 * time.Minute} {
			s.Run(fmt.Sprintf("%s down %s", step, outage), func() {
				s.SetupTest()
				s.env.SetOnTimerScheduledListener(func(string, time.Duration) { timers[outage]++ })
				s.w.setDown(step, true)
				s.env.RegisterDelayedCallback(func() { s.w.setDown(step, false) }, outage)
				in := testInput()
				in.Settings.SettleWindow = 0 // no timer but the outage's
				first := captureEvent("evt_1", gross)
				in.First = &first
				s.env.ExecuteWorkflow(Workflow, in)
				rec := result(s.T(), s.env)
				s.checkBooks(rec)
				s.Equal(payment.StatusPaid, rec.Status, rec.Reason)
				s.EqualValues(vendorCut, s.w.sentToPayee("v1"), "the vendor paid once")
				s.Positive(s.w.calls["down:"+step], "the step failed while Postgres was down")
				s.LessOrEqual(timers[outage], maxOutageTimers, "timers the outage cost the history")
			})
		}
		s.Equal(timers[time.Minute], timers[3*time.Minute], "%s: a longer outage costs the history nothing more", step)
	}
}

// A run on an older code path is left as it was: its step's last error ends it, as its recorded
// commands say.
func (s *workflowSuite) TestPostgresOutageEndsARunBeforeCodePath14() {
	s.w.setDown(stepPrepare, true)
	s.env.RegisterDelayedCallback(func() { s.w.setDown(stepPrepare, false) }, time.Minute)
	in := testInput()
	in.CodePath = codePathDisputeLoss
	first := captureEvent("evt_1", gross)
	in.First = &first
	s.env.ExecuteWorkflow(Workflow, in)
	s.Require().True(s.env.IsWorkflowCompleted())
	s.ErrorContains(s.env.GetWorkflowError(), "connection refused")
	s.Zero(s.w.sentToPayee("v1"), "nothing paid")
}

// QuerySaved answers what the run last stored, not its state: a run that closes without a result
// (terminated, failed) may hold work it never finished, which the restore check must not take
// for done. Before its first save it answers null.
func (s *workflowSuite) TestSavedQueryAnswersTheLastSaveNotTheState() {
	var beforeSave, whilePaid json.RawMessage
	s.env.RegisterDelayedCallback(func() {
		v, err := s.env.QueryWorkflow(QuerySaved)
		s.Require().NoError(err)
		s.Require().NoError(v.Get(&whilePaid))
	}, time.Minute)
	in := testInput()
	first := captureEvent("evt_1", gross)
	in.First = &first
	s.env.SetOnLocalActivityStartedListener(func(info *activity.Info, _ context.Context, _ []any) {
		if beforeSave == nil && info.ActivityType.Name == stepPrepare {
			v, err := s.env.QueryWorkflow(QuerySaved)
			s.Require().NoError(err)
			s.Require().NoError(v.Get(&beforeSave))
		}
	})
	s.env.ExecuteWorkflow(Workflow, in)
	rec := result(s.T(), s.env)
	s.Equal("null", string(beforeSave), "nothing saved yet")
	var saved payment.Record
	s.Require().NoError(json.Unmarshal(whilePaid, &saved))
	s.Require().NotEmpty(s.w.saved)
	last := s.w.saved[len(s.w.saved)-1]
	s.Equal(last.Status, saved.Status)
	s.Equal(last.Legs, saved.Legs, "the legs as stored, entry IDs included")
	s.Equal(payment.StatusPaid, rec.Status)
}
