// Package kpisync keeps each client's KPIs in Postgres fresh and bounded: a sync workflow per
// client run by a Temporal Schedule (and on demand by triggering that schedule), and a daily
// retention workflow that prunes rows older than the hot window in small batches. The schedules
// themselves are created and updated here (schedule.go).
package kpisync

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"paysplit/activities"
	"paysplit/internal/kpi"
)

// Registered workflow types.
const (
	SyncWorkflowName      = "KPISync"
	RetentionWorkflowName = "KPIRetention"
)

// ErrTypeSyncIncomplete fails a sync run in which a source could not be synced; its numbers in
// Postgres stay as they were and the API shows them stale.
const ErrTypeSyncIncomplete = "KPISyncIncomplete"

// DefaultHotDays is the hot window when nothing else is configured (KPI_RETENTION_DAYS).
const DefaultHotDays = 7

// act is a nil pointer used only to name activity methods; the worker registers a real one.
var act *activities.KPI

// Register registers both workflows under their names on a worker.
func Register(r worker.WorkflowRegistry) {
	r.RegisterWorkflowWithOptions(SyncWorkflow, workflow.RegisterOptions{Name: SyncWorkflowName})
	r.RegisterWorkflowWithOptions(RetentionWorkflow, workflow.RegisterOptions{Name: RetentionWorkflowName})
}

// SyncInput names the client and how many complete days back (and today) each run re-reads.
type SyncInput struct {
	ClientID string
	HotDays  int
}

// SourceResult is one source's outcome in a run.
type SourceResult struct {
	Source string
	OK     bool
	Days   int
	Hours  int
	Error  string `json:",omitempty"`
}

// SyncResult is what a run did, per source.
type SyncResult struct {
	ClientID string
	Sources  []SourceResult
}

// dbOptions: Postgres may restart; waiting costs nothing.
func dbOptions() workflow.ActivityOptions {
	return workflow.ActivityOptions{
		StartToCloseTimeout: 30 * time.Second,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval: time.Second, BackoffCoefficient: 2, MaximumInterval: 30 * time.Second, MaximumAttempts: 8,
			NonRetryableErrorTypes: []string{activities.ErrTypeKPIClientNotFound},
		},
	}
}

// sourceOptions: a source that is down gets about two minutes of retries with backoff in a
// run; after that the run records the failure and the next scheduled run tries again, so a
// source down for hours costs one short run per period, not a pile-up.
//
// A source that hangs rather than refuses runs each attempt to its start-to-close timeout, and
// five of those (11 minutes with the backoffs) outlasted the run (syncRunTimeout): the run timed
// out before it recorded the failure, the source never showed as failing, and the sync ran past
// the time the weekly report gives it (report.KPISyncRunTime). sourceStepTimeout ends the step,
// all attempts together, with time left to record it.
func sourceOptions() workflow.ActivityOptions {
	return workflow.ActivityOptions{
		ScheduleToCloseTimeout: sourceStepTimeout,
		StartToCloseTimeout:    2 * time.Minute,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval: 5 * time.Second, BackoffCoefficient: 2, MaximumInterval: time.Minute, MaximumAttempts: 5,
			NonRetryableErrorTypes: []string{activities.ErrTypeKPISourceRefused, activities.ErrTypeKPIClientNotFound},
		},
	}
}

