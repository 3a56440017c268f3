package server_test

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"

	"paysplit/api/server"
	"paysplit/internal/stripeevent"
	"paysplit/testenv"
	"paysplit/workflows/payment"
)

// What a charge.refunded's figure moved from (previous_attributes.amount_refunded, read by code
// path 26) is a field of the event the inbox stores and the relay forwards as stored: acknowledged
// once stored, the refund reaches its run with it.
func TestStripeRefundInboxKeepsWhatItsFigureMovedFrom(t *testing.T) {
	tc := testenv.TemporalClient(t)
	queue := uniqueID("q-moved") // no worker: the run only records what it was sent
	a := newAPI(t, func(d *server.Deps) {
		d.Temporal, d.TaskQueue, d.WebhookAck = tc, queue, server.AckOnStore
		d.Relay = server.RelayOptions{Poll: 50 * time.Millisecond}
	})
	pi, eventID := uniqueID("pi_moved"), uniqueID("evt_moved")
	previous := int64(300)
	body := stripeevent.Refund{EventID: eventID, PaymentIntent: pi, Charge: "ch_" + pi, Currency: "usd", Amount: 2000,
		AmountRefunded: 800, PreviousRefunded: &previous, Created: time.Now()}.Body()
	code, out := a.json(req{method: http.MethodPost, path: "/webhooks/stripe", body: json.RawMessage(body),
		header: map[string]string{"Stripe-Signature": stripeevent.Sign(body, webhookSecret, time.Now()).Signature}})
	require.Equal(t, http.StatusOK, code, out)
	require.Equal(t, "accepted", out["status"])

	var stored []byte
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		var forwarded bool
		if assert.NoError(c, a.pool.QueryRow(t.Context(), `SELECT event, forwarded_at IS NOT NULL FROM webhook_inbox
			WHERE provider = 'stripe' AND event_id = $1`, eventID).Scan(&stored, &forwarded)) {
			assert.True(c, forwarded, "forwarded")
		}
	}, 30*time.Second, 20*time.Millisecond)
	var ev payment.Event
	require.NoError(t, json.Unmarshal(stored, &ev))
	require.NotNil(t, ev.PreviousRefunded, "stored: %s", stored)
	assert.EqualValues(t, 300, *ev.PreviousRefunded, "stored: %s", stored)
	assert.EqualValues(t, 800, ev.AmountRefunded)

	id := payment.WorkflowID("stripe", pi)
	t.Cleanup(func() { _ = tc.TerminateWorkflow(context.Background(), id, "", "test over") })
	sent := sentEvent(t, tc, id, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED)
	assert.Equal(t, eventID, sent["ID"])
	assert.EqualValues(t, 300, sent["PreviousRefunded"], "the run's signal: %v", sent)
}
