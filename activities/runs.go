package activities

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"paysplit/internal/payment"
)

// PaymentRuns reads what Temporal kept of a payment's runs. A follow-up run resumes from the
// stored record; Temporal's record of the last closed run says what the runs did, so a stored
// record behind it (Postgres restored to an earlier point while Temporal kept going) is seen
// before a refund takes an erased refund's share back from the payees a second time.
type PaymentRuns interface {
	// LastResult is the payment's state at the end of its last closed run; false when there is
	// none (never closed, or past the namespace's retention). An *UnrecordedRunError when that
	// run ran steps Temporal did not record, so its state cannot be told.
	LastResult(ctx context.Context, workflowID string) (payment.Record, bool, error)
}

// TemporalRuns reads runs through a Temporal client. SavedQuery is the payment workflow's query
// of the record as it last saved it (payment.QuerySaved), asked of a run that closed without a
// result: its state then may hold work it never finished, which its next run must do again,
// while what it saved it did.
type TemporalRuns struct {
	Client     client.Client
	SavedQuery string
}

// ErrTypeLastRunUnrecorded is a step that cannot tell what the payment's last closed run did:
// the run ran steps in a workflow task that never completed, so Temporal recorded none of them,
// and the stored record is older than that task. The step fails, and is retried, until an admin
// has put the stored record right (README, "Restoring Postgres").
const ErrTypeLastRunUnrecorded = "LastRunUnrecorded"

// UnrecordedRunError says the payment's last closed run ran code in a workflow task that never
// completed (it was terminated, or timed out, with the task open): the steps it ran then (local
// activities: transfers, reversals, the save) moved money that Temporal's history does not
// show, and no query of the run can tell (a run that never completed a task answers none:
// "closed before WorkflowTaskStarted"). Since is when that task started: a stored record saved
// at or after it holds what the run saved; one saved before it may have lost it to a restore.
type UnrecordedRunError struct {
	WorkflowID, RunID string
	Since             time.Time
}

func (e *UnrecordedRunError) Error() string {
	return fmt.Sprintf("run %s of %s closed in a workflow task that started %s and never completed: what its steps did then is not in Temporal",
		e.RunID, e.WorkflowID, e.Since.UTC().Format(time.RFC3339Nano))
}

// LastResult finds the payment's closed runs in visibility and reads the last one's state: its
// result when it completed, else (failed, terminated, timed out) the record it last saved, which
// a worker answers by replaying its history. A run that never started a workflow task did
// nothing, and one whose tasks saved nothing changed nothing it recorded: the last completed
// run's result is taken then. A run that closed with a task started and not completed returns
// an *UnrecordedRunError (the caller compares when the store was saved); a query that fails
// returns its error, so the step is retried: an older run is never compared in its place.
// Visibility lags a moment behind a run's close; a run that closed that recently saved its state
// in the Postgres of now (a restore is done with the workers stopped, README "Restoring
// Postgres"), so the store holds what it saved; what it did after its last save its next run does
// again, under the same keys.
func (t TemporalRuns) LastResult(ctx context.Context, workflowID string) (payment.Record, bool, error) {
	last, completed, err := t.closedRuns(ctx, workflowID)
	if err != nil || last == nil {
		return payment.Record{}, false, err
	}
	if last != completed {
		runID := last.GetExecution().GetRunId()
		ran, since, err := t.tasks(ctx, workflowID, runID)
		if err != nil {
			return payment.Record{}, false, err
		}
		if !since.IsZero() {
			return payment.Record{}, false, &UnrecordedRunError{WorkflowID: workflowID, RunID: runID, Since: since}
		}
		if ran {
			rec, err := t.querySaved(ctx, workflowID, runID)
			if err != nil {
				return payment.Record{}, false, err
			}
			if rec != nil {
				return *rec, true, nil
			}
		}
		if completed == nil {
			return payment.Record{}, false, nil
		}
	}
	var rec payment.Record
	if err := t.Client.GetWorkflow(ctx, workflowID, completed.GetExecution().GetRunId()).Get(ctx, &rec); err != nil {
		return payment.Record{}, false, fmt.Errorf("result of run %s of %s: %w", completed.GetExecution().GetRunId(), workflowID, err)
	}
	return rec, true, nil
}

// tasks reads a closed run's history: whether any of its workflow tasks completed, and, when
// one started after the last that completed (and never completed itself), when the first such
// started.
func (t TemporalRuns) tasks(ctx context.Context, workflowID, runID string) (completed bool, unfinished time.Time, err error) {
	it := t.Client.GetWorkflowHistory(ctx, workflowID, runID, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		e, err := it.Next()
		if err != nil {
			return false, time.Time{}, fmt.Errorf("history of run %s of %s: %w", runID, workflowID, err)
		}
		switch e.GetEventType() {
		case enumspb.EVENT_TYPE_WORKFLOW_TASK_STARTED:
			if unfinished.IsZero() {
				unfinished = e.GetEventTime().AsTime()
			}
		case enumspb.EVENT_TYPE_WORKFLOW_TASK_COMPLETED:
			completed, unfinished = true, time.Time{}
		}
	}
	return completed, unfinished, nil
}

