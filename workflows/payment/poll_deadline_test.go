package payment

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"

	"paysplit/activities"
	"paysplit/internal/payment"
	"paysplit/testenv"
)

// A payment waiting for its order parks once EnrichWait is over. Workflow time moves on with
// each local step, so a save that ends after the wait's deadline (Postgres slow for a moment)
// left the run asking for a poll of no time, which sets no timer: before code path 17 it waited
// for the order for ever, shown awaiting_metadata and never among the payouts needing attention.
// On a real server and worker, as the SDK's test environment keeps its clock still during a step.
func TestOrderWaitParksWhenItsSaveEndsPastTheDeadline(t *testing.T) {
	c := testenv.TemporalClient(t)
	const enrichWait = 2 * time.Second
	w := newWorld(t)
	w.enrich = func(activities.EnrichInput) activities.EnrichOutput {
		return activities.EnrichOutput{Missing: []string{"order_id"}}
	}
	slowed := false
	w.onSave = func(rec payment.Record) {
		if rec.Status == payment.StatusAwaitingMetadata && !slowed {
			slowed = true // only the run's one worker saves: no lock needed for this flag
			time.Sleep(enrichWait + time.Second)
		}
	}
	queue := fmt.Sprintf("payment-poll-past-deadline-%d", time.Now().UnixNano()) // a run of its own each time
	startWorld(t, c, queue, w)
	in := testInput()
	in.Settings.EnrichWait, in.Settings.EnrichPoll, in.Settings.StepTimeout = enrichWait, time.Minute, 30*time.Second
	first := captureEvent("evt_1", gross)
	in.First = &first
	id := "payment-stripe-" + queue
	_, err := c.ExecuteWorkflow(t.Context(), client.StartWorkflowOptions{ID: id, TaskQueue: queue}, WorkflowName, in)
	require.NoError(t, err)

	// Parked, it waits for an admin's decision (a day): its saved status says it parked.
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	var status payment.Status
	for status != payment.StatusNeedsAttention && ctx.Err() == nil {
		time.Sleep(200 * time.Millisecond)
		w.mu.Lock()
		if n := len(w.saved); n > 0 {
			status = w.saved[n-1].Status
		}
		w.mu.Unlock()
	}
	require.True(t, slowed, "the wait's save ended past its deadline")
	require.Equal(t, payment.StatusNeedsAttention, status, "the payment parked for want of its order, not waiting for it for ever")
	require.NoError(t, c.TerminateWorkflow(t.Context(), id, "", "test over"))
}