// SyncWorkflow syncs one client's sources in parallel: each writes its days of the hot window
// and today's hours (upserts, so overlapping or repeated runs are harmless) and records a good
// sync; a source that still fails after its retries is recorded as failed, its stored numbers
// untouched, and the run fails naming it so it shows in the Temporal UI.
func SyncWorkflow(ctx workflow.Context, in SyncInput) (SyncResult, error) {
	res := SyncResult{ClientID: in.ClientID}
	if in.ClientID == "" {
		return res, temporal.NewNonRetryableApplicationError("kpi sync needs a client", "InvalidInput", nil)
	}
	hotDays := in.HotDays
	if hotDays <= 0 {
		hotDays = DefaultHotDays
	}
	dbctx := workflow.WithActivityOptions(ctx, dbOptions())
	var plan activities.PlanKPISyncOutput
	if err := workflow.ExecuteActivity(dbctx, act.PlanKPISync, activities.PlanKPISyncInput{ClientID: in.ClientID}).Get(ctx, &plan); err != nil {
		return res, fmt.Errorf("plan kpi sync of %s: %w", in.ClientID, err)
	}
	now := workflow.Now(ctx)
	base := activities.SyncKPISourceInput{
		ClientID: in.ClientID, Currency: plan.Currency,
		From: kpi.HotStart(now, hotDays), To: kpi.DayOf(now), Today: kpi.DayOf(now),
	}
	sctx := workflow.WithActivityOptions(ctx, sourceOptions())
	futures := make(map[string]workflow.Future, len(plan.Sources))
	for _, src := range plan.Sources {
		si := base
		si.Source = src
		futures[src] = workflow.ExecuteActivity(sctx, act.SyncKPISource, si)
	}
	var failed []string
	for _, src := range plan.Sources {
		var out activities.SyncKPISourceOutput
		err := futures[src].Get(ctx, &out)
		if err == nil {
			res.Sources = append(res.Sources, SourceResult{Source: src, OK: true, Days: out.Days, Hours: out.Hours})
			continue
		}
		msg := sourceMessage(err)
		res.Sources = append(res.Sources, SourceResult{Source: src, Error: msg})
		failed = append(failed, src)
		rec := activities.RecordKPISyncFailureInput{ClientID: in.ClientID, Source: src, Message: msg, StartedAt: now}
		if err := workflow.ExecuteActivity(dbctx, act.RecordKPISyncFailure, rec).Get(ctx, nil); err != nil {
			return res, fmt.Errorf("record kpi sync failure of %s/%s: %w", in.ClientID, src, err)
		}
	}
	if len(failed) > 0 {
		sort.Strings(failed)
		return res, temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("kpi sync of %s: %s failed", in.ClientID, strings.Join(failed, ", ")), ErrTypeSyncIncomplete, nil, res)
	}
	return res, nil
}

// sourceMessage is the innermost message of an activity failure: what the source said, without
// Temporal's wrapping ("activity error (type: ..., attempt: ...)").
func sourceMessage(err error) string {
	var app *temporal.ApplicationError
	if errors.As(err, &app) {
		return app.Message()
	}
	var to *temporal.TimeoutError
	if errors.As(err, &to) {
		return "source timed out"
	}
	return err.Error()
}

// RetentionInput is how many complete days Postgres keeps (and today) and the batch size.
type RetentionInput struct {
	Days      int
	BatchSize int
}

// sourceStepTimeout bounds a source's step, retries included: under report.KPISyncRunTime by
// what recording its failure takes (an attempt of dbOptions).
const sourceStepTimeout = 4 * time.Minute

// DefaultBatchSize keeps each DELETE short: row locks for a few milliseconds, little WAL at once.
const DefaultBatchSize = 1000

// RetentionWorkflow deletes KPI rows (and webhook delivery records) older than the hot window,
// in batches. It never touches the ledger or payments: those are the books.
func RetentionWorkflow(ctx workflow.Context, in RetentionInput) (activities.PruneKPIsOutput, error) {
	var out activities.PruneKPIsOutput
	if in.Days < 1 {
		return out, temporal.NewNonRetryableApplicationError(fmt.Sprintf("retention of %d days would delete today's KPIs", in.Days), "InvalidInput", nil)
	}
	batch := in.BatchSize
	if batch <= 0 {
		batch = DefaultBatchSize
	}
	actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: time.Hour,
		HeartbeatTimeout:    2 * time.Minute,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval: 5 * time.Second, BackoffCoefficient: 2, MaximumInterval: 5 * time.Minute, MaximumAttempts: 10,
			NonRetryableErrorTypes: []string{"InvalidPrune"},
		},
	})
	before := kpi.HotStart(workflow.Now(ctx), in.Days)
	err := workflow.ExecuteActivity(actx, act.PruneKPIs, activities.PruneKPIsInput{Before: before, BatchSize: batch}).Get(ctx, &out)
	if err != nil {
		return out, fmt.Errorf("prune kpis before %s: %w", before.Format(time.DateOnly), err)
	}
	workflow.GetLogger(ctx).Info("kpi retention done", "Before", before.Format(time.DateOnly),
		"Daily", out.Daily, "Hourly", out.Hourly, "WebhookDeliveries", out.WebhookDeliveries, "WebhookInbox", out.WebhookInbox)
	return out, nil
}
