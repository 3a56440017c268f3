package server_test

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	ipayment "paysplit/internal/payment"
	"paysplit/internal/stripeevent"
	"paysplit/workflows/payment"
)

// Stripe renders an event in its endpoint's API version, and versions before 2017-05-25 are still
// served: there an event's request is the request's ID (a string; later {id, idempotency_key}),
// and a connected account's event names its account in user_id (later account). stripe-go reads
// only the later form: a payment captured on an endpoint of such a version was answered 400
// invalid_event ("cannot unmarshal string into Go struct field Event.request"), delivered again
// for three days and never split. It is taken as any other; a connected account's event of that
// version is ignored, as one naming its account is.
func TestStripeEventOfAnOldAPIVersionIsTaken(t *testing.T) {
	s := newStack(t, payment.Settings{})
	s.seed("legacyco")
	legacy := func(body []byte, extra map[string]any) []byte {
		var m map[string]any
		require.NoError(t, json.Unmarshal(body, &m))
		m["api_version"], m["request"] = "2017-02-14", "req_legacy1"
		for k, v := range extra {
			m[k] = v
		}
		out, err := json.Marshal(m)
		require.NoError(t, err)
		return out
	}

	code, out := s.webhook(stripeevent.Sign(legacy(capture("legacyco", "pi_legacy1").Body(), nil), webhookSecret, time.Now()))
	require.Equal(t, http.StatusOK, code, out)
	require.Equal(t, "accepted", out["status"], out)
	require.Equal(t, ipayment.StatusPaid, s.result(payment.WorkflowID("stripe", "pi_legacy1")).Status)

	c := capture("legacyco", "pi_legacy2")
	c.EventID = "evt_legacy_connect"
	code, out = s.webhook(stripeevent.Sign(legacy(c.Body(), map[string]any{"user_id": "acct_1Vendor"}), webhookSecret, time.Now()))
	require.Equal(t, http.StatusOK, code, out)
	require.Equal(t, "ignored", out["status"], "a connected account's payment is not the platform's: %v", out)
}
