// Package reconcile is the daily (and on demand) comparison of the ledger's payouts with the
// providers'. The work is one activity per provider; the workflow picks the day and keeps the
// result in history, so a run can be looked up in the Temporal UI.
package reconcile

import (
	"context"
	"errors"
	"fmt"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"paysplit/activities"
	"paysplit/workflows/retries"
	"paysplit/workflows/schedules"
)

// Names other programs use.
const (
	WorkflowName = "ReconcileWorkflow"
	ScheduleID   = "reconcile-daily"
)

// Input picks the day (UTC) to reconcile; zero means the day before the run was due.
type Input struct {
	Day       time.Time
	Providers []string
}

// Output has one result per provider.
type Output struct {
	Day  time.Time
	Runs map[string]activities.ReconcileOutput
}

var rec *activities.Reconciler

// outageRetriesChange versions how long a provider's reconciliation retries: ten attempts gave
// up after some 20 minutes, so a provider (or Postgres) down for an hour at 02:00 failed the run,
// and as each run does the day before it was due, nothing ever reconciled that day again.
const outageRetriesChange = "outage-retries"

// providerRetryFor is how long one provider's reconciliation is retried: a day's outage and then
// some. It is longer than the day between two runs, so the schedule must not skip a run while
// another is going (scheduleOptions).
const providerRetryFor = 48 * time.Hour

// Workflow reconciles one day for each provider.
func Workflow(ctx workflow.Context, in Input) (Output, error) {
	day := in.Day.UTC().Truncate(24 * time.Hour)
	if in.Day.IsZero() {
		// The day before the run was due, not before it started: a run caught up late must not
		// skip its day and do the next one twice.
		day = schedules.DueAt(ctx).UTC().Truncate(24 * time.Hour).Add(-24 * time.Hour)
	}
	providers := in.Providers
	if len(providers) == 0 {
		providers = []string{activities.ProviderStripe, activities.ProviderPayPal}
	}
	opts := workflow.ActivityOptions{
		StartToCloseTimeout: 30 * time.Minute,
		HeartbeatTimeout:    time.Minute,
		RetryPolicy:         &temporal.RetryPolicy{InitialInterval: 5 * time.Second, BackoffCoefficient: 2, MaximumInterval: 5 * time.Minute, MaximumAttempts: 10},
	}
	if workflow.GetVersion(ctx, outageRetriesChange, workflow.DefaultVersion, 1) >= 1 {
		opts = retries.UntilOutageEnds(opts, providerRetryFor)
	}
	ctx = workflow.WithActivityOptions(ctx, opts)
	out := Output{Day: day, Runs: map[string]activities.ReconcileOutput{}}
	var failed []error
	id := workflow.GetInfo(ctx).WorkflowExecution.ID
	for _, p := range providers {
		var res activities.ReconcileOutput
		err := workflow.ExecuteActivity(ctx, rec.Reconcile, activities.ReconcileInput{
			Provider: p, From: day, To: day.Add(24 * time.Hour), WorkflowID: id,
		}).Get(ctx, &res)
		if err != nil {
			// One provider failing (unreachable all day, a refusal) no longer leaves the others
			// unreconciled; runs from before went no further.
			if workflow.GetVersion(ctx, "reconcile-every-provider", workflow.DefaultVersion, 1) == workflow.DefaultVersion {
				return out, err
			}
			failed = append(failed, fmt.Errorf("%s: %w", p, err))
			continue
		}
		if n := max(res.DriftCount, len(res.Drifts)); n > 0 {
			workflow.GetLogger(ctx).Warn("reconciliation drift", "Provider", p, "Day", day, "Drifts", n)
		}
		out.Runs[p] = res
	}
	if len(failed) > 0 {
		// The run fails (a failed run in the Temporal UI, the admin API's answer an error) once
		// every provider was tried; what the others found is stored.
		return out, fmt.Errorf("reconciliation of %s: %w", day.Format(time.DateOnly), errors.Join(failed...))
	}
	return out, nil
}

// Register registers the workflow on a worker.
func Register(r worker.WorkflowRegistry) {
	r.RegisterWorkflowWithOptions(Workflow, workflow.RegisterOptions{Name: WorkflowName})
}

// EnsureSchedule creates the daily schedule (02:00 UTC, yesterday's payouts), or brings an
// existing one in line.
func EnsureSchedule(ctx context.Context, c client.Client, taskQueue string) error {
	return schedules.Ensure(ctx, c.ScheduleClient(), scheduleOptions(taskQueue))
}

// catchupWindow is how long after its due time a run the Temporal service missed still runs.
const catchupWindow = 7 * 24 * time.Hour

// scheduleOptions is the daily schedule. Overlap "allow all": a run waiting out an outage can
// last longer than a day (providerRetryFor), and with "skip" the next day's run would be dropped
// and that day never reconciled. Each run has its own workflow ID (the schedule appends its
// time) and its own day, so two at once do not meet.
//
// Catch-up a week: after the Temporal service was down, each run it missed reconciles its own day
// (DueAt) and nothing else ever does, so every missed run is taken, at once. A window of a day
// lost the oldest day of any outage longer than that.
func scheduleOptions(taskQueue string) client.ScheduleOptions {
	return client.ScheduleOptions{
		ID: ScheduleID,
		Spec: client.ScheduleSpec{Calendars: []client.ScheduleCalendarSpec{{
			Hour: []client.ScheduleRange{{Start: 2}}, Minute: []client.ScheduleRange{{Start: 0}},
		}}},
		Overlap:       enumspb.SCHEDULE_OVERLAP_POLICY_ALLOW_ALL,
		CatchupWindow: catchupWindow,
		Action: &client.ScheduleWorkflowAction{
			ID: ScheduleID, Workflow: WorkflowName, TaskQueue: taskQueue, Args: []any{Input{}},
		},
	}
}
