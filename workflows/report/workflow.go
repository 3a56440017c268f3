// Package report runs the weekly client reports on Temporal. A Schedule per time zone starts
// WeeklyReports on Monday 06:00 there (schedule.go); it starts one ClientReport child per client
// of that zone, so a client that fails (bad data, a mail server refusing) fails alone and the
// others are delivered. A ClientReport runs generate → upload → email as activities, each
// idempotent per client and week, so a rerun sends nothing unless an admin asks for a resend.
package report

import (
	"errors"
	"fmt"
	"slices"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"paysplit/activities"
	ireport "paysplit/internal/report"
	"paysplit/workflows/retries"
	"paysplit/workflows/schedules"
)

// Registered workflow types.
const (
	WeeklyWorkflowName = "WeeklyReports"
	ClientWorkflowName = "ClientReport"
)

// act is a nil pointer used only to name activity methods; the worker registers a real one.
var act *activities.Reports

// Register registers both workflows under their names on a worker.
func Register(r worker.WorkflowRegistry) {
	r.RegisterWorkflowWithOptions(Weekly, workflow.RegisterOptions{Name: WeeklyWorkflowName})
	r.RegisterWorkflowWithOptions(Client, workflow.RegisterOptions{Name: ClientWorkflowName})
}

// ClientWorkflowID is the ID of every run for one client's report of one week: the schedule's
// run, an admin's resend and regenerate share it, so two of them never run at once.
func ClientWorkflowID(clientID, week string) string { return "report-" + clientID + "-" + week }

// WeeklyInput names the time zone whose clients a run serves. Week (e.g. 2026-W07) is for
// backfills; empty means the week that ended before the scheduled time.
type WeeklyInput struct {
	TimeZone string
	Week     string
	// Progress is set on a run that an earlier run of the zone's week continued as (then Week is
	// the week that run reported): where the zone's clients stand.
	Progress *WeeklyProgress `json:",omitempty"`
}

// WeeklyProgress is what a zone's run hands to the run it continues as: one run's history keeps
// every child it started, so a zone's week runs as a chain of runs of at most clientsPerRun
// clients each.
type WeeklyProgress struct {
	// After is the last client listed; the next run lists the clients after it.
	After string `json:",omitempty"`
	// Listed is set once every client of the zone has been listed.
	Listed bool `json:",omitempty"`
	// Held are clients whose report an admin's run was making: started again once their wait is
	// over, by a later run, so one client's wait never holds back the zone's other clients.
	Held []HeldClient `json:",omitempty"`
	// Outcomes of the earlier runs' clients, the first maxReportedOutcomes; Totals counts all.
	Outcomes []ClientOutcome `json:",omitempty"`
	Totals   WeeklyTotals
}

// HeldClient is a client whose report could not be started while an admin's run of the same
// report was going (runClient's wait, carried from run to run).
type HeldClient struct {
	ClientID string
	// Attempts is how many starts were refused; Since when the first was.
	Attempts int
	Since    time.Time
	// RetryAt is when to start it again.
	RetryAt time.Time
}

// WeeklyTotals counts the zone's clients of a week by outcome, over all its runs.
type WeeklyTotals struct {
	Clients        int
	Sent           int
	NotSent        int
	Failed         int
	AlreadyRunning int
	Running        int `json:",omitempty"`
}

func (t *WeeklyTotals) add(o ClientOutcome) {
	t.Clients++
	switch o.Status {
	case "sent":
		t.Sent++
	case "not_sent":
		t.NotSent++
	case "failed":
		t.Failed++
	case "already_running":
		t.AlreadyRunning++
	case "running":
		t.Running++
	}
}

// ClientOutcome is what became of one client in a weekly run.
type ClientOutcome struct {
	ClientID string
	// Status: "sent", "not_sent" (Reason says why), "failed" (Error), "already_running" (an
	// admin's run of the report was going), or "running": the client's run was still retrying a
	// dependency that is down when the zone's run stopped waiting for it (longClientRunsChange);
	// it goes on alone and sends the report once the dependency is back.
	Status string
	Reason string `json:",omitempty"`
	Error  string `json:",omitempty"`
}

