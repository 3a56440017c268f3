package kpisync

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
)

// refreshPoll is how often Refresh looks for the run its trigger started; the schedule starts
// it within milliseconds, so a few looks are enough.
const refreshPoll = 100 * time.Millisecond

// refreshMargin is kept from the caller's deadline to answer in time with what is there.
const refreshMargin = 500 * time.Millisecond

// Refresh runs the client's sync now by triggering its schedule, and returns when that run has
// finished (fresh data stored, or its failure recorded) or shortly before ctx's deadline, with
// the run still going or still queued behind the one before it. Either way the caller then reads
// what Postgres has. It returns an error only when the run could not be started (ErrUnavailable
// when Temporal cannot be reached before the trigger is accepted), or when the schedule was
// deleted before the run showed: once triggered, a failure to see the run is not one to start it.
//
// The trigger overrides the schedule's overlap policy ("skip") with "buffer one": a refresh is
// not skipped because a run is in progress (it may have read the client's settings before the
// change the user refreshes for), it starts when that run ends; a refresh while one is already
// waiting is served by the waiting one, which starts after it too. So a client has at most one run
// going and one queued, however often it refreshes: with a run per refresh ("allow all"), a client
// pressing refresh while a source hangs piled up runs holding a worker activity slot each for as
// long as the source's timeouts, until the worker had no slot left for anything else.
func (s *Scheduler) Refresh(ctx context.Context, clientID string) error {
	wait, cancel := context.WithCancel(ctx)
	if dl, ok := ctx.Deadline(); ok {
		cancel()
		wait, cancel = context.WithDeadline(ctx, dl.Add(-refreshMargin))
	}
	defer cancel()
	h := s.Client.ScheduleClient().GetHandle(wait, ScheduleID(clientID))
	before, err := h.Describe(wait)
	var nf *serviceerror.NotFound
	if errors.As(err, &nf) {
		// A client from before schedules existed, or one whose creation hook failed.
		if err := s.EnsureClient(wait, clientID); err != nil {
			return err
		}
		before, err = h.Describe(wait)
	}
	if err != nil {
		return fmt.Errorf("describe schedule %s: %w", ScheduleID(clientID), unavailable(err))
	}
	known := startedRuns(before)
	if err := h.Trigger(wait, client.ScheduleTriggerOptions{Overlap: enumspb.SCHEDULE_OVERLAP_POLICY_BUFFER_ONE}); err != nil {
		return fmt.Errorf("trigger schedule %s: %w", ScheduleID(clientID), unavailable(err))
	}
	run, err := s.awaitStart(wait, h, known)
	if err != nil || run == nil {
		return err // nil, nil: out of time before the run showed; it still runs
	}
	// The run's own failure (a source down) is recorded in the sync status the API shows.
	_ = s.Client.GetWorkflow(wait, run.WorkflowID, run.FirstExecutionRunID).Get(wait, nil)
	return nil
}

// awaitStart polls the schedule until a run that was not there before the trigger shows up; nil,
// nil when it cannot see it (out of time, or the look failed): the run starts all the same.
func (s *Scheduler) awaitStart(ctx context.Context, h client.ScheduleHandle, known map[string]bool) (*client.ScheduleWorkflowExecution, error) {
	tick := time.NewTicker(refreshPoll)
	defer tick.Stop()
	for {
		desc, err := h.Describe(ctx)
		var nf *serviceerror.NotFound
		if errors.As(err, &nf) {
			// Deleted since the trigger (the client offboarded under it): the run may never start.
			return nil, fmt.Errorf("describe schedule %s: %w", h.GetID(), err)
		}
		if err != nil {
			// The trigger was accepted, so the run starts (or waits behind the one in progress)
			// whether or not we see it. The look fails mostly at the deadline: a refresh queued
			// behind a hung run polls until then, and the server may end the last Describe
			// (RST_STREAM CANCEL, DEADLINE_EXCEEDED) before ctx says it is done; checking ctx.Err()
			// then answered "temporal unavailable" (the API's 503) for a run it had queued.
			if ctx.Err() == nil {
				slog.Info("kpi refresh: triggered run not seen; it runs without the caller", "schedule", h.GetID(), "error", err)
			}
			return nil, nil
		}
		for _, r := range runs(desc) {
			if !known[r.WorkflowID+"/"+r.FirstExecutionRunID] {
				return &r, nil
			}
		}
		select {
		case <-ctx.Done():
			return nil, nil
		case <-tick.C:
		}
	}
}

func runs(d *client.ScheduleDescription) []client.ScheduleWorkflowExecution {
	var out []client.ScheduleWorkflowExecution
	for _, a := range d.Info.RecentActions {
		if a.StartWorkflowResult != nil {
			out = append(out, *a.StartWorkflowResult)
		}
	}
	return append(out, d.Info.RunningWorkflows...)
}

func startedRuns(d *client.ScheduleDescription) map[string]bool {
	known := map[string]bool{}
	for _, r := range runs(d) {
		known[r.WorkflowID+"/"+r.FirstExecutionRunID] = true
	}
	return known
}
