package activities

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"go.temporal.io/api/serviceerror"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"paysplit/internal/payment"
)

// PaymentRuns reads what Temporal kept of a payment's runs. A follow-up run resumes from the
// stored record; Temporal's result of the last completed run says what the runs did, so a stored
// record behind it (Postgres restored to an earlier point while Temporal kept going) is seen
// before a refund takes an erased refund's share back from the payees a second time.
type PaymentRuns interface {
	// LastResult is the result of the payment's last completed run; false when there is none
	// (never completed, or past the namespace's retention).
	LastResult(ctx context.Context, workflowID string) (payment.Record, bool, error)
}

// TemporalRuns reads runs through a Temporal client.
type TemporalRuns struct{ Client client.Client }

// LastResult finds the payment's completed runs in visibility and reads the last one's result.
// Visibility lags a moment behind a run's close; a run that closed that recently ran in the same
// Temporal as this one and saved its state in the Postgres of now, so missing it costs nothing.
func (t TemporalRuns) LastResult(ctx context.Context, workflowID string) (payment.Record, bool, error) {
	query := fmt.Sprintf("WorkflowId = '%s' AND ExecutionStatus = 'Completed'", strings.ReplaceAll(workflowID, "'", `\'`))
	var last *workflowpb.WorkflowExecutionInfo
	var token []byte
	for {
		resp, err := t.Client.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Query: query, NextPageToken: token})
		var invalid *serviceerror.InvalidArgument
		if errors.As(err, &invalid) {
			// A visibility store that cannot answer the query (no advanced visibility) would
			// otherwise hold every follow-up run for ever: the check is skipped, and said so.
			slog.Warn("completed runs cannot be listed: the stored record is not checked against them", "payment", workflowID, "error", err)
			return payment.Record{}, false, nil
		}
		if err != nil {
			return payment.Record{}, false, fmt.Errorf("list completed runs of %s: %w", workflowID, err)
		}
		for _, e := range resp.GetExecutions() {
			if last == nil || e.GetCloseTime().AsTime().After(last.GetCloseTime().AsTime()) {
				last = e
			}
		}
		if token = resp.GetNextPageToken(); len(token) == 0 {
			break
		}
	}
	if last == nil {
		return payment.Record{}, false, nil
	}
	var rec payment.Record
	if err := t.Client.GetWorkflow(ctx, workflowID, last.GetExecution().GetRunId()).Get(ctx, &rec); err != nil {
		return payment.Record{}, false, fmt.Errorf("result of run %s of %s: %w", last.GetExecution().GetRunId(), workflowID, err)
	}
	return rec, true, nil
}

// ErrTypeStoreDiverged is a stored payment that is behind its last completed run in some facts
// and ahead of it in others: neither can be resumed from without an admin.
const ErrTypeStoreDiverged = "StoreDiverged"

// againstLastRun checks the stored state a run resumes from against the last completed run's
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
		return loaded, temporal.NewApplicationError(fmt.Sprintf("%s: stored payment and its last completed run diverge (Postgres restored?): the run did %s; the store has %s, which the run did not",
			workflowID, strings.Join(behind, "; "), strings.Join(ahead, "; ")), ErrTypeStoreDiverged)
	}
	slog.Error("stored payment is behind its last completed run (Postgres restored?): resuming from the run's result",
		"payment", workflowID, "missing", strings.Join(behind, "; "))
	return LoadPaymentOutput{Found: true, Record: last, Behind: behind}, nil
}