// WeeklyResult lists every client's outcome (the first maxReportedOutcomes of a zone run in
// several runs; Totals counts them all). The run itself succeeds when some clients failed: their
// child runs show as failed in the Temporal UI, with the cause.
type WeeklyResult struct {
	Week     string
	Outcomes []ClientOutcome
	Totals   WeeklyTotals
}

// ClientInput asks for one client's report of one week.
type ClientInput struct {
	ClientID string
	Week     string
	// Regenerate renders the report again from current data (an admin's regenerate).
	Regenerate bool
	// EnsureSends is how many sends must have been made when the run ends: 1 for the schedule
	// (the first send, unless it happened), sends made + 1 for an admin's resend, 0 for none.
	EnsureSends int
	// TimeZone, when set, is the zone whose week the report covers; otherwise the client's
	// setting when the report is generated. Set by a run started as the client moves zone, which
	// starts before the move is committed.
	TimeZone string `json:",omitempty"`
	// MoveTx is that move's Postgres transaction: should it not commit, the run makes and sends
	// nothing (moveNotCommittedChange).
	MoveTx string `json:",omitempty"`
	// Weekly marks a run of the weekly schedule (or a zone move's make-up of it), not an admin's:
	// a client offboarded while it runs is not emailed (activities.EmailReportInput.Weekly).
	Weekly bool `json:",omitempty"`
}

// ClientResult is what one run did.
type ClientResult struct {
	Generate activities.GenerateReportOutput
	Upload   activities.UploadReportOutput
	Email    activities.EmailReportOutput
}

// startRetries and startRetryWait bound how long a weekly run waited for an admin's run of the
// same client and week to finish before giving up on that client (runs before
// waitAdminRunChange).
const (
	startRetries   = 10
	startRetryWait = time.Minute
)

// waitAdminRunChange versions how long runClient waits for an admin's run of the same report: an
// admin's regenerate can wait hours for the week's KPIs (waitForKPIs), and ten minutes of retries
// gave up on the client while it did, so a regenerate without email swallowed the week's send.
// Now the waits double from a minute to half an hour, until an admin's run must have ended (its
// execution timeout is clientRunTimeout).
const (
	waitAdminRunChange = "wait-admin-run"
	maxAdminRunWait    = 30 * time.Minute
	clientRunTimeout   = 24 * time.Hour
)

// adminRunWait is how long to sleep before the next start, after waited so far and attempt
// starts; false when the admin's run cannot still be going.
func adminRunWait(attempt int, waited time.Duration) (time.Duration, bool) {
	if waited > clientRunTimeout {
		return 0, false
	}
	wait := startRetryWait
	for i := 1; i < attempt && wait < maxAdminRunWait; i++ {
		wait *= 2
	}
	return min(wait, maxAdminRunWait), true
}

// longClientRunsChange versions how long a client run started by the zone's run lasts: until
// scheduledClientRunTimeout rather than clientRunTimeout. An outage of S3, SMTP or Postgres longer
// than a day used to end the run with its step still failing, and the next Monday's run reports
// only the new week: the week's report was never sent. The zone's run still waits for a client's
// run at most clientRunTimeout (childWait), so it does not hold the zone's week longer than before.
const longClientRunsChange = "long-client-runs"

// scheduledClientRunTimeout bounds a client run the zone's run starts: six days, so a report an
// outage held back still arrives before the next week's (the zone's next run is seven days on)
// and never a week late. An admin's run keeps clientRunTimeout.
const scheduledClientRunTimeout = 6 * 24 * time.Hour

// childWait is how a zone's run waits for its clients' runs from longClientRunsChange on: for each
// at most limit from its start, then the outcome is "running" and its slot goes to the next
// client. One timer for the run, set for the earliest wait to end (a run's history already holds
// some seven events a client; a timer each would add one or two more). A child left running stays
// a pending child of the run until it ends or the run does, so more than maxRunningChildren may
// then be pending, never more than clientsPerRun (1,000), under Temporal's 2,000.
type childWait struct {
	limit time.Duration
	ends  []time.Time // when each child waited for stops being waited for, earliest first
	timer bool        // the timer's coroutine is started
}

