package server_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"paysplit/internal/store"
)

// TestInboxListsWaitingAndForwardedEvents: what the relay has not handed to Temporal is listed
// oldest first with why it waits; what it has, newest first; no payload either way.
func TestInboxListsWaitingAndForwardedEvents(t *testing.T) {
	a := newAPI(t, nil)
	ctx := t.Context()
	queue := uniqueID("elsewhere") // no relay serves it: these events stay where the test puts them
	accept := func(provider, eventID, paymentID string) int64 {
		id, first, err := a.store.AcceptEvent(ctx, store.InboxEvent{Provider: provider, EventID: eventID, PaymentID: paymentID,
			TaskQueue: queue, Event: json.RawMessage(`{"Metadata": {"order_id": "secret-ish"}}`)}, 0)
		require.NoError(t, err)
		require.True(t, first)
		return id
	}
	waiting, older := uniqueID("evt_wait"), uniqueID("WH-older")
	olderID := accept("paypal", older, "CAP1")
	waitingID := accept("stripe", waiting, "pi_inbox1")
	done := uniqueID("evt_done")
	doneID := accept("stripe", done, "pi_inbox2")
	require.NoError(t, a.store.MarkForwarded(ctx, []int64{doneID}))
	require.NoError(t, a.store.RetryInboxAfter(ctx, []int64{waitingID}, time.Minute, "temporal: connection refused"))

	events := func(path string) ([]map[string]any, map[string]any) {
		code, body := a.json(req{method: http.MethodGet, path: path, key: adminKey})
		require.Equal(t, http.StatusOK, code, body)
		var out []map[string]any
		for _, e := range body["events"].([]any) {
			out = append(out, e.(map[string]any))
		}
		return out, body
	}
	pending, body := events("/api/v1/admin/webhook-inbox?limit=500")
	assert.GreaterOrEqual(t, body["pending"].(float64), 2.0)
	assert.Positive(t, body["oldest_wait_seconds"].(float64))
	var mine []map[string]any
	for _, e := range pending {
		if e["task_queue"] == queue {
			mine = append(mine, e)
		}
	}
	require.Len(t, mine, 2, "the forwarded one is not pending")
	assert.Equal(t, []any{older, waiting}, []any{mine[0]["event_id"], mine[1]["event_id"]}, "oldest first")
	assert.Equal(t, float64(olderID), mine[0]["id"])
	assert.Equal(t, "payment-stripe-pi_inbox1", mine[1]["workflow_id"])
	assert.Equal(t, "temporal: connection refused", mine[1]["last_error"])
	assert.Nil(t, mine[1]["forwarded_at"])
	assert.NotContains(t, mine[1], "event", "never the payload")

	stripeOnly, _ := events("/api/v1/admin/webhook-inbox?provider=stripe&limit=500")
	for _, e := range stripeOnly {
		assert.Equal(t, "stripe", e["provider"])
	}

	forwarded, _ := events("/api/v1/admin/webhook-inbox?state=forwarded&limit=500")
	var found bool
	for _, e := range forwarded {
		if e["event_id"] == done {
			found = true
			assert.NotNil(t, e["forwarded_at"])
		}
	}
	assert.True(t, found, "the forwarded event is listed as forwarded")

	// /metrics reports the same backlog (both gauges from one read).
	res, err := http.Get(a.url + "/metrics")
	require.NoError(t, err)
	defer res.Body.Close()
	metrics, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	var pendingGauge, oldestGauge float64
	for _, line := range strings.Split(string(metrics), "\n") {
		if v, ok := strings.CutPrefix(line, "paysplit_webhook_inbox_pending "); ok {
			pendingGauge, err = strconv.ParseFloat(v, 64)
			require.NoError(t, err)
		}
		if v, ok := strings.CutPrefix(line, "paysplit_webhook_inbox_oldest_seconds "); ok {
			oldestGauge, err = strconv.ParseFloat(v, 64)
			require.NoError(t, err)
		}
	}
	assert.GreaterOrEqual(t, pendingGauge, 2.0, "the two waiting events are counted")
	assert.Positive(t, oldestGauge)

	for _, bad := range []string{"?state=lost", "?provider=square", "?limit=0", "?limit=501"} {
		code, body := a.json(req{method: http.MethodGet, path: "/api/v1/admin/webhook-inbox" + bad, key: adminKey})
		require.Equal(t, http.StatusBadRequest, code, bad)
		assert.Equal(t, "invalid_request", body["error"].(map[string]any)["code"], bad)
	}
	code, _ := a.json(req{method: http.MethodGet, path: "/api/v1/admin/webhook-inbox"})
	assert.Equal(t, http.StatusUnauthorized, code, "admins only")
}
