// Package integrity is the ledger integrity workflow: it verifies the journal's hash chain,
// evaluates the admins' balance monitors and delivers the alerts they raise. Temporal Schedules
// (schedule.go) run it daily with chain verification and every few minutes for monitors only.
package integrity

import (
	"fmt"
	"time"

	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"paysplit/activities"
	"paysplit/internal/ledger"
	"paysplit/internal/monitor"
	"paysplit/workflows/retries"
)

// WorkflowName is the registered workflow type.
const WorkflowName = "LedgerIntegrity"

// act is a nil pointer used only to name activity methods; the worker registers a real one.
var act *activities.Integrity

// Input says what one run does. Alerts queued by earlier runs are always delivered.
type Input struct {
	VerifyChain      bool
	EvaluateMonitors bool
}

// Result is what one run found and did.
type Result struct {
	// Chain is the verification, nil when not asked for. Its head hash recorded here, in
	// Temporal's history, is an anchor outside the database the chain lives in.
	Chain      *ledger.Verification
	ChainAlert *monitor.Outcome
	Monitors   *activities.EvaluateMonitorsOutput
	Alerts     activities.DeliverAlertsOutput
}

// Register registers the workflow under its name on a worker.
func Register(r worker.WorkflowRegistry) {
	r.RegisterWorkflowWithOptions(Workflow, workflow.RegisterOptions{Name: WorkflowName})
}

// dbOptions: Postgres may restart; keep trying for a while, nothing is lost by waiting.
func dbOptions(timeout time.Duration) workflow.ActivityOptions {
	return workflow.ActivityOptions{
		StartToCloseTimeout: timeout,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval: time.Second, BackoffCoefficient: 2, MaximumInterval: time.Minute, MaximumAttempts: 10,
		},
	}
}

// outageRetriesChange versions how long the daily round's Postgres steps retry: ten attempts,
// about four minutes, so Postgres down for an hour failed the round, and with monitors evaluated
// only daily (MONITOR_EVAL_EVERY=0) that day's monitors went unevaluated and its queued alerts
// undelivered until the next day.
const outageRetriesChange = "outage-retries"

// dailyRetryFor is how long a daily round's Postgres steps retry, in all: within its execution
// timeout (dailyRunTimeout), leaving time to deliver the alerts. Monitors-only rounds keep their
// ten attempts: the next one comes within minutes, and one waiting longer would only hold it back.
const dailyRetryFor = dailyRunTimeout - time.Hour

// verifyHeartbeatTimeout: the chain verification reads the whole journal, which only grows,
// for up to 30 minutes; its heartbeats (activities.VerifyLedgerChain) let a worker that died
// during it be noticed within this, not at the attempt's timeout, and tell an attempt the round
// no longer waits for (timed out, cancelled) to stop. Activity options are not matched on
// replay (only an activity's ID and type are), so runs in progress replay unchanged.
const verifyHeartbeatTimeout = 2 * time.Minute

// deliverOptions: a receiver that is down gets a few tries in this run; what is still queued
// afterwards is tried again by the next run.
func deliverOptions() workflow.ActivityOptions {
	return workflow.ActivityOptions{
		StartToCloseTimeout: 5 * time.Minute,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval: 5 * time.Second, BackoffCoefficient: 2, MaximumInterval: time.Minute, MaximumAttempts: 4,
		},
	}
}

// Workflow runs one integrity round. A broken chain or a firing monitor is a result (and an
// alert), not a failure; the run fails only when a step cannot be carried out, including alerts
// that could not be delivered, so it shows up as failed in the Temporal UI.
func Workflow(ctx workflow.Context, in Input) (Result, error) {
	logger := log.With(workflow.GetLogger(ctx), "VerifyChain", in.VerifyChain, "EvaluateMonitors", in.EvaluateMonitors)
	var res Result
	db := dbOptions
	if workflow.GetVersion(ctx, outageRetriesChange, workflow.DefaultVersion, 1) >= 1 && in.VerifyChain {
		// One deadline for all steps, so together they still leave time to deliver.
		deadline := workflow.Now(ctx).Add(dailyRetryFor)
		db = func(timeout time.Duration) workflow.ActivityOptions {
			return retries.UntilOutageEnds(dbOptions(timeout), max(deadline.Sub(workflow.Now(ctx)), timeout))
		}
	}

	if in.VerifyChain {
		var v activities.VerifyLedgerChainOutput
		vopts := db(30 * time.Minute)
		vopts.HeartbeatTimeout = verifyHeartbeatTimeout
		vctx := workflow.WithActivityOptions(ctx, vopts)
		if err := workflow.ExecuteActivity(vctx, act.VerifyLedgerChain, activities.VerifyLedgerChainInput{}).Get(ctx, &v); err != nil {
			return res, fmt.Errorf("verify ledger chain: %w", err)
		}
		res.Chain = &v.Verification
		if !v.Verification.OK {
			logger.Error("ledger chain broken", "EntryID", v.Verification.Break.EntryID, "Reason", v.Verification.Break.Reason)
		}
		var o monitor.Outcome
		rctx := workflow.WithActivityOptions(ctx, db(time.Minute))
		in := activities.RecordChainVerificationInput(v)
		if err := workflow.ExecuteActivity(rctx, act.RecordChainVerification, in).Get(ctx, &o); err != nil {
			return res, fmt.Errorf("record chain verification: %w", err)
		}
		res.ChainAlert = &o
	}

	if in.EvaluateMonitors {
		var m activities.EvaluateMonitorsOutput
		mctx := workflow.WithActivityOptions(ctx, db(10*time.Minute))
		if err := workflow.ExecuteActivity(mctx, act.EvaluateMonitors, activities.EvaluateMonitorsInput{}).Get(ctx, &m); err != nil {
			return res, fmt.Errorf("evaluate monitors: %w", err)
		}
		res.Monitors = &m
		if len(m.Failed) > 0 {
			logger.Warn("monitors could not be evaluated", "Failed", m.Failed)
		}
	}

	dctx := workflow.WithActivityOptions(ctx, deliverOptions())
	if err := workflow.ExecuteActivity(dctx, act.DeliverAlerts, activities.DeliverAlertsInput{}).Get(ctx, &res.Alerts); err != nil {
		return res, fmt.Errorf("deliver alerts: %w", err)
	}
	return res, nil
}