// wait waits for the child of fut; false when its wait ended before the child did.
func (w *childWait) wait(ctx workflow.Context, fut workflow.ChildWorkflowFuture) bool {
	// The wait counts from the child's start; a start refused (an admin's run) makes fut ready.
	if err := fut.GetChildWorkflowExecution().Get(ctx, nil); err != nil {
		return true
	}
	end := workflow.Now(ctx).Add(w.limit) // never before the ends already in: the clock only goes on
	w.ends = append(w.ends, end)
	if !w.timer {
		w.timer = true
		workflow.Go(ctx, w.tick)
	}
	err := workflow.Await(ctx, func() bool { return fut.IsReady() || !workflow.Now(ctx).Before(end) })
	if i := slices.Index(w.ends, end); i >= 0 {
		w.ends = slices.Delete(w.ends, i, i+1)
	}
	return err != nil || fut.IsReady()
}

// tick sleeps until the earliest wait ends, which wakes its waiter, as long as the run waits.
func (w *childWait) tick(ctx workflow.Context) {
	for {
		if err := workflow.Await(ctx, func() bool { return len(w.ends) > 0 }); err != nil {
			return
		}
		d := w.ends[0].Sub(workflow.Now(ctx))
		if d <= 0 {
			// Its waiter has yet to run and drop it.
			first := w.ends[0]
			if err := workflow.Await(ctx, func() bool { return len(w.ends) == 0 || !w.ends[0].Equal(first) }); err != nil {
				return
			}
			continue
		}
		if err := workflow.Sleep(ctx, d); err != nil {
			return
		}
	}
}

// maxRunningChildren bounds the ClientReport children a weekly run has at once, well under
// Temporal's limit of pending children per workflow (2,000 by default).
const maxRunningChildren = 500

// runsChange versions Weekly's runs of at most clientsPerRun clients, continued as new: one run
// with every client's child in its history reached Temporal's history limits (10,240 events
// warned, 51,200 terminated the run and no client of the zone got its report) at some
// thousands of clients, about seven events each. Runs from before do all clients in one.
const runsChange = "continue-as-new-runs"

// clientsPerRun bounds the clients one run of a zone's week starts: about 7,000 events at most
// with the starts an admin's run holds back, under the server's 10,240 warning. A variable only
// so tests can make it small.
var clientsPerRun = 1000

// maxReportedOutcomes bounds the outcomes a zone's week carries from run to run and returns
// (Totals counts them all): every run's input holds them, and a payload is limited to 2 MB.
const maxReportedOutcomes = 1000

// Weekly starts a ClientReport for every client of the time zone and waits for all of them, at
// most clientsPerRun clients a run, continuing as new until every client has its outcome.
func Weekly(ctx workflow.Context, in WeeklyInput) (WeeklyResult, error) {
	loc, err := time.LoadLocation(in.TimeZone)
	if err != nil {
		return WeeklyResult{}, temporal.NewNonRetryableApplicationError("unknown time zone "+in.TimeZone, activities.ErrTypeReportInvalid, err)
	}
	week := in.Week
	if week == "" {
		// The schedule's own time, not the clock: a run caught up late still reports the week
		// that ended before it was due.
		week = ireport.LastCompleteWeek(schedules.DueAt(ctx), loc).String()
	} else if _, err := ireport.ParseWeek(week); err != nil {
		return WeeklyResult{}, temporal.NewNonRetryableApplicationError(err.Error(), activities.ErrTypeReportInvalid, err)
	}
	if workflow.GetVersion(ctx, runsChange, workflow.DefaultVersion, 1) == workflow.DefaultVersion {
		return weeklyInOneRun(ctx, in, week)
	}
	return weeklyRun(ctx, in, week)
}

