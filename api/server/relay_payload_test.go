package server_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"

	"paysplit/api/server"
	"paysplit/internal/money"
	"paysplit/telemetry"
	"paysplit/testenv"
	"paysplit/workflows/payment"
)

// The relay sends an inbox event as it was stored (json.RawMessage, not this build's Event). The
// SDK's default data converter takes a []byte as binary/plain, the bytes as they are; a
// json.RawMessage is another type, so it must go as json/plain, the JSON itself, which the
// worker's converter decodes into payment.Event as it decoded the Event the relay used to send.
// Sent over a gzip-compressed connection (TEMPORAL_GRPC_COMPRESSION=gzip), which changes the
// transport only. Pinned for an event as an older API build stored it (no ISOUnits, IntentCreated
// nor DisputeFees; a zero RefundMade written out) and as this build stores it (json.Marshal of
// payment.Event, HTML-sensitive characters in metadata, a refund's PreviousRefunded).
func TestRelaySendsTheStoredEventAsJSONAWorkerDecodes(t *testing.T) {
	hostPort, namespace := testenv.Temporal(t)
	tc, err := client.Dial(client.Options{HostPort: hostPort, Namespace: namespace,
		ConnectionOptions: client.ConnectionOptions{GrpcCompression: telemetry.GRPCCompression("gzip")}})
	require.NoError(t, err)
	t.Cleanup(tc.Close)
	queue := uniqueID("q-payload") // no worker: the runs only record what they were sent
	a := newAPI(t, func(d *server.Deps) {
		d.Temporal, d.TaskQueue, d.WebhookAck = tc, queue, server.AckOnStore
		d.Relay = server.RelayOptions{Poll: 50 * time.Millisecond}
	})
	occurred := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	previous := int64(3000)
	thisBuild := func(kind payment.EventKind) string {
		b, err := json.Marshal(payment.Event{ID: "set-below", Kind: kind, ChargeID: "ch_1", Amount: 123456789012, Currency: money.Currency("isk"),
			Metadata: map[string]string{"client_id": "acme", "order_id": "<a&b>"}, Fee: 42, AmountRefunded: 5000, PreviousRefunded: &previous,
			RefundID: "re_1", DisputeFees: map[string]int64{"txn_1": 1500}, OccurredAt: occurred,
			IntentCreated: occurred.Add(-time.Hour), ISOUnits: true})
		require.NoError(t, err)
		return string(b)
	}
	olderBuild := func(kind payment.EventKind) string {
		return `{"ID": "set-below", "Kind": "` + string(kind) + `", "ChargeID": "ch_1", "Amount": 100000, "Currency": "usd",
			"Metadata": {"client_id": "acme"}, "Fee": 0, "AmountRefunded": 0, "RefundID": "", "RefundMade": "0001-01-01T00:00:00Z",
			"DisputeID": "", "DisputeStatus": "", "OccurredAt": "2026-11-27T10:00:00Z", "RuleVersion": 0, "Actor": ""}`
	}
	for _, tt := range []struct {
		name   string
		stored func(payment.EventKind) string
		kind   payment.EventKind
		typ    enumspb.EventType
	}{
		{"this build's capture", thisBuild, payment.EventCapture, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED},
		{"this build's refund", thisBuild, payment.EventRefund, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED},
		{"an older build's capture", olderBuild, payment.EventCapture, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED},
		{"an older build's refund", olderBuild, payment.EventRefund, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED},
	} {
		t.Run(tt.name, func(t *testing.T) {
			pi, eventID := uniqueID("pi_payload"), uniqueID("evt_payload")
			var fields map[string]any
			require.NoError(t, json.Unmarshal([]byte(tt.stored(tt.kind)), &fields))
			fields["ID"] = eventID
			stored, err := json.Marshal(fields)
			require.NoError(t, err)
			var want payment.Event // what a worker read from the Event the relay used to send
			require.NoError(t, json.Unmarshal(stored, &want))

			storeAndAwaitForwarded(t, a, queue, pi, eventID, stored)
			id := payment.WorkflowID("stripe", pi)
			t.Cleanup(func() { _ = tc.TerminateWorkflow(context.Background(), id, "", "test over") })

			p := sentPayload(t, tc, id, tt.typ)
			assert.Equal(t, "json/plain", string(p.GetMetadata()[converter.MetadataEncoding]),
				"the stored event must go as JSON, not as bytes (binary/plain): %s", p.GetData())
			dc := converter.GetDefaultDataConverter()
			var got payment.Event
			if tt.typ == enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED {
				var in payment.Input
				require.NoError(t, dc.FromPayload(p, &in))
				require.NotNil(t, in.First, "the start input carries the event: %s", p.GetData())
				assert.Equal(t, payment.CurrentCodePath, in.CodePath)
				assert.Equal(t, "stripe", in.Provider)
				assert.Equal(t, pi, in.PaymentID)
				got = *in.First
			} else {
				require.NoError(t, dc.FromPayload(p, &got))
			}
			assert.Equal(t, want, got, "a worker decodes what the relay sent as it decoded the Event sent before")
		})
	}
}

// sentPayload is the payload of a run's first history event of type typ: the start input, or the
// signal's.
func sentPayload(t *testing.T, tc client.Client, id string, typ enumspb.EventType) *commonpb.Payload {
	t.Helper()
	it := tc.GetWorkflowHistory(t.Context(), id, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		e, err := it.Next()
		require.NoError(t, err)
		switch {
		case e.GetEventType() != typ:
		case typ == enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED:
			return e.GetWorkflowExecutionStartedEventAttributes().GetInput().GetPayloads()[0]
		default:
			return e.GetWorkflowExecutionSignaledEventAttributes().GetInput().GetPayloads()[0]
		}
	}
	t.Fatalf("no %s in the history of %s", typ, id)
	return nil
}
