package payment

import (
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/testsuite"

	"paysplit/activities"
	"paysplit/internal/payment"
	"paysplit/internal/split"
)

// Temporal's limits on one run's history: the server warns from historyWarnEvents and terminates
// the run at historyLimitEvents (the size limits, 10 MB and 50 MB, come later: a recorded payment
// history is about 1 KB of JSON an event, less on the wire).
const (
	historyWarnEvents  = 10_240
	historyLimitEvents = 51_200
)

// historyCount counts, as a run goes, what its history on a server would record. The test
// environment keeps no history, so the count follows the SDK's commands, as the recorded
// histories in testdata show them: the start (WorkflowExecutionStarted and the first workflow
// task's three events), a timer's TimerStarted and its TimerFired or TimerCanceled, a local
// activity's MarkerRecorded, a regular activity's three events, an upsert's event, a signal's
// WorkflowExecutionSignaled, three events a workflow task (one for each fired timer, signal and
// activity completion: signals that come together share one on a server, so this is an upper
// bound) and the close.
type historyCount struct {
	mu                                                                   sync.Mutex
	timers, timersFired, timersCanceled, local, activities, upserts, sig int
}

// countHistory makes c count env's run; signals sent by its signalAt are counted.
func countHistory(env *testsuite.TestWorkflowEnvironment) *historyCount {
	c := &historyCount{}
	env.SetOnTimerScheduledListener(func(string, time.Duration) { c.add(&c.timers) })
	env.SetOnTimerFiredListener(func(string) { c.add(&c.timersFired) })
	env.SetOnTimerCanceledListener(func(string) { c.add(&c.timersCanceled) })
	env.SetOnLocalActivityCompletedListener(func(*activity.Info, converter.EncodedValue, error) { c.add(&c.local) })
	env.SetOnActivityCompletedListener(func(*activity.Info, converter.EncodedValue, error) { c.add(&c.activities) })
	env.OnUpsertTypedSearchAttributes(mock.Anything).Run(func(mock.Arguments) { c.add(&c.upserts) }).Return(nil)
	return c
}

func (c *historyCount) add(n *int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	*n++
}

// events is the history's length so far.
func (c *historyCount) events() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	tasks := 1 + c.timersFired + c.activities + c.sig
	return 1 + 3*tasks + c.timers + c.timersFired + c.timersCanceled + c.local + 3*c.activities + c.upserts + c.sig + 1
}

// signalAt sends a signal after a delay, counted.
func (c *historyCount) signalAt(env *testsuite.TestWorkflowEnvironment, after time.Duration, name string, v any) {
	env.RegisterDelayedCallback(func() {
		c.add(&c.sig)
		env.SignalWorkflow(name, v)
	}, after)
}

// at records the history's length at a time into *n.
func (c *historyCount) at(env *testsuite.TestWorkflowEnvironment, after time.Duration, n *int) {
	env.RegisterDelayedCallback(func() { *n = c.events() }, after)
}

const day = 24 * time.Hour

// refusedDues makes every transfer to the vendor refused from after on (a platform balance that
// stays short): a correction's top-up stays due and every automatic retry of it is refused.
func (s *workflowSuite) refusedDues(c *historyCount, after time.Duration) {
	s.taxRules()
	errs := make([]error, 5000)
	for i := range errs {
		errs[i] = rejected("insufficient funds")
	}
	c.signalAt(s.env, time.Second, SignalEvent, captureEvent("evt_1", gross))
	s.failAt(after-time.Millisecond, s.w.failNext, "vendor", errs...)
	c.signalAt(s.env, after, SignalEvent, correction("correction-v4", 4))
}

// A run kept open by a movement due retries it by itself (PAYMENT_DUE_RETRY_EVERY) for as long as
// its settle window lasts, each retry a timer, a workflow task, the payee check, the refused call
// and a save (about 8 events). At a fixed pace the history grew with the window over the pace: at
// the allowed floor of a minute, 11,500 events in the default day (over the server's warning), and
// at the default hour in a settle window of 90 days, 17,000. From code path 25 the retries after
// the first dueRetriesAtPace back off, doubling up to a day: the default day is as it was, and no
// window or pace takes the history near the warning.
func (s *workflowSuite) TestHistoryOfARunKeptOpenByDuesStaysBounded() {
	for _, tc := range []struct {
		name          string
		every, window time.Duration
		path          int
		bound         int
	}{
		{"defaults: hourly retries in a settle window of a day", time.Hour, day, CurrentCodePath, 300},
		{"the defaults before code path 25 too", time.Hour, day, codePathBoundedHistory - 1, 300},
		{"retries every minute, the allowed floor", time.Minute, day, CurrentCodePath, 1_000},
		{"hourly retries in a settle window of 90 days", time.Hour, 90 * day, CurrentCodePath, 2_000},
		{"retries every minute in a settle window of 90 days", time.Minute, 90 * day, CurrentCodePath, 2_000},
	} {
		s.Run(tc.name, func() {
			s.SetupTest()
			c := countHistory(s.env)
			s.refusedDues(c, time.Minute)
			in := testInput()
			in.CodePath = tc.path
			in.Settings.DueRetryEvery, in.Settings.SettleWindow = tc.every, tc.window
			s.env.ExecuteWorkflow(Workflow, in)
			rec := result(s.T(), s.env)
			s.Equal(payment.StatusPayoutFailed, rec.Status, "the top-up is still due")
			s.Less(c.events(), tc.bound, "history events (%d automatic retries)", rec.DueRetries)
			s.Less(c.events(), historyWarnEvents)
			s.T().Logf("%s: %d events, %d retries", tc.name, c.events(), rec.DueRetries)
		})
	}
}