// weeklyInOneRun is Weekly before runsChange: every client in this run.
func weeklyInOneRun(ctx workflow.Context, in WeeklyInput, week string) (WeeklyResult, error) {
	var clients activities.ListReportClientsOutput
	lopts := dbOptions(time.Minute)
	if workflow.GetVersion(ctx, outageRetriesChange, workflow.DefaultVersion, 1) >= 1 {
		lopts = untilRunEnds(weeklyRunTimeout)(lopts)
	}
	lctx := workflow.WithActivityOptions(ctx, lopts)
	if err := workflow.ExecuteActivity(lctx, act.ListReportClients, activities.ListReportClientsInput{TimeZone: in.TimeZone}).Get(ctx, &clients); err != nil {
		return WeeklyResult{}, fmt.Errorf("list clients in %s: %w", in.TimeZone, err)
	}

	res := WeeklyResult{Week: week, Outcomes: make([]ClientOutcome, len(clients.ClientIDs))}
	// Temporal refuses a workflow more than 2,000 pending children: the task that started
	// 2,001 at once failed again at every attempt and no client of the zone got a report. Runs
	// from before started them all at once.
	var slots workflow.Semaphore
	if workflow.GetVersion(ctx, "bounded-children", workflow.DefaultVersion, 1) >= 1 {
		slots = workflow.NewSemaphore(ctx, maxRunningChildren)
	}
	wg := workflow.NewWaitGroup(ctx)
	for i, id := range clients.ClientIDs {
		wg.Add(1)
		workflow.Go(ctx, func(ctx workflow.Context) {
			defer wg.Done()
			if slots != nil {
				if err := slots.Acquire(ctx, 1); err != nil {
					res.Outcomes[i] = ClientOutcome{ClientID: id, Status: "failed", Error: err.Error()}
					return
				}
				defer slots.Release(1)
			}
			res.Outcomes[i] = runClient(ctx, ClientInput{ClientID: id, Week: week, EnsureSends: 1, Weekly: true})
		})
	}
	wg.Wait(ctx)
	logFailed(ctx, week, res.Outcomes)
	for _, o := range res.Outcomes {
		res.Totals.add(o)
	}
	return res, nil
}

func logFailed(ctx workflow.Context, week string, outcomes []ClientOutcome) {
	for _, o := range outcomes {
		if o.Status == "failed" {
			workflow.GetLogger(ctx).Error("client report failed", "ClientID", o.ClientID, "Week", week, "Error", o.Error)
		}
	}
}

// weeklyRun is one run of a zone's week: the held clients whose wait is over and the next page
// of the zone's clients, at most clientsPerRun in all. Then it returns the week's result, or
// continues as new while clients are left to list or held.
func weeklyRun(ctx workflow.Context, in WeeklyInput, week string) (WeeklyResult, error) {
	long := workflow.GetVersion(ctx, longClientRunsChange, workflow.DefaultVersion, 1) >= 1
	var p WeeklyProgress
	if in.Progress != nil {
		p = *in.Progress
	}
	due, waiting := dueHeld(p.Held, workflow.Now(ctx), clientsPerRun)
	listed, err := listPage(ctx, in.TimeZone, &p, clientsPerRun-len(due))
	if err != nil {
		return WeeklyResult{}, err
	}
	if len(listed) == 0 && len(due) == 0 && len(waiting) > 0 {
		// Only clients an admin's run holds are left: wait for the first of them.
		if err := workflow.Sleep(ctx, waiting[0].RetryAt.Sub(workflow.Now(ctx))); err != nil {
			return WeeklyResult{}, err
		}
		due, waiting = dueHeld(waiting, workflow.Now(ctx), clientsPerRun)
	}
	outcomes, held := runClients(ctx, week, due, listed, long)
	logFailed(ctx, week, outcomes)
	for _, o := range outcomes {
		p.Totals.add(o)
		if len(p.Outcomes) < maxReportedOutcomes {
			p.Outcomes = append(p.Outcomes, o)
		}
	}
	p.Held = append(waiting, held...)
	if p.Listed && len(p.Held) == 0 {
		res := WeeklyResult{Week: week, Outcomes: p.Outcomes, Totals: p.Totals}
		if res.Outcomes == nil {
			res.Outcomes = []ClientOutcome{} // a zone without clients, as before runsChange
		}
		return res, nil
	}
	next := WeeklyInput{TimeZone: in.TimeZone, Week: week, Progress: &p}
	return WeeklyResult{}, workflow.NewContinueAsNewError(ctx, WeeklyWorkflowName, next)
}

// dueHeld splits held clients into those to start again now (at most limit) and those still
// waiting, soonest first.
func dueHeld(held []HeldClient, now time.Time, limit int) (due, waiting []HeldClient) {
	held = slices.Clone(held)
	slices.SortStableFunc(held, func(a, b HeldClient) int { return a.RetryAt.Compare(b.RetryAt) })
	for _, h := range held {
		if len(due) < limit && !h.RetryAt.After(now) {
			due = append(due, h)
		} else {
			waiting = append(waiting, h)
		}
	}
	return due, waiting
}

