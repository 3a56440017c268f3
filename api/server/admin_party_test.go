package server_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"paysplit/internal/payment"
)

// TestPartyIsRefusedOnRetryAndCancel: only a release acts on one leg ({"party": "vendor"},
// README); the run reads the party of a release only. A cancel sent with {"party": "affiliate"}
// was checked, audited with the party and signalled, and the run cancelled every leg of the
// payment, the vendor's included: an admin who meant to stop one payee's payout stopped them
// all. A retry so sent retried every failed leg. Both are 400 now, before anything is sent or
// audited.
func TestPartyIsRefusedOnRetryAndCancel(t *testing.T) {
	a := newAPI(t, nil)
	ctx := context.Background()
	c := a.newClient("partyco")
	rec := paidRecord(c, c+"-pi", time.Now().Add(-time.Hour), 10000, 0, payment.StatusPayoutFailed)
	require.NoError(t, a.store.SavePayment(ctx, rec))
	audits := func() int {
		var n int
		require.NoError(t, a.pool.QueryRow(ctx, `SELECT count(*) FROM audit_log WHERE target = $1`, "payment:"+rec.WorkflowID).Scan(&n))
		return n
	}
	for _, action := range []string{"cancel", "retry"} {
		for _, party := range []string{"vendor", "affiliate"} {
			code, body := a.json(req{method: http.MethodPost, path: "/api/v1/admin/payments/" + rec.WorkflowID + "/" + action, key: adminKey,
				body: map[string]string{"party": party}})
			require.Equal(t, http.StatusBadRequest, code, "%s %s: %v", action, party, body)
			e := body["error"].(map[string]any)
			require.Equal(t, "invalid_request", e["code"])
			require.Contains(t, e["message"], "release")
		}
	}
	require.Zero(t, audits(), "nothing refused is audited")
}