// The first retries keep their pace (a platform balance filled up within the day is used at the
// next one), and only then do they back off, doubling up to a day.
func (s *workflowSuite) TestDueRetriesBackOffAfterTheirPace() {
	c := countHistory(s.env)
	s.refusedDues(c, time.Minute)
	var atDay, atThreeDays int
	s.env.RegisterDelayedCallback(func() { atDay = s.w.saved[len(s.w.saved)-1].DueRetries }, day+2*time.Minute)
	s.env.RegisterDelayedCallback(func() { atThreeDays = s.w.saved[len(s.w.saved)-1].DueRetries }, 3*day+2*time.Minute)
	in := testInput()
	in.Settings.DueRetryEvery, in.Settings.SettleWindow = time.Hour, 10*day
	s.env.ExecuteWorkflow(Workflow, in)
	rec := result(s.T(), s.env)
	s.Equal(dueRetriesAtPace, atDay, "hourly through the first day")
	// Then after 2, 4, 8 and 16 hours (at 26, 30, 38 and 54 h), then daily (78, 102, ... 222 h)
	// and once more as the window closes at 240 h.
	s.Equal(dueRetriesAtPace+4, atThreeDays)
	s.Equal(dueRetriesAtPace+4+8, rec.DueRetries, "daily once backed off to a day, until the window closes")
}

// A leg held for 90 days with nobody deciding is asked about less and less often, up to once a
// day (code path 19): a small history, far from the warning.
func (s *workflowSuite) TestHistoryOfALegHeldFor90DaysStaysBounded() {
	c := countHistory(s.env)
	s.w.holds["v1"] = `vendor "v1" is not registered`
	c.signalAt(s.env, time.Second, SignalEvent, captureEvent("evt_1", gross))
	var atDay int
	c.at(s.env, day, &atDay)
	c.signalAt(s.env, 90*day, SignalAdmin, AdminCommand{Action: ActionCancel, Actor: "ops"})
	in := testInput()
	in.Settings.HoldRecheckEvery = time.Hour
	s.env.ExecuteWorkflow(Workflow, in)
	rec := result(s.T(), s.env)
	s.Equal(payment.StatusCompensated, rec.Status)
	s.Less(atDay, 100)
	s.Less(c.events(), 700, "about 6 events a day once asked daily")
	s.T().Logf("held 90 days: %d events, %d at a day", c.events(), atDay)
}

// A top-up held for its payee keeps a settled payment's run open after its settle window, the
// payee asked about less and less often, up to once a day (code path 19): the settle window's
// hourly retries of it, then a small history for the 90 days until the payee can receive.
func (s *workflowSuite) TestHistoryOfATopUpHeldFor90DaysStaysBounded() {
	c := countHistory(s.env)
	s.taxRules()
	c.signalAt(s.env, time.Second, SignalEvent, captureEvent("evt_1", gross))
	s.holdPayee(30*time.Second, movedAway)
	c.signalAt(s.env, time.Minute, SignalEvent, correction("correction-v4", 4))
	var atWindow int
	c.at(s.env, day+time.Minute, &atWindow)
	s.holdPayee(90*day, "")
	in := testInput()
	in.Settings.DueRetryEvery, in.Settings.HoldRecheckEvery, in.Settings.SettleWindow = time.Hour, time.Hour, day
	start := s.env.Now()
	s.env.ExecuteWorkflow(Workflow, in)
	rec := result(s.T(), s.env)
	s.checkBooks(rec)
	s.paidTopUpOnce(rec)
	s.GreaterOrEqual(s.env.Now().Sub(start), 90*day, "open until the payee could receive")
	s.Less(atWindow, 300, "the settle window's hourly retries")
	s.Less(c.events(), 900, "then about 6 events a day")
	s.T().Logf("top-up held 90 days: %d events, %d at the window's end", c.events(), atWindow)
}

