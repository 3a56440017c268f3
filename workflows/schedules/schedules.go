// Package schedules holds what every Temporal Schedule of the platform needs: create it, or bring
// an existing one in line with the options this code wants now.
package schedules

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"
)

// Ensure creates the schedule, or updates an existing one with the same ID to opts' spec, action,
// overlap policy and catch-up window, so a changed setting takes effect at the next start.
// Several workers starting at once are fine: one creates, the others update to the same thing.
func Ensure(ctx context.Context, sc client.ScheduleClient, opts client.ScheduleOptions) error {
	_, err := sc.Create(ctx, opts)
	if err == nil {
		return nil
	}
	if !errors.Is(err, temporal.ErrScheduleAlreadyRunning) {
		return fmt.Errorf("create schedule %s: %w", opts.ID, err)
	}
	err = sc.GetHandle(ctx, opts.ID).Update(ctx, client.ScheduleUpdateOptions{
		DoUpdate: func(in client.ScheduleUpdateInput) (*client.ScheduleUpdate, error) {
			s := in.Description.Schedule
			spec := opts.Spec
			s.Spec = &spec
			s.Action = opts.Action
			if s.Policy == nil {
				s.Policy = &client.SchedulePolicies{}
			}
			s.Policy.Overlap, s.Policy.CatchupWindow = opts.Overlap, opts.CatchupWindow
			return &client.ScheduleUpdate{Schedule: &s}, nil
		},
	})
	if err != nil {
		return fmt.Errorf("update schedule %s: %w", opts.ID, err)
	}
	return nil
}

// scheduledStartKey is set by Temporal on the runs a schedule starts.
var scheduledStartKey = temporal.NewSearchAttributeKeyTime("TemporalScheduledStartTime")

// DueAt is when the schedule meant the run to start, or workflow.Now for a run no schedule
// started: a run caught up late (within the catch-up window) still does the period it was due for.
func DueAt(ctx workflow.Context) time.Time {
	if at, ok := workflow.GetTypedSearchAttributes(ctx).GetTime(scheduledStartKey); ok {
		return at
	}
	return workflow.Now(ctx)
}
