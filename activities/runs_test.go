package activities_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"paysplit/activities"
	"paysplit/internal/payment"
)

// lastRun is what Temporal holds of a payment's last closed run; asked counts the questions.
type lastRun struct {
	rec   payment.Record
	found bool
	err   error
	asked int
}

func (l *lastRun) LastResult(context.Context, string) (payment.Record, bool, error) {
	l.asked++
	return l.rec, l.found, l.err
}

func TestResumingChecksTheStoredRecordAgainstTheLastCompletedRun(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	vendor := payment.Leg{Party: "vendor", PayeeID: "v1", Amount: 900, Transferred: 900}
	paid := payment.Record{WorkflowID: "payment-stripe-pi_restored", Provider: "stripe", PaymentID: "pi_restored", Currency: "usd",
		Gross: 1000, Status: payment.StatusPaid, Order: payment.Order{ClientID: "shop1", OrderID: "o-r", VendorID: "v1"},
		CaptureEntryID: 1, Legs: []payment.Leg{vendor}, CapturedAt: time.Date(2026, 11, 27, 3, 0, 0, 0, time.UTC)}
	refunded := paid
	refunded.Status, refunded.Refunded = payment.StatusPartiallyRefunded, 100
	refunded.Legs = []payment.Leg{vendor}
	refunded.Legs[0].Reversed, refunded.Legs[0].Refunded = 90, 90
	corrected := paid // a later run that saved a correction, then failed: never completed
	corrected.CorrectedTo = []int{2}
	require.NoError(t, f.st.SavePayment(ctx, paid))

	tests := []struct {
		name        string
		last        lastRun
		capture     bool
		id          string
		want        payment.Record
		wantBehind  []string
		wantErrType string
		wantAsked   int
	}{
		{"no completed run", lastRun{}, false, paid.WorkflowID, paid, nil, "", 1},
		{"the store holds what the run did", lastRun{rec: paid, found: true}, false, paid.WorkflowID, paid, nil, "", 1},
		{"the store lost a refund the run took", lastRun{rec: refunded, found: true}, false, paid.WorkflowID, refunded,
			[]string{"leg vendor-v1: reversed 90, stored 0"}, "", 1},
		{"Temporal cannot be asked", lastRun{err: errors.New("unavailable")}, false, paid.WorkflowID, payment.Record{}, nil, "error", 1},
		{"a new payment's first run, started with its capture, is not asked", lastRun{rec: paid, found: true}, true, "payment-stripe-pi_new", payment.Record{}, nil, "", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f.a.Runs = &tt.last
			in := activities.PrepareInput{WorkflowID: tt.id, FirstRun: tt.capture}
			if tt.capture {
				in.Capture = &activities.EnrichInput{Provider: "stripe", PaymentID: "pi_new", Currency: "usd", Gross: 1000,
					Metadata: map[string]string{"client_id": "shop1", "order_id": "o-new"}}
			}
			out, err := f.a.Prepare(ctx, in)
			require.Equal(t, tt.wantAsked, tt.last.asked)
			if tt.wantErrType != "" {
				require.Error(t, err)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want.WorkflowID != "", out.Found)
			require.Equal(t, tt.want.Legs, out.Record.Legs)
			require.Equal(t, tt.want.Status, out.Record.Status)
			require.Equal(t, tt.wantBehind, out.Behind)
		})
	}

	t.Run("a store both behind and ahead of the run is left to an admin", func(t *testing.T) {
		require.NoError(t, f.st.SavePayment(ctx, corrected))
		f.a.Runs = &lastRun{rec: refunded, found: true}
		_, err := f.a.LoadPayment(ctx, activities.LoadPaymentInput{WorkflowID: paid.WorkflowID})
		var app *temporal.ApplicationError
		require.ErrorAs(t, err, &app)
		require.Equal(t, activities.ErrTypeStoreDiverged, app.Type())
		require.False(t, app.NonRetryable(), "retried until the store is put right")
		require.Contains(t, app.Message(), "reversed 90, stored 0")
		require.Contains(t, app.Message(), "corrected to rule v2")
	})
}

