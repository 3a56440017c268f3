package activities

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"

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
	// none (never closed, or past the namespace's retention).
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

// LastResult finds the payment's closed runs in visibility and reads the last one's state: its
// result when it completed, else (failed, terminated, timed out) the record it last saved, which
// a worker answers by replaying its history. Should that query fail, or the run have saved
// nothing, the last completed run's result is taken. Visibility lags a moment behind a run's close; a run
// that closed that recently ran in the same Temporal as this one and saved its state in the
// Postgres of now, so missing it costs nothing.
func (t TemporalRuns) LastResult(ctx context.Context, workflowID string) (payment.Record, bool, error) {
	last, completed, err := t.closedRuns(ctx, workflowID)
	if err != nil || last == nil {
		return payment.Record{}, false, err
	}
	if last != completed {
		rec, err := t.querySaved(ctx, workflowID, last.GetExecution().GetRunId())
		if err != nil {
			slog.Warn("what the payment's last run saved cannot be queried: its last completed run is compared instead",
				"payment", workflowID, "run", last.GetExecution().GetRunId(), "error", err)
		}
		if rec != nil {
			return *rec, true, nil
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
// admin has put the stored record right.
func (a *Activities) againstLastRun(ctx context.Context, workflowID string, loaded LoadPaymentOutput) (LoadPaymentOutput, error) {
	if a.Runs == nil {
		return loaded, nil
	}
	last, ok, err := a.Runs.LastResult(ctx, workflowID)
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