// listPage lists the next limit clients of the zone after p.After and moves p on past them.
func listPage(ctx workflow.Context, zone string, p *WeeklyProgress, limit int) ([]string, error) {
	if p.Listed || limit <= 0 {
		return nil, nil
	}
	var page activities.ListReportClientsOutput
	// Both changes came in the same release: a paged run waits out an outage as the one-run
	// listing does since outage-retries, without a version of its own.
	lctx := workflow.WithActivityOptions(ctx, untilRunEnds(weeklyRunTimeout)(dbOptions(time.Minute)))
	lin := activities.ListReportClientsInput{TimeZone: zone, After: p.After, Limit: limit}
	if err := workflow.ExecuteActivity(lctx, act.ListReportClients, lin).Get(ctx, &page); err != nil {
		return nil, fmt.Errorf("list clients in %s after %q: %w", zone, p.After, err)
	}
	// A worker of the previous release lists the whole zone, in no order, After and Limit unknown
	// to it (a rolling deploy): only the clients after the cursor are this page's, in order, and
	// an answer longer than the page is the rest of the zone, taken in this run as that release
	// did, rather than listed again from every continued run.
	ids := slices.DeleteFunc(slices.Clone(page.ClientIDs), func(id string) bool { return id <= p.After })
	slices.Sort(ids)
	p.Listed = len(page.ClientIDs) > limit || len(ids) < limit
	if n := len(ids); n > 0 {
		p.After = ids[n-1]
	}
	return ids, nil
}

// runClients starts the held clients and the listed ones, maxRunningChildren at once, and waits
// for them: the outcomes in that order, and the clients an admin's run holds (again). long: the
// clients' runs last scheduledClientRunTimeout, each waited for at most clientRunTimeout.
func runClients(ctx workflow.Context, week string, due []HeldClient, listed []string, long bool) ([]ClientOutcome, []HeldClient) {
	timeout, wait := clientRunTimeout, (*childWait)(nil)
	if long {
		timeout, wait = scheduledClientRunTimeout, &childWait{limit: clientRunTimeout}
	}
	todo := slices.Clone(due)
	for _, id := range listed {
		todo = append(todo, HeldClient{ClientID: id})
	}
	outcomes := make([]*ClientOutcome, len(todo))
	var held []HeldClient
	slots := workflow.NewSemaphore(ctx, maxRunningChildren)
	wg := workflow.NewWaitGroup(ctx)
	for i, c := range todo {
		wg.Add(1)
		workflow.Go(ctx, func(ctx workflow.Context) {
			defer wg.Done()
			if err := slots.Acquire(ctx, 1); err != nil {
				outcomes[i] = &ClientOutcome{ClientID: c.ClientID, Status: "failed", Error: err.Error()}
				return
			}
			defer slots.Release(1)
			out, refused := startChild(ctx, ClientInput{ClientID: c.ClientID, Week: week, EnsureSends: 1, Weekly: true}, timeout, wait)
			if !refused {
				outcomes[i] = &out
				return
			}
			if h, again := holdClient(c, workflow.Now(ctx)); again {
				held = append(held, h)
				return
			}
			outcomes[i] = &ClientOutcome{ClientID: c.ClientID, Status: "already_running"}
		})
	}
	wg.Wait(ctx)
	var out []ClientOutcome
	for _, o := range outcomes {
		if o != nil {
			out = append(out, *o)
		}
	}
	return out, held
}

// holdClient records one more refused start of c at now and when to try again; false when the
// admin's run cannot still be going (adminRunWait).
func holdClient(c HeldClient, now time.Time) (HeldClient, bool) {
	if c.Attempts == 0 {
		c.Since = now
	}
	c.Attempts++
	wait, again := adminRunWait(c.Attempts, now.Sub(c.Since))
	c.RetryAt = now.Add(wait)
	return c, again
}

