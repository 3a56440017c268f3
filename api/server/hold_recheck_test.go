package server_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	ipayment "paysplit/internal/payment"
	"paysplit/workflows/payment"
)

// A vendor whose leg was held is paid once an admin fixes the payee, without a release of each
// of its payments (code path 19): the run asks again by itself (PAYMENT_HOLD_RECHECK_EVERY), and
// what it sends goes to the account the payee has now, once.
func TestHeldLegPaidOnceTheAdminFixesThePayee(t *testing.T) {
	s := newStack(t, payment.Settings{SettleWindow: 0, HoldRecheckEvery: 2 * time.Second})
	id := s.heldVendorPayment("recheckco", "pi_recheck")

	code, body := s.do(http.MethodPut, "/api/v1/admin/payees/recheckco-vendor", map[string]any{"client_id": "recheckco", "kind": "vendor", "stripe_account": "acct_recheck1"}, adminKey)
	require.Equal(t, http.StatusOK, code, body)

	rec := s.result(id)
	require.Equal(t, ipayment.StatusPaid, rec.Status)
	require.Equal(t, []string{"9545"}, s.amountsSentTo("acct_recheck1"), "the vendor paid once, in full")
	code, audit := s.do(http.MethodGet, "/api/v1/admin/audit?action=payment.release&target=payment:"+id, nil, adminKey)
	require.Equal(t, http.StatusOK, code, audit)
	require.Contains(t, audit, "entries")
	require.Empty(t, audit["entries"], "no one released it")
	s.requireBooksBalanced()
	s.record("stripe_hold_recheck.json", s.history(id))
}
