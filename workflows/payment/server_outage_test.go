package payment

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"

	"paysplit/internal/payment"
	"paysplit/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// A Postgres outage that outlasts a step's local attempts, on a real server and worker (the SDK's
// own local retries and the server's activity retries, which the test environment only imitates).
// Before code path 14 the step's last error ended the run. From it the step goes on as a regular
// activity: the run is paid once Postgres is back, and however many attempts the outage costs,
// the history is the same length, without a timer.
func TestPostgresOutageOnTheServer(t *testing.T) {
	c := testenv.TemporalClient(t)
	tests := []struct {
		codePath int
		failures int // calls of Prepare that fail: the local attempts (2 within a StepTimeout of 2 s), then the server's
		paid     bool
	}{
		{codePathDisputeLoss, 3, false},
		{codePathOutageProof, 3, true},
		{codePathOutageProof, 5, true},
	}
	lengths := map[int]int{}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("code path %d, %d failures", tt.codePath, tt.failures), func(t *testing.T) {
			w := newWorld(t)
			w.downCalls[stepPrepare] = tt.failures
			queue := fmt.Sprintf("payment-outage-%d-%d", tt.codePath, tt.failures)
			startWorld(t, c, queue, w)
			in := testInput()
			in.CodePath, in.Settings.SettleWindow, in.Settings.StepTimeout = tt.codePath, 0, 2*time.Second
			first := captureEvent("evt_1", gross)
			in.First = &first
			id := "payment-stripe-" + queue
			run, err := c.ExecuteWorkflow(t.Context(), client.StartWorkflowOptions{ID: id, TaskQueue: queue}, WorkflowName, in)
			require.NoError(t, err)
			var rec payment.Record
			err = run.Get(t.Context(), &rec)
			events, timers := historyOf(t, c, id)
			if !tt.paid {
				require.ErrorContains(t, err, "connection refused", "the step's last error ended the run")
				require.Less(t, w.calls["down:"+stepPrepare], tt.failures, "ended before Postgres was back")
				require.Zero(t, w.sentToPayee("v1"))
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.failures, w.calls["down:"+stepPrepare], "Prepare failed while Postgres was down")
			require.Equal(t, payment.StatusPaid, rec.Status, rec.Reason)
			require.EqualValues(t, vendorCut, w.sentToPayee("v1"), "the vendor paid once")
			require.Zero(t, timers, "no timer in the history")
			lengths[tt.failures] = events
		})
	}
	require.NotZero(t, lengths[3])
	require.Equal(t, lengths[3], lengths[5], "more attempts at the server cost the history nothing")
}

// startWorld runs a worker on queue with the payment workflow and w's steps under their names.
func startWorld(t *testing.T, c client.Client, queue string, w *world) {
	wk := worker.New(c, queue, testenv.WorkerOptions())
	Register(wk)
	steps := map[string]any{
		stepLoadPayment: w.LoadPayment, stepPrepare: w.Prepare, stepSavePayment: w.SavePayment, stepEnrich: w.Enrich,
		stepComputeSplit: w.ComputeSplit, stepPostEntry: w.PostEntry, stepPostEntries: w.PostEntries, stepSaveAndBook: w.SaveAndBook,
		stepResolvePayee: w.ResolvePayee, stepTransfer: w.Transfer, stepReverseTransfer: w.ReverseTransfer, stepConfirmTransfer: w.ConfirmTransfer,
	}
	for name, f := range steps {
		wk.RegisterActivityWithOptions(f, activity.RegisterOptions{Name: name})
	}
	require.NoError(t, wk.Start())
	t.Cleanup(wk.Stop)
}

// historyOf counts the events of the workflow's history, and its timers.
func historyOf(t *testing.T, c client.Client, id string) (events, timers int) {
	it := c.GetWorkflowHistory(t.Context(), id, "", false, enums.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		e, err := it.Next()
		require.NoError(t, err)
		events++
		if e.GetEventType() == enums.EVENT_TYPE_TIMER_STARTED {
			timers++
		}
	}
	return events, timers
}