// The other long waits are one timer each: a refund's run waiting for its capture (7 days) and
// then, needing attention, for a late one (30 more), and a failed payout waiting for a decision
// (72 hours) add a handful of events however long they last.
func (s *workflowSuite) TestHistoryOfTheSingleTimerWaitsStaysSmall() {
	s.Run("no capture for 37 days", func() {
		s.SetupTest()
		c := countHistory(s.env)
		c.signalAt(s.env, time.Second, SignalEvent, refundEvent("evt_r", 100))
		in := testInput()
		in.Settings.CaptureWait, in.Settings.LateCaptureWait = 7*day, 30*day
		start := s.env.Now()
		s.env.ExecuteWorkflow(Workflow, in)
		rec := result(s.T(), s.env)
		s.Equal(payment.StatusNeedsAttention, rec.Status)
		s.GreaterOrEqual(s.env.Now().Sub(start), 37*day)
		s.Less(c.events(), 40)
	})
	s.Run("a failed payout nobody decides on", func() {
		s.SetupTest()
		c := countHistory(s.env)
		s.w.failNext["vendor"] = []error{rejected("insufficient funds")}
		c.signalAt(s.env, time.Second, SignalEvent, captureEvent("evt_1", gross))
		in := testInput()
		in.Settings.DecisionTimeout = 72 * time.Hour
		start := s.env.Now()
		s.env.ExecuteWorkflow(Workflow, in)
		rec := result(s.T(), s.env)
		s.Equal(payment.StatusCompensated, rec.Status)
		s.GreaterOrEqual(s.env.Now().Sub(start), 72*time.Hour)
		s.Less(c.events(), 40)
	})
}

// Signals are the only growth no timer bounds: each event or command that reaches an open run
// costs a few events, so a run reaches the warning only after hundreds of them (thousands for
// most kinds), far beyond what one payment is sent in its settle window or while held.
func (s *workflowSuite) TestHistoryPerSignalIsBounded() {
	for _, tc := range []struct {
		name  string
		held  bool
		bound float64
		ev    func(i int) (string, any)
	}{
		{"a refund delivered again", false, 4.5, func(int) (string, any) { return SignalEvent, refundEvent("evt_r", 100) }},
		{"partial refunds", false, 9, func(i int) (string, any) {
			return SignalEvent, refundEvent(fmt.Sprintf("evt_r%d", i), int64(i+1))
		}},
		{"an admin's retry at rest", false, 6, func(int) (string, any) { return SignalAdmin, AdminCommand{Action: ActionRetry, Actor: "ops"} }},
		{"Connect releases of a leg still held", true, 14, func(int) (string, any) {
			return SignalAdmin, AdminCommand{Action: ActionRelease, Party: "vendor", Actor: "stripe:account.updated"}
		}},
	} {
		s.Run(tc.name, func() {
			s.SetupTest()
			const n = 200
			c := countHistory(s.env)
			if tc.held {
				s.w.holds["v1"] = `vendor "v1" is not registered`
			}
			c.signalAt(s.env, time.Second, SignalEvent, captureEvent("evt_1", gross))
			var before, after int
			c.at(s.env, time.Minute, &before)
			for i := range n {
				sig, v := tc.ev(i)
				c.signalAt(s.env, time.Duration(i+2)*time.Minute, sig, v)
			}
			c.at(s.env, time.Duration(n+2)*time.Minute, &after)
			if tc.held {
				c.signalAt(s.env, day, SignalAdmin, AdminCommand{Action: ActionCancel, Actor: "ops"})
			}
			in := testInput()
			in.Settings.HoldRecheckEvery, in.Settings.SettleWindow = time.Hour, day
			s.env.ExecuteWorkflow(Workflow, in)
			result(s.T(), s.env)
			per := float64(after-before) / n
			s.LessOrEqual(per, tc.bound, "events a signal")
			s.T().Logf("%s: %.1f events a signal: %d to the warning, %d to termination", tc.name, per,
				int(float64(historyWarnEvents)/per), int(float64(historyLimitEvents)/per))
		})
	}
}

