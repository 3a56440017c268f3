package server_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"paysplit/internal/monitor"
	ipayment "paysplit/internal/payment"
	"paysplit/internal/split"
	"paysplit/workflows/payment"
)

// Of two legs held for days, the ask pays one (code path 19): the other has been held as long
// as before, so the held_leg_age monitor keeps firing for the payment; its alert must not
// resolve because the payment went paying_out and back to held while the vendor was paid.
func TestHeldLegAgeKeepsFiringWhenTheAskPaysOneOfTwoHeldLegs(t *testing.T) {
	s := newStack(t, payment.Settings{SettleWindow: 0, HoldRecheckEvery: 2 * time.Second})
	ctx := context.Background()
	client := uniqueName("heldageco")
	id := s.heldPayment(client, "pi_"+client, "vendor", "affiliate")
	// Held five days ago (the run saves nothing while its asks get the same answer).
	_, err := s.Pool.Exec(ctx, `UPDATE payments SET status_since = status_since - interval '5 days' WHERE workflow_id = $1`, id)
	require.NoError(t, err)

	monitors := monitor.NewStore(s.Pool, s.Ledger)
	m, err := monitors.Create(ctx, monitor.Monitor{Name: "held " + client, Kind: monitor.KindHeldLegAge,
		Params: monitor.Params{Days: 3, ClientID: client}}, "test")
	require.NoError(t, err)
	evaluate := func() monitor.Result {
		t.Helper()
		now := time.Now()
		obs, err := monitors.Observe(ctx, m, now)
		require.NoError(t, err)
		r := monitor.Evaluate(m, obs, now)
		_, err = monitors.Apply(ctx, m.ID, r, now)
		require.NoError(t, err)
		return r
	}
	r := evaluate()
	require.Equal(t, monitor.StatusFiring, r.Status, r.Summary)
	require.Equal(t, []string{id}, r.Subjects)

	code, body := s.do(http.MethodPut, "/api/v1/admin/payees/"+client+"-vendor", map[string]any{"client_id": client, "kind": "vendor", "stripe_account": uniqueAccount("heldagev")}, adminKey)
	require.Equal(t, http.StatusOK, code, body)
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		r, err := s.Store.GetPayment(ctx, id)
		if assert.NoError(c, err) {
			assert.Equal(c, ipayment.LegTransferred, r.Leg(split.PartyVendor).State)
			assert.Equal(c, ipayment.StatusHeld, r.Status)
		}
	}, 30*time.Second, 100*time.Millisecond, "the ask pays the vendor, the payment stays held for the affiliate")

	r = evaluate()
	require.Equal(t, monitor.StatusFiring, r.Status, "the affiliate's leg has been held five days: %s", r.Summary)
	require.Equal(t, []string{id}, r.Subjects)
	alerts, err := monitors.Alerts(ctx, monitor.AlertFilter{MonitorID: m.ID})
	require.NoError(t, err)
	require.Len(t, alerts, 1, "one incident, still open")
	require.Nil(t, alerts[0].ResolvedAt, "not resolved")
}