// closedRuns lists the payment's closed runs: the last to close, and the last to complete.
func (t TemporalRuns) closedRuns(ctx context.Context, workflowID string) (last, completed *workflowpb.WorkflowExecutionInfo, err error) {
	query := fmt.Sprintf("WorkflowId = '%s' AND ExecutionStatus != 'Running'", strings.ReplaceAll(workflowID, "'", `\'`))
	later := func(a, b *workflowpb.WorkflowExecutionInfo) bool {
		return b == nil || a.GetCloseTime().AsTime().After(b.GetCloseTime().AsTime())
	}
	var token []byte
	for {
		resp, err := t.Client.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Query: query, NextPageToken: token})
		var invalid *serviceerror.InvalidArgument
		if errors.As(err, &invalid) {
			// A visibility store that cannot answer the query (no advanced visibility) would
			// otherwise hold every follow-up run for ever: the check is skipped, and said so.
			slog.Warn("closed runs cannot be listed: the stored record is not checked against them", "payment", workflowID, "error", err)
			return nil, nil, nil
		}
		if err != nil {
			return nil, nil, fmt.Errorf("list closed runs of %s: %w", workflowID, err)
		}
		for _, e := range resp.GetExecutions() {
			if later(e, last) {
				last = e
			}
			if e.GetStatus() == enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED && later(e, completed) {
				completed = e
			}
		}
		if token = resp.GetNextPageToken(); len(token) == 0 {
			return last, completed, nil
		}
	}
}

// querySaved asks a closed run for the record it last saved; nil when it saved none.
func (t TemporalRuns) querySaved(ctx context.Context, workflowID, runID string) (*payment.Record, error) {
	if t.SavedQuery == "" {
		return nil, errors.New("no saved-record query configured")
	}
	v, err := t.Client.QueryWorkflow(ctx, workflowID, runID, t.SavedQuery)
	if err != nil {
		return nil, fmt.Errorf("query saved record of run %s of %s: %w", runID, workflowID, err)
	}
	var rec *payment.Record
	if err := v.Get(&rec); err != nil {
		return nil, fmt.Errorf("decode saved record of run %s of %s: %w", runID, workflowID, err)
	}
	return rec, nil
}

// ErrTypeStoreDiverged is a stored payment that is behind its last closed run in some facts
// and ahead of it in others: neither can be resumed from without an admin.
const ErrTypeStoreDiverged = "StoreDiverged"

// againstLastRun checks the stored state a run resumes from against the last closed run's
// result. When the store is behind it (a Postgres restore erased what runs saved), the run resumes
// from the result instead, which is what the providers and payees saw: a refund then takes back
// only its own share, and the next save puts the record right. The books keep the hole the
// restore made (reconciliation and the README's restore procedure cover it); this only stops
// money moving twice. When the two diverge both ways the step fails, and is retried, until an
// admin has put the stored record right. So it does when the last run ran steps Temporal did not
// record (UnrecordedRunError) and the store was saved (savedAt, its row's updated_at) before
// they ran: a restore may have erased what they did.
func (a *Activities) againstLastRun(ctx context.Context, workflowID string, loaded LoadPaymentOutput, savedAt time.Time) (LoadPaymentOutput, error) {
	if a.Runs == nil {
		return loaded, nil
	}
	last, ok, err := a.Runs.LastResult(ctx, workflowID)
	var unrecorded *UnrecordedRunError
	if errors.As(err, &unrecorded) {
		if loaded.Found && !savedAt.Before(unrecorded.Since) {
			// Saved since the run's unrecorded steps began: the store holds what they saved.
			return loaded, nil
		}
		stored := "nothing is stored"
		if loaded.Found {
			stored = "the stored record was saved " + savedAt.UTC().Format(time.RFC3339Nano) + ", before it"
		}
		slog.Error("what the payment's last run did cannot be told (Postgres restored?): the step waits for an admin",
			"payment", workflowID, "run", unrecorded.RunID, "since", unrecorded.Since, "stored", stored)
		return loaded, temporal.NewApplicationError(fmt.Sprintf("%s: %v; %s (Postgres restored?): an admin puts the stored record right",
			workflowID, err, stored), ErrTypeLastRunUnrecorded)
	}
	if err != nil || !ok {
		return loaded, err
	}
	behind := payment.Behind(loaded.Record, loaded.Found, last)
	if len(behind) == 0 {
		return loaded, nil
	}
	if ahead := payment.Behind(last, true, loaded.Record); loaded.Found && len(ahead) > 0 {
		return loaded, temporal.NewApplicationError(fmt.Sprintf("%s: stored payment and its last run diverge (Postgres restored?): the run did %s; the store has %s, which the run did not",
			workflowID, strings.Join(behind, "; "), strings.Join(ahead, "; ")), ErrTypeStoreDiverged)
	}
	slog.Error("stored payment is behind its last run (Postgres restored?): resuming from the run's state",
		"payment", workflowID, "missing", strings.Join(behind, "; "))
	return LoadPaymentOutput{Found: true, Record: last, Behind: behind}, nil
}