// A payment whose order never comes polls for it (EnrichPoll) until PAYMENT_ENRICH_WAIT has
// passed, each poll a timer, a workflow task, the look and a save (7 events). At a fixed pace a
// long wait took the history past the warning within a day (a minute's poll, a wait of a day:
// 10,000 events). From code path 25 the polls after the first enrichPollsAtPace back off, doubling
// up to an hour: the default hour is as it was, and a week's wait stays small.
func (s *workflowSuite) TestHistoryOfALongOrderWaitStaysBounded() {
	for _, tc := range []struct {
		name  string
		wait  time.Duration
		path  int
		bound int
	}{
		{"the default wait of an hour", time.Hour, CurrentCodePath, 500},
		{"the default wait before code path 25 too", time.Hour, codePathBoundedHistory - 1, 500},
		{"a wait of a day", day, CurrentCodePath, 700},
		{"a wait of a week", 7 * day, CurrentCodePath, 2_000},
	} {
		s.Run(tc.name, func() {
			s.SetupTest()
			c := countHistory(s.env)
			s.w.enrich = func(activities.EnrichInput) activities.EnrichOutput {
				return activities.EnrichOutput{Missing: []string{"vendor_id"}}
			}
			c.signalAt(s.env, time.Second, SignalEvent, captureEvent("evt_1", gross))
			var parked int
			c.at(s.env, tc.wait+time.Minute, &parked)
			c.signalAt(s.env, tc.wait+2*time.Minute, SignalAdmin, AdminCommand{Action: ActionCancel, Actor: "ops"})
			in := testInput()
			in.CodePath = tc.path
			in.Settings.EnrichWait, in.Settings.EnrichPoll = tc.wait, time.Minute
			s.env.ExecuteWorkflow(Workflow, in)
			rec := result(s.T(), s.env)
			s.Equal(payment.StatusCancelled, rec.Status, "parked, then cancelled")
			s.Less(parked, tc.bound, "history events once parked")
			s.T().Logf("%s: %d events once parked, %d looks", tc.name, parked, s.w.calls["step:enrich"])
		})
	}
}

// The first polls keep their pace, then they back off, doubling up to an hour.
func (s *workflowSuite) TestOrderPollsBackOffAfterTheirPace() {
	s.w.enrich = func(activities.EnrichInput) activities.EnrichOutput {
		return activities.EnrichOutput{Missing: []string{"vendor_id"}}
	}
	signalAt(s.env, time.Second, SignalEvent, captureEvent("evt_1", gross))
	var atHour int
	s.env.RegisterDelayedCallback(func() {
		s.w.mu.Lock()
		defer s.w.mu.Unlock()
		atHour = s.w.calls["step:enrich"]
	}, time.Hour+time.Second)
	signalAt(s.env, 10*time.Hour, SignalAdmin, AdminCommand{Action: ActionCancel, Actor: "ops"})
	in := testInput()
	in.Settings.EnrichWait, in.Settings.EnrichPoll = 6*time.Hour, time.Minute
	s.env.ExecuteWorkflow(Workflow, in)
	rec := result(s.T(), s.env)
	s.Equal(payment.StatusCancelled, rec.Status)
	// Prepare's look, then one a minute for the first hour.
	s.Equal(enrichPollsAtPace, atHour)
	// Then after 2, 4, 8, 16 and 32 minutes (62 in all: at 2 h 2 min), then hourly until 6 h
	// (at 3:02, 4:02, 5:02 and, the rest of the wait, 6:00), and once more as the payment parks.
	s.Equal(enrichPollsAtPace+5+4+1, s.w.calls["step:enrich"])
}

// The count is the server's: runs recorded against it (api/server's end-to-end tests), run again
// here on their recorded input, count as many events as their histories hold: one in a single
// workflow task, one with a leg held, asked about after its timer and paid.
func (s *workflowSuite) TestHistoryCountMatchesRecordedRuns() {
	for _, tc := range []struct {
		file, client string
		world        func()
		status       payment.Status
	}{
		{"v26_stripe_paid.json", "acme", func() {}, payment.StatusPaid},
		{"v26_stripe_hold_recheck.json", "recheckco", func() {
			s.w.holds["recheckco-vendor"] = "Stripe account cannot receive transfers"
			s.holdPayeeOf("recheckco-vendor", time.Second, "")
		}, payment.StatusPaid},
	} {
		s.Run(tc.file, func() {
			s.SetupTest()
			f, err := os.Open("testdata/" + tc.file)
			s.Require().NoError(err)
			defer f.Close()
			h, err := client.HistoryFromJSON(f, client.HistoryJSONOptions{})
			s.Require().NoError(err)
			var in Input
			s.Require().NoError(converter.GetDefaultDataConverter().FromPayloads(
				h.Events[0].GetWorkflowExecutionStartedEventAttributes().GetInput(), &in))
			s.w.rules[3] = split.Rule{ClientID: tc.client, Version: 3, PlatformBps: 1000, AffiliateBps: 500}
			tc.world()
			c := countHistory(s.env)
			s.env.ExecuteWorkflow(Workflow, in)
			rec := result(s.T(), s.env)
			s.Equal(tc.status, rec.Status)
			s.Equal(len(h.Events), c.events())
		})
	}
}
