package server_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	ipayment "paysplit/internal/payment"
	"paysplit/internal/stripeevent"
	"paysplit/workflows/payment"
)

// A vendor whose leg was held is paid once an admin fixes the payee, without a release of each
// of its payments (code path 19): the run asks again by itself (PAYMENT_HOLD_RECHECK_EVERY), and
// what it sends goes to the account the payee has now, once.
func TestHeldLegPaidOnceTheAdminFixesThePayee(t *testing.T) {
	s := newStack(t, payment.Settings{SettleWindow: 0, HoldRecheckEvery: 2 * time.Second})
	s.seed("recheckco")
	code, body := s.do(http.MethodPut, "/api/v1/admin/payees/recheckco-vendor", map[string]any{"client_id": "recheckco", "kind": "vendor"}, adminKey)
	require.Equal(t, http.StatusOK, code, body)
	code, body = s.webhook(stripeevent.Sign(capture("recheckco", "pi_recheck").Body(), webhookSecret, time.Now()))
	require.Equal(t, http.StatusOK, code, body)
	id := payment.WorkflowID("stripe", "pi_recheck")
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		_, view := s.do(http.MethodGet, "/api/v1/admin/payments/"+id, nil, adminKey)
		assert.Equal(c, "held", view["status"])
	}, 20*time.Second, 100*time.Millisecond)

	code, body = s.do(http.MethodPut, "/api/v1/admin/payees/recheckco-vendor", map[string]any{"client_id": "recheckco", "kind": "vendor", "stripe_account": "acct_recheck1"}, adminKey)
	require.Equal(t, http.StatusOK, code, body)

	rec := s.result(id)
	require.Equal(t, ipayment.StatusPaid, rec.Status)
	var vendorTransfers int
	for _, c := range s.stripe.Calls(http.MethodPost, "/v1/transfers") {
		if c.Form.Get("destination") == "acct_recheck1" {
			vendorTransfers++
			require.Equal(t, "9545", c.Form.Get("amount"))
		}
	}
	require.Equal(t, 1, vendorTransfers)
	code, audit := s.do(http.MethodGet, "/api/v1/admin/audit?action=payment.release&target=payment:"+id, nil, adminKey)
	require.Equal(t, http.StatusOK, code, audit)
	require.Contains(t, audit, "entries")
	require.Empty(t, audit["entries"], "no one released it")
	s.requireBooksBalanced()
	s.record("stripe_hold_recheck.json", s.history(id))
}
