package server_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"paysplit/internal/ledger"
	ipayment "paysplit/internal/payment"
	"paysplit/internal/stripeevent"
	"paysplit/workflows/payment"
)

// TestOffboardedClientsMoneyKeepsFlowing: offboarding stops what serves a working shop, never its
// money. A capture of an offboarded client's payment is taken and split exactly as before (its
// payees are paid, the books balance), and a refund of it reverses the shares. Its admin views
// stay, and its own API key keeps reading its history (GET /client says it is offboarded) but
// cannot start a KPI sync.
func TestOffboardedClientsMoneyKeepsFlowing(t *testing.T) {
	s := newStack(t, payment.Settings{SettleWindow: 0})
	const client, pi = "offb-shop", "pi_offb1"
	s.seed(client)
	code, body := s.do(http.MethodPost, "/api/v1/admin/clients/"+client+"/offboard", nil, adminKey)
	require.Equal(t, http.StatusOK, code, body)
	require.Equal(t, "offboarded", body["status"])

	code, body = s.webhook(stripeevent.Sign(capture(client, pi).Body(), webhookSecret, time.Now()))
	require.Equal(t, http.StatusOK, code, body)
	require.Equal(t, "accepted", body["status"], "an offboarded client's capture is taken")
	id := payment.WorkflowID("stripe", pi)
	rec := s.result(id)
	require.Equal(t, ipayment.StatusPaid, rec.Status, rec.Reason)
	require.Len(t, s.stripe.Calls(http.MethodPost, "/v1/transfers"), 2, "vendor and affiliate paid")
	require.Equal(t, map[string]int64{
		ledger.VendorPayable(client + "-vendor"): 0, ledger.AffiliatePayable(client + "-aff"): 0,
		ledger.PlatformRevenue: -970, ledger.ProcessingFees("stripe"): 349, ledger.ProviderBalance("stripe"): 970 - 349,
	}, s.paymentBalances(id), "split as for any client")

	refund := stripeevent.Refund{EventID: "evt_offb_re1", PaymentIntent: pi, Charge: "ch_" + pi, Currency: "usd", Amount: 11000, AmountRefunded: 1100, Created: time.Now()}
	code, body = s.webhook(stripeevent.Sign(refund.Body(), webhookSecret, time.Now()))
	require.Equal(t, http.StatusOK, code, body)
	require.Equal(t, ipayment.StatusPartiallyRefunded, s.result(id).Status, "its refund is processed too")
	s.requireBooksBalanced()

	code, body = s.do(http.MethodGet, "/api/v1/admin/payments/"+id, nil, adminKey)
	require.Equal(t, http.StatusOK, code, body)

	code, body = s.do(http.MethodPost, "/api/v1/admin/api-keys", map[string]any{"role": "client", "client_id": client, "name": "offboarded shop"}, adminKey)
	require.Equal(t, http.StatusCreated, code, body)
	key := body["key"].(string)
	code, body = s.do(http.MethodGet, "/api/v1/client", nil, key)
	require.Equal(t, http.StatusOK, code, body)
	require.Equal(t, "offboarded", body["client"].(map[string]any)["status"])
	code, body = s.do(http.MethodGet, "/api/v1/payouts", nil, key)
	require.Equal(t, http.StatusOK, code, body)
	require.NotEmpty(t, body["payouts"], "its history stays readable")
	code, body = s.do(http.MethodPost, "/api/v1/kpis/refresh", nil, key)
	require.Equal(t, http.StatusConflict, code, body)
	require.Equal(t, "client_offboarded", body["error"].(map[string]any)["code"])
}
