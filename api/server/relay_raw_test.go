package server_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"

	"paysplit/api/server"
	"paysplit/internal/store"
	"paysplit/testenv"
	"paysplit/workflows/payment"
)

// Every API replica runs a relay, and they share the inbox: during a rolling deploy an event a
// newer replica stored can be forwarded by an older one (stored for a claim when the newer one's
// buffer was full, or its lease ran out while Temporal was slow). The relay decoded the stored
// event into this build's payment.Event and sent that: whatever a newer build had added to it
// was dropped on the way, and the workflow (its workers are deployed first, so they know the
// field) got the event without it. Fields were added this way before (IntentCreated, RefundMade,
// and ISOUnits, whose loss has a worker read an ISK capture's ISO amount as Stripe's hundredths:
// one hundredth of it split and paid). The relay must send the event as it was stored, as the
// API that stored it would have sent it to Temporal itself: in a capture's start input, and as a
// refund's signal.
func TestRelayForwardsTheEventAsStored(t *testing.T) {
	tc := testenv.TemporalClient(t)
	queue := uniqueID("q-raw") // a queue of its own, with no worker: the runs only record what they were sent
	a := newAPI(t, func(d *server.Deps) {
		d.Temporal, d.TaskQueue, d.WebhookAck = tc, queue, server.AckOnStore
		d.Relay = server.RelayOptions{Poll: 50 * time.Millisecond}
	})
	for _, tt := range []struct {
		name  string
		kind  payment.EventKind
		first enumspb.EventType // where the event is in the run's history
	}{
		{"a capture, in its run's start input", payment.EventCapture, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED},
		{"a refund, as its signal", payment.EventRefund, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED},
	} {
		t.Run(tt.name, func(t *testing.T) {
			pi, eventID := uniqueID("pi_raw"), uniqueID("evt_raw")
			stored := `{"ID": "` + eventID + `", "Kind": "` + string(tt.kind) + `", "Amount": 1000000, "AmountRefunded": 500000,
				"Currency": "isk", "OccurredAt": "2026-11-27T10:00:00Z", "Metadata": {"client_id": "acme"},
				"ISOUnitsFromANewerBuild": true}`
			storeAndAwaitForwarded(t, a, queue, pi, eventID, json.RawMessage(stored))

			id := payment.WorkflowID("stripe", pi)
			t.Cleanup(func() { _ = tc.TerminateWorkflow(context.Background(), id, "", "test over") })
			sent := sentEvent(t, tc, id, tt.first)
			assert.Equal(t, eventID, sent["ID"])
			assert.Equal(t, true, sent["ISOUnitsFromANewerBuild"], "the stored event was sent as this build reads it, not as stored: %v", sent)
		})
	}
}

// sentEvent is the payment event a run's history holds in its first event of type typ: the start
// input's First, or the signal's payload.
func sentEvent(t *testing.T, tc client.Client, id string, typ enumspb.EventType) map[string]any {
	t.Helper()
	it := tc.GetWorkflowHistory(t.Context(), id, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		e, err := it.Next()
		require.NoError(t, err)
		if e.GetEventType() != typ {
			continue
		}
		switch typ {
		case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED:
			var in map[string]any
			require.NoError(t, json.Unmarshal(e.GetWorkflowExecutionStartedEventAttributes().GetInput().GetPayloads()[0].GetData(), &in))
			first, ok := in["First"].(map[string]any)
			require.True(t, ok, "the start input carries the event: %v", in)
			return first
		default:
			var ev map[string]any
			require.NoError(t, json.Unmarshal(e.GetWorkflowExecutionSignaledEventAttributes().GetInput().GetPayloads()[0].GetData(), &ev))
			return ev
		}
	}
	t.Fatalf("no %s in the history of %s", typ, id)
	return nil
}

// storeAndAwaitForwarded stores a Stripe event in the webhook inbox as the API's acknowledgement
// does and waits until the relay has forwarded it to Temporal.
func storeAndAwaitForwarded(t *testing.T, a *apiEnv, queue, pi, eventID string, event json.RawMessage) {
	t.Helper()
	_, first, err := a.store.AcceptEvent(t.Context(), store.InboxEvent{Provider: "stripe", EventID: eventID, PaymentID: pi,
		TaskQueue: queue, Event: event}, 0)
	require.NoError(t, err)
	require.True(t, first)
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		var forwarded bool
		if assert.NoError(c, a.pool.QueryRow(t.Context(), `SELECT forwarded_at IS NOT NULL FROM webhook_inbox
			WHERE provider = 'stripe' AND event_id = $1`, eventID).Scan(&forwarded)) {
			assert.True(c, forwarded, "forwarded")
		}
	}, 30*time.Second, 20*time.Millisecond)
}