// runClient runs one client's child workflow; an admin's run of the same report in progress is
// waited for and then the child started after it (a regenerate without email must not swallow
// the scheduled send). Runs before runsChange; later ones carry the wait from run to run
// (HeldClient).
func runClient(ctx workflow.Context, in ClientInput) ClientOutcome {
	untilAdminRunEnds := workflow.GetVersion(ctx, waitAdminRunChange, workflow.DefaultVersion, 1) >= 1
	var waited time.Duration
	for attempt := 1; ; attempt++ {
		out, refused := startChild(ctx, in, clientRunTimeout, nil)
		if !refused {
			return out
		}
		wait, again := startRetryWait, attempt < startRetries
		if untilAdminRunEnds {
			wait, again = adminRunWait(attempt, waited)
		}
		if !again {
			out.Status = "already_running"
			return out
		}
		if err := workflow.Sleep(ctx, wait); err != nil {
			out.Status, out.Error = "failed", err.Error()
			return out
		}
		waited += wait
	}
}

// startChild runs one client's child workflow once, for at most timeout: its outcome, or refused
// when a run of the same report (an admin's) is going. With wait, the child is waited for as wait
// allows, then left to run alone ("running").
func startChild(ctx workflow.Context, in ClientInput, timeout time.Duration, wait *childWait) (out ClientOutcome, refused bool) {
	out = ClientOutcome{ClientID: in.ClientID}
	cctx := workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{
		WorkflowID:            ClientWorkflowID(in.ClientID, in.Week),
		WorkflowIDReusePolicy: enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE,
		// A child is independent work: cancelling or terminating the weekly run leaves it be.
		ParentClosePolicy:        enumspb.PARENT_CLOSE_POLICY_ABANDON,
		WorkflowExecutionTimeout: timeout,
	})
	var r ClientResult
	fut := workflow.ExecuteChildWorkflow(cctx, ClientWorkflowName, in)
	if wait != nil && !wait.wait(ctx, fut) {
		out.Status = "running"
		return out, false
	}
	err := fut.Get(ctx, &r)
	switch {
	case err == nil && r.Email.Sent:
		out.Status = "sent"
	case err == nil:
		out.Status, out.Reason = "not_sent", r.Email.Reason
	case temporal.IsWorkflowExecutionAlreadyStartedError(err):
		return out, true
	default:
		out.Status, out.Error = "failed", rootCause(err)
	}
	return out, false
}

// rootCause is the innermost error message: the child's failure rather than its wrappers.
func rootCause(err error) string {
	for {
		next := errors.Unwrap(err)
		if next == nil {
			return err.Error()
		}
		err = next
	}
}

// dbOptions: Postgres may restart; keep trying for a while.
func dbOptions(timeout time.Duration) workflow.ActivityOptions {
	return workflow.ActivityOptions{
		StartToCloseTimeout: timeout,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval: time.Second, BackoffCoefficient: 2, MaximumInterval: time.Minute, MaximumAttempts: 10,
		},
	}
}

// outageRetriesChange versions how long the report's steps retry a dependency that is down.
// Each step used to give up after its attempts, 4 (Postgres) to 45 (SMTP) minutes: an outage of
// an hour failed the client's run (or the zone's, when listing its clients) and nothing runs it
// again, so the week's report was never sent. Now every step retries until its run's execution
// timeout (clientRunTimeout for a client, weeklyRunTimeout for a zone); what no retry can
// fix is ErrTypeReportInvalid, which still fails the run at once.
const outageRetriesChange = "outage-retries"

// untilRunEnds retries a step for as long as the run may last (runTimeout).
func untilRunEnds(runTimeout time.Duration) func(workflow.ActivityOptions) workflow.ActivityOptions {
	return func(o workflow.ActivityOptions) workflow.ActivityOptions {
		return retries.UntilOutageEnds(o, runTimeout)
	}
}

// runDeadlineChange versions how long a client run's steps retry: until the run's own end (its
// start plus its execution timeout), where each step used to get clientRunTimeout from when it
// was scheduled, past the run's end for any step after the first. Generate, which cannot see the
// run's start, then assumed the worst (that the run had spent 14 hours before it) and made the
// report without a KPI source that was down after 9 hours of retries in a run that had not
// waited, and in one whose generate started more than 15 hours in (a long KPI wait, Postgres down
// at the start) its last chance came after the run's end: no report. Now the step's deadline is
// the run's, and generate's last chance is the last hour of the run's first clientRunTimeout
// (GenerateReportInput.LastChanceAt).
const runDeadlineChange = "steps-until-run-deadline"