// TestALastRunThatRanUnrecordedStepsIsLeftToAnAdminUnlessTheStoreWasSavedSince: a last run
// that closed in a workflow task that never completed ran steps Temporal did not record. A store
// saved since that task started holds what it saved; one saved before may have lost it to a
// restore, and the step fails, retryably, naming the run, until an admin has saved it again.
func TestALastRunThatRanUnrecordedStepsIsLeftToAnAdminUnlessTheStoreWasSavedSince(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	paid := payment.Record{WorkflowID: "payment-stripe-pi_unrec", Provider: "stripe", PaymentID: "pi_unrec", Currency: "usd",
		Gross: 1000, Status: payment.StatusPaid, Order: payment.Order{ClientID: "shop1", OrderID: "o-u", VendorID: "v1"},
		CaptureEntryID: 1, Legs: []payment.Leg{{Party: "vendor", PayeeID: "v1", Amount: 900, Transferred: 900}}}
	require.NoError(t, f.st.SavePayment(ctx, paid))
	_, savedAt, err := f.st.GetPaymentSaved(ctx, paid.WorkflowID)
	require.NoError(t, err)

	tests := []struct {
		name    string
		id      string
		since   time.Time
		wantErr bool
	}{
		{"saved since the run's task started", paid.WorkflowID, savedAt.Add(-time.Second), false},
		{"saved when the run's task started", paid.WorkflowID, savedAt, false},
		{"saved before the run's task started", paid.WorkflowID, savedAt.Add(time.Second), true},
		{"nothing stored", "payment-stripe-pi_gone", savedAt.Add(-time.Second), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f.a.Runs = &lastRun{err: &activities.UnrecordedRunError{WorkflowID: tt.id, RunID: "run-2", Since: tt.since}}
			out, err := f.a.LoadPayment(ctx, activities.LoadPaymentInput{WorkflowID: tt.id})
			if !tt.wantErr {
				require.NoError(t, err)
				require.True(t, out.Found)
				require.Equal(t, paid.Legs, out.Record.Legs)
				return
			}
			var app *temporal.ApplicationError
			require.ErrorAs(t, err, &app)
			require.Equal(t, activities.ErrTypeLastRunUnrecorded, app.Type())
			require.False(t, app.NonRetryable(), "retried until an admin has put the store right")
			require.Contains(t, app.Message(), "run run-2 of "+tt.id)
		})
	}
}

// noAdvancedVisibility is a Temporal whose visibility cannot answer a query on ExecutionStatus.
type noAdvancedVisibility struct{ client.Client }

func (noAdvancedVisibility) ListWorkflow(context.Context, *workflowservice.ListWorkflowExecutionsRequest) (*workflowservice.ListWorkflowExecutionsResponse, error) {
	return nil, serviceerror.NewInvalidArgument("invalid query: ExecutionStatus is not a search attribute")
}

// unavailable is a Temporal that cannot be reached now.
type unavailable struct{ client.Client }

func (unavailable) ListWorkflow(context.Context, *workflowservice.ListWorkflowExecutionsRequest) (*workflowservice.ListWorkflowExecutionsResponse, error) {
	return nil, serviceerror.NewUnavailable("connection refused")
}

func TestLastResultWithoutAdvancedVisibilityChecksNothingRatherThanHoldingTheRun(t *testing.T) {
	_, found, err := activities.TemporalRuns{Client: noAdvancedVisibility{}}.LastResult(context.Background(), "payment-stripe-pi_1")
	require.NoError(t, err, "a follow-up run would retry for ever")
	require.False(t, found)

	_, _, err = activities.TemporalRuns{Client: unavailable{}}.LastResult(context.Background(), "payment-stripe-pi_1")
	require.Error(t, err, "an outage is retried, not taken for no runs")
}
