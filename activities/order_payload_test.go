package activities_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"paysplit/activities"
	"paysplit/internal/payment"
)

// An order with extras crosses Temporal (an activity's result, a workflow's result, which a
// history keeps) as payment.Order encodes it: the default data converter's JSON holds shipping
// with the extras in it, which the release before extras reads whole, and the workflow reads the
// order back as it was, nothing moved between shipping and extras.
func TestOrderWithExtrasCrossesTemporalWhole(t *testing.T) {
	order := payment.Order{ClientID: "c", OrderID: "o", VendorID: "v", Platform: "shopify", Subtotal: 10000, Tax: 800,
		Shipping: 1000, Discount: 500, Extras: 2500, Currency: "usd",
		Lines: []payment.OrderLine{{VendorID: "v", Subtotal: 6000, Tax: 500, Discount: 500}, {VendorID: "w", Subtotal: 4000, Tax: 300}}}
	out := activities.EnrichOutput{Order: order, Fee: 42, Named: order}

	payload, err := converter.GetDefaultDataConverter().ToPayload(out)
	require.NoError(t, err)
	var wire struct{ Order, Named map[string]any }
	require.NoError(t, json.Unmarshal(payload.GetData(), &wire))
	require.EqualValues(t, 3500, wire.Order["shipping"], "the payload's shipping holds the extras")
	require.EqualValues(t, 2500, wire.Order["extras"])
	require.EqualValues(t, 3500, wire.Named["shipping"])

	enrich := func(context.Context) (activities.EnrichOutput, error) { return out, nil }
	wf := func(ctx workflow.Context) (payment.Record, error) {
		ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: 60e9})
		var got activities.EnrichOutput
		if err := workflow.ExecuteActivity(ctx, enrich).Get(ctx, &got); err != nil {
			return payment.Record{}, err
		}
		return payment.Record{WorkflowID: "wf", Gross: 13800, Order: got.Order}, nil
	}
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestWorkflowEnvironment()
	env.RegisterActivity(enrich)
	env.RegisterWorkflow(wf)
	env.ExecuteWorkflow(wf)
	require.True(t, env.IsWorkflowCompleted())
	require.NoError(t, env.GetWorkflowError())
	var rec payment.Record
	require.NoError(t, env.GetWorkflowResult(&rec))
	require.Equal(t, order, rec.Order, "the order read back as the activity returned it")
	total, ok := rec.Order.Total()
	require.True(t, ok)
	require.EqualValues(t, rec.Gross, total)
}