// lastChanceMargin is how long before the run's end (or the end of its first clientRunTimeout,
// for a longer run) generate stops waiting for a KPI source that is down: the last backoff (5
// minutes at most) and attempt, and the upload and the email after it.
const lastChanceMargin = time.Hour

// minStepTime is the least a step is given when its run is about to end: the server needs a
// positive schedule-to-close timeout, and the run's end stops the step anyway.
const minStepTime = time.Minute

// runSpan is when a run started and when it times out (zero end: it has no timeout).
type runSpan struct{ start, end time.Time }

// runSpanOf is the run's span, read at its first workflow task: its start plus the shorter of its
// execution and run timeouts. The start is the earlier of the start event's time and the task's:
// on the server it is the event's (the task comes after it), while the SDK's test environment
// gives a child run the wall clock's time as its start, and its own clock is the task's.
func runSpanOf(ctx workflow.Context) runSpan {
	info := workflow.GetInfo(ctx)
	start := info.WorkflowStartTime
	if now := workflow.Now(ctx); start.IsZero() || now.Before(start) {
		start = now
	}
	var d time.Duration
	for _, t := range []time.Duration{info.WorkflowExecutionTimeout, info.WorkflowRunTimeout} {
		if t > 0 && (d == 0 || t < d) {
			d = t
		}
	}
	if d == 0 {
		return runSpan{start: start}
	}
	return runSpan{start: start, end: start.Add(d)}
}

// lastChanceAt is when generate makes the report without a KPI source still down: lastChanceMargin
// before the run's end, and no later than a run used to last (clientRunTimeout), so a scheduled
// run given longer to sit out an S3 or SMTP outage does not hold the report for days for a source.
func (r runSpan) lastChanceAt() time.Time {
	end := r.start.Add(clientRunTimeout)
	if !r.end.IsZero() && r.end.Before(end) {
		end = r.end
	}
	return end.Add(-lastChanceMargin)
}

// untilRunDeadline retries a step until the run's end, as it stands when the step is scheduled:
// the step's schedule-to-close deadline is then the run's. A run without a timeout (none is
// started so) gives the step fallback from when it is scheduled, as untilRunEnds does.
func untilRunDeadline(ctx workflow.Context, r runSpan, fallback time.Duration) func(workflow.ActivityOptions) workflow.ActivityOptions {
	return func(o workflow.ActivityOptions) workflow.ActivityOptions {
		left := fallback
		if !r.end.IsZero() {
			left = max(r.end.Sub(workflow.Now(ctx)), minStepTime)
		}
		return retries.UntilOutageEnds(o, left)
	}
}

// keepAttempts leaves o as it is: runs from before outage-retries.
func keepAttempts(o workflow.ActivityOptions) workflow.ActivityOptions { return o }

// waitForKPIsChange versions the wait for the week's KPIs in Client.
const waitForKPIsChange = "wait-for-week-kpis"

// moveNotCommittedChange versions Client's end after generating nothing for a zone move whose
// transaction did not commit (the API starts the run before it commits): no upload, no email.
const moveNotCommittedChange = "move-not-committed"

// waitForKPIs sleeps until the week's KPIs are complete: KPI days are UTC dates, and east of
// UTC+6 the schedule's Monday 06:00 comes before the week's last UTC day has ended, let alone
// been synced. A week ended longer ago than any wait needs no activity.
func waitForKPIs(ctx workflow.Context, in ClientInput, retry func(workflow.ActivityOptions) workflow.ActivityOptions) error {
	w, err := ireport.ParseWeek(in.Week)
	if err != nil {
		return nil // GenerateReport refuses the week for good
	}
	now := workflow.Now(ctx)
	if !now.Before(w.Monday().AddDate(0, 0, 7).Add(ireport.MaxKPIWait)) {
		return nil
	}
	var ready activities.ReportReadyOutput
	rctx := workflow.WithActivityOptions(ctx, retry(dbOptions(time.Minute)))
	rin := activities.ReportInput{ClientID: in.ClientID, Week: in.Week}
	if err := workflow.ExecuteActivity(rctx, act.ReportReadyAt, rin).Get(ctx, &ready); err != nil {
		return fmt.Errorf("report ready time: %w", err)
	}
	if wait := ready.At.Sub(now); wait > 0 {
		workflow.GetLogger(ctx).Info("waiting for the week's KPIs", "ClientID", in.ClientID, "Week", in.Week, "Until", ready.At, "Wait", wait)
		return workflow.Sleep(ctx, wait)
	}
	return nil
}

