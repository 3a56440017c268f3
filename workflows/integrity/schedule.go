package integrity

import (
	"context"
	"errors"
	"fmt"
	"paysplit/workflows/schedules"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
)

// Schedule IDs. Stable, so every worker start finds the same schedules instead of adding more.
const (
	ScheduleDaily    = "ledger-integrity-daily"
	ScheduleMonitors = "monitors-evaluate"
)

// ScheduleConfig says when the integrity workflow runs.
type ScheduleConfig struct {
	TaskQueue string
	// VerifyCron is the cron expression (UTC) of the full round: chain verification and monitors.
	VerifyCron string
	// MonitorEvery is the interval of the monitors-only round; 0 leaves monitors to the daily one.
	MonitorEvery time.Duration
}

// dailyRunTimeout bounds the daily round (chain verification and monitors).
const dailyRunTimeout = 6 * time.Hour

// schedules are the Temporal Schedules cfg asks for, by ID.
func scheduleOptions(cfg ScheduleConfig) []client.ScheduleOptions {
	out := []client.ScheduleOptions{{
		ID:   ScheduleDaily,
		Spec: client.ScheduleSpec{CronExpressions: []string{cfg.VerifyCron}},
		Action: &client.ScheduleWorkflowAction{
			ID: ScheduleDaily, Workflow: WorkflowName, TaskQueue: cfg.TaskQueue,
			Args:                     []any{Input{VerifyChain: true, EvaluateMonitors: true}},
			WorkflowExecutionTimeout: dailyRunTimeout,
		},
		// A round missed while the cluster was down still runs when it is back, once.
		Overlap:       enumspb.SCHEDULE_OVERLAP_POLICY_SKIP,
		CatchupWindow: 12 * time.Hour,
		Note:          "ledger chain verification and monitor evaluation (paysplit worker)",
	}}
	if cfg.MonitorEvery > 0 {
		out = append(out, client.ScheduleOptions{
			ID:   ScheduleMonitors,
			Spec: client.ScheduleSpec{Intervals: []client.ScheduleIntervalSpec{{Every: cfg.MonitorEvery}}},
			Action: &client.ScheduleWorkflowAction{
				ID: ScheduleMonitors, Workflow: WorkflowName, TaskQueue: cfg.TaskQueue,
				Args:                     []any{Input{EvaluateMonitors: true}},
				WorkflowExecutionTimeout: time.Hour,
			},
			Overlap:       enumspb.SCHEDULE_OVERLAP_POLICY_SKIP,
			CatchupWindow: max(cfg.MonitorEvery, time.Minute),
			Note:          "monitor evaluation (paysplit worker)",
		})
	}
	return out
}

// EnsureSchedules creates the integrity schedules, or brings existing ones in line with cfg
// (spec and action), so a changed INTEGRITY_VERIFY_CRON takes effect at the next worker start.
// Several workers starting at once are fine: one creates, the others find it exists.
func EnsureSchedules(ctx context.Context, c client.Client, cfg ScheduleConfig) error {
	if cfg.TaskQueue == "" || cfg.VerifyCron == "" {
		return errors.New("integrity: schedules need a task queue and a cron expression")
	}
	sc := c.ScheduleClient()
	for _, opts := range scheduleOptions(cfg) {
		if err := schedules.Ensure(ctx, sc, opts); err != nil {
			return fmt.Errorf("integrity: %w", err)
		}
	}
	if cfg.MonitorEvery == 0 {
		// Monitors were switched to the daily round only: the interval schedule goes.
		err := sc.GetHandle(ctx, ScheduleMonitors).Delete(ctx)
		var nf *serviceerror.NotFound
		if err != nil && !errors.As(err, &nf) {
			return fmt.Errorf("integrity: delete schedule %s: %w", ScheduleMonitors, err)
		}
	}
	return nil
}
