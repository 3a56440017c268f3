package main

import (
	"context"
	"net/http"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"

	ipayment "paysplit/internal/payment"
	"paysplit/internal/stripeevent"
	"paysplit/testenv"
	"paysplit/workflows/payment"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// TestWorkerProgram runs the real worker binary against the test Temporal dev server, Postgres
// and stripe-mock (behind a recording proxy), with the API wired as api/main.go wires it:
//   - SIGTERM while a transfer is in flight: the worker stops polling, lets the transfer finish
//     within its grace period and exits 0; a restarted worker finishes the payment and no
//     transfer is sent twice;
//   - after a payment and a refund, both programs' /metrics list paysplit's and the Temporal
//     SDK's metrics with non-zero values;
//   - the worker's spans, exported over OTLP, continue the traces the API's webhook requests began.
func TestWorkerProgram(t *testing.T) {
	queue := "payments-worker-program"
	setup := setupProgram(t, queue, "opsco")
	api, proxy, bin := setup.api, setup.proxy, setup.bin
	otlp := newCollector(t)
	env := func() map[string]string { return setup.env(map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": otlp.URL}) }

	stripe := newStripeGate(proxy)

	// SIGTERM while the payment's first transfer is in flight (held at the proxy). The worker
	// must stop polling at once; a restarted worker finishes the payment, and every leg is sent
	// with one idempotency key, so Stripe pays it once whatever happened to the first attempt.
	cases := []struct {
		name  string
		pi    string
		grace string
		// answerInGrace: the held transfer is answered while the worker drains; otherwise only
		// after the grace period ran out and the worker exited (outcome unknown to the workflow).
		answerInGrace bool
		wantAttempts  int // calls carrying the first leg's key
	}{
		{name: "transfer answers within the grace period", pi: "pi_sigterm_grace", grace: "30s", answerInGrace: true, wantAttempts: 1},
		{name: "grace period runs out first", pi: "pi_sigterm_cut", grace: "1s", answerInGrace: false, wantAttempts: 2},
	}
	for _, tc := range cases {
		ok := t.Run(tc.name, func(t *testing.T) {
			id := payment.WorkflowID("stripe", tc.pi)
			hold := stripe.holdFirstTransfer(id)
			workerEnv := env()
			workerEnv["WORKER_STOP_TIMEOUT"] = tc.grace
			w1 := startWorker(t, bin, workerEnv)
			api.webhook(t, capture("opsco", tc.pi).Body())
			select {
			case <-hold.reached:
			case <-time.After(60 * time.Second):
				t.Fatal("no transfer reached Stripe")
			}
			require.NoError(t, w1.cmd.Process.Signal(syscall.SIGTERM))
			w1.waitLog(t, "worker stopping")
			if tc.answerInGrace {
				close(hold.release)
				w1.wait(t)
			} else {
				w1.wait(t)
				close(hold.release)
			}
			require.Contains(t, w1.log(), `"msg":"worker stopped"`)

			// It took no new task. The workflow task it was in (the payment's steps run as local
			// activities inside it) finishes within the grace period or is abandoned when the
			// grace runs out, in which case the second leg was never tried.
			if !tc.answerInGrace {
				require.Len(t, stripe.keysOf(id), 1, "only the first leg was tried")
				desc, err := api.tc.DescribeWorkflow(context.Background(), id, "")
				require.NoError(t, err)
				require.Equal(t, enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING, desc.Status)
			}

			w2 := startWorker(t, bin, env())
			rec := api.result(t, id)
			require.Equal(t, ipayment.StatusPaid, rec.Status, rec.Reason)
			w2.stop(t)
			if !tc.answerInGrace {
				// The transfer ran as a local activity inside the payment's workflow task, which the
				// stopped worker never completed: the server timed it out, or the SDK reported it
				// failed as the grace period ended (whether the SDK logs the cut-off local activity
				// before the process exits is a matter of timing; the history is not).
				require.Positive(t, abandonedTasks(t, api.tc, id), "the first worker's workflow task was abandoned")
			}

			keys := stripe.keysOf(id)
			require.Len(t, keys, 2, "one idempotency key per leg: %v", keys)
			require.Equal(t, tc.wantAttempts, keys[hold.key()], "attempts with the first leg's key: %v", keys)
			for _, party := range []string{"vendor", "affiliate"} {
				n := 0
				for k := range keys {
					if strings.Contains(k, "/transfer/"+party) {
						n++
					}
				}
				require.Equal(t, 1, n, "%s leg keys in %v", party, keys)
			}
			accepted := map[string]int{}
			for _, c := range transfersOf(proxy, id) {
				accepted[c.IdempotencyKey]++
			}
			for k, n := range accepted {
				require.Equal(t, 1, n, "Stripe accepted key %s once", k)
			}
			for _, l := range rec.Legs {
				if l.Party != "platform" {
					require.NotEmpty(t, l.TransferID, "%s leg", l.Party)
				}
			}
		})
		if !ok {
			return
		}
	}

	w := startWorker(t, bin, env())
	t.Run("metrics after a payment and a refund", func(t *testing.T) {
		paid := payment.WorkflowID("stripe", "pi_metrics")
		api.webhook(t, capture("opsco", "pi_metrics").Body())
		require.Equal(t, ipayment.StatusPaid, api.result(t, paid).Status)
		api.webhook(t, stripeevent.Refund{EventID: "evt_re_metrics", PaymentIntent: "pi_metrics", Charge: "ch_pi_metrics",
			Currency: "usd", Amount: 11000, AmountRefunded: 1100, Created: time.Now()}.Body())
		require.Equal(t, ipayment.StatusPartiallyRefunded, api.result(t, paid).Status)

		var sent float64
		for _, c := range transfersOf(proxy, paid) {
			amount, err := strconv.ParseFloat(c.Form.Get("amount"), 64)
			require.NoError(t, err)
			sent += amount
		}
		require.EventuallyWithT(t, func(c *assert.CollectT) {
			got := scrape(c, "http://"+w.httpAddr+"/metrics")
			assert.Equal(c, 2.0, got["paysplit_transfers_total"], "vendor and affiliate")
			assert.Equal(c, sent, got["paysplit_transfer_amount_minor_total"])
			assert.Equal(c, 1.0, got["paysplit_splits_total"])
			assert.Equal(c, 11000.0, got["paysplit_split_amount_minor_total"], "the legs add up to the gross")
			assert.Equal(c, 2.0, got["paysplit_reversals_total"], "vendor and affiliate share the refund")
			assert.Positive(c, got["paysplit_reversal_amount_minor_total"])
			assert.Positive(c, got["paysplit_payment_updates_total"])
			for _, sdk := range []string{"temporal_workflow_completed_total", "temporal_local_activity_execution_latency_seconds",
				"temporal_workflow_task_execution_latency_seconds", "temporal_long_request_total"} {
				assert.Positive(c, got[sdk], sdk)
			}
			apiGot := scrape(c, api.url+"/metrics")
			assert.Equal(c, float64(len(cases)+2), apiGot["paysplit_webhook_events_total"], "the captures and a refund")
			assert.Positive(c, apiGot["temporal_request_total"], "the API's Temporal client")
		}, 30*time.Second, 200*time.Millisecond)
	})

	w.stop(t) // flushes its spans
	t.Run("logs", func(t *testing.T) {
		all := w.log()
		require.NotContains(t, all, "sk_test_123", "no Stripe key in the logs")
		require.NotContains(t, all, "temporal metric not registered", "every SDK metric reaches /metrics")
		require.Regexp(t, `"WorkflowID":"payment-stripe-pi_metrics","RunID":"[0-9a-f-]+".*"TraceID":"[0-9a-f]{32}"`, all,
			"workflow log lines carry the workflow, the run and the trace")
		if os.Getenv("PAYSPLIT_DUMP_WORKER_LOG") != "" {
			t.Log(all)
		}
	})
	t.Run("traces continue from the API into the worker", func(t *testing.T) {
		webhookTraces := map[string]bool{}
		for _, s := range api.spans.GetSpans() {
			if s.Name == "POST /webhooks/stripe" {
				webhookTraces[s.SpanContext.TraceID().String()] = true
			}
		}
		require.Len(t, webhookTraces, len(cases)+2)
		for _, name := range []string{"RunWorkflow:PaymentWorkflow", "RunActivity:Transfer", "RunActivity:SavePayment"} {
			spans := otlp.named(name)
			require.NotEmpty(t, spans, "worker span %s", name)
			for _, s := range spans {
				require.Equal(t, "paysplit-worker", s.Service)
				require.True(t, webhookTraces[s.TraceID], "%s span in trace %s, not one the API started", name, s.TraceID)
			}
		}
	})

	// A run an API newer than this worker started (a deploy replaces both at once) asks for a
	// code path the worker does not know: the worker fails its task before any step, again and
	// again, and the run waits, untouched, for a worker that knows the path.
	t.Run("a run of a newer code path waits for a worker that knows it", func(t *testing.T) {
		w := startWorker(t, bin, env())
		defer w.stop(t)
		id := payment.WorkflowID("stripe", "pi_newer_path")
		first := payment.Event{Kind: payment.EventCapture, ID: "evt_newer_path", Amount: 11000, Currency: "usd"}
		in := payment.Input{Provider: "stripe", PaymentID: "pi_newer_path", CodePath: payment.CurrentCodePath + 1, First: &first}
		_, err := api.tc.ExecuteWorkflow(context.Background(), client.StartWorkflowOptions{ID: id, TaskQueue: queue}, payment.WorkflowName, in)
		require.NoError(t, err)
		require.EventuallyWithT(t, func(c *assert.CollectT) {
			assert.Positive(c, abandonedTasks(t, api.tc, id), "the worker failed the run's task")
		}, 30*time.Second, 200*time.Millisecond)
		desc, err := api.tc.DescribeWorkflow(context.Background(), id, "")
		require.NoError(t, err)
		require.Equal(t, enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING, desc.Status, "the run is not failed")
		it := api.tc.GetWorkflowHistory(context.Background(), id, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
		for it.HasNext() {
			e, err := it.Next()
			require.NoError(t, err)
			require.NotEqual(t, enumspb.EVENT_TYPE_MARKER_RECORDED, e.GetEventType(), "no step ran")
			require.NotEqual(t, enumspb.EVENT_TYPE_WORKFLOW_TASK_COMPLETED, e.GetEventType(), "no task completed")
		}
		require.Contains(t, w.log(), "knows up to")
		require.NoError(t, api.tc.TerminateWorkflow(context.Background(), id, "", "test over"))
	})
}

// abandonedTasks counts the workflow tasks of a workflow's latest run that timed out or failed.
func abandonedTasks(t *testing.T, c client.Client, id string) int {
	t.Helper()
	n := 0
	it := c.GetWorkflowHistory(context.Background(), id, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		e, err := it.Next()
		require.NoError(t, err)
		switch e.GetEventType() {
		case enumspb.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT, enumspb.EVENT_TYPE_WORKFLOW_TASK_FAILED:
			n++
		}
	}
	return n
}

// transfersOf is every accepted transfer call for one payment, in the order they were made.
func transfersOf(p *testenv.StripeProxy, workflowID string) []testenv.StripeCall {
	var out []testenv.StripeCall
	for _, c := range p.Calls(http.MethodPost, "/v1/transfers") {
		if strings.HasPrefix(c.IdempotencyKey, workflowID+"/") {
			out = append(out, c)
		}
	}
	return out
}