// Client makes, stores and sends one client's report of one week, once the week's KPIs are
// complete (waitForKPIs). Each step is idempotent, so a rerun (or a retry on another worker)
// repeats nothing that was done.
func Client(ctx workflow.Context, in ClientInput) (ClientResult, error) {
	var res ClientResult
	span := runSpanOf(ctx) // at the first task, before any step or wait
	retry := keepAttempts
	var lastChance time.Time // zero: the activity's rule from before runDeadlineChange
	if workflow.GetVersion(ctx, outageRetriesChange, workflow.DefaultVersion, 1) >= 1 {
		retry = untilRunEnds(clientRunTimeout)
		if workflow.GetVersion(ctx, runDeadlineChange, workflow.DefaultVersion, 1) >= 1 {
			retry, lastChance = untilRunDeadline(ctx, span, clientRunTimeout), span.lastChanceAt()
		}
	}
	// Runs started before the wait existed replay without it (no marker in their history).
	if workflow.GetVersion(ctx, waitForKPIsChange, workflow.DefaultVersion, 1) >= 1 {
		if err := waitForKPIs(ctx, in, retry); err != nil {
			return res, err
		}
	}
	// Gathering may fetch older days from the analytics and payment providers: give it time.
	gctx := workflow.WithActivityOptions(ctx, retry(workflow.ActivityOptions{
		StartToCloseTimeout: 5 * time.Minute,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval: 10 * time.Second, BackoffCoefficient: 2, MaximumInterval: 5 * time.Minute, MaximumAttempts: 8,
			NonRetryableErrorTypes: []string{activities.ErrTypeReportInvalid},
		},
	}))
	gin := activities.GenerateReportInput{ClientID: in.ClientID, Week: in.Week, Force: in.Regenerate, TimeZone: in.TimeZone, MoveTx: in.MoveTx,
		LastChanceAt: lastChance}
	if err := workflow.ExecuteActivity(gctx, act.GenerateReport, gin).Get(ctx, &res.Generate); err != nil {
		return res, fmt.Errorf("generate report: %w", err)
	}
	// Only a run with MoveTx, which runs before this change never had, gets here.
	if res.Generate.MoveNotCommitted && workflow.GetVersion(ctx, moveNotCommittedChange, workflow.DefaultVersion, 1) >= 1 {
		res.Email.Reason = "zone_move_not_committed"
		return res, nil
	}

	uctx := workflow.WithActivityOptions(ctx, retry(workflow.ActivityOptions{
		StartToCloseTimeout: 2 * time.Minute,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval: 5 * time.Second, BackoffCoefficient: 2, MaximumInterval: 5 * time.Minute, MaximumAttempts: 10,
			NonRetryableErrorTypes: []string{activities.ErrTypeReportInvalid},
		},
	}))
	rin := activities.ReportInput{ClientID: in.ClientID, Week: in.Week}
	if err := workflow.ExecuteActivity(uctx, act.UploadReport, rin).Get(ctx, &res.Upload); err != nil {
		return res, fmt.Errorf("upload report: %w", err)
	}

	// A mail server that is down is retried until the run ends (outage-retries; about an hour
	// before); the send is recorded only after the server accepted it, and a retry reuses the
	// send's Message-ID.
	ectx := workflow.WithActivityOptions(ctx, retry(workflow.ActivityOptions{
		StartToCloseTimeout: 2 * time.Minute,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval: 30 * time.Second, BackoffCoefficient: 2, MaximumInterval: 15 * time.Minute, MaximumAttempts: 8,
			NonRetryableErrorTypes: []string{activities.ErrTypeReportInvalid},
		},
	}))
	ein := activities.EmailReportInput{ClientID: in.ClientID, Week: in.Week, EnsureSends: in.EnsureSends, Weekly: in.Weekly}
	if err := workflow.ExecuteActivity(ectx, act.EmailReport, ein).Get(ctx, &res.Email); err != nil {
		return res, fmt.Errorf("email report: %w", err)
	}
	return res, nil
}
