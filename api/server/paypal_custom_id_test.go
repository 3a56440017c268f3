package server

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"paysplit/internal/paypalevent"
	"paysplit/internal/paypalsearch"
)

// A capture's custom_id is whatever the integration that took the payment put there. One that is
// not entirely a valid query string (a ';', a bare '%') still names what it can: the capture is
// the platform's money all the same. Before, the parser refused it, the webhook answered 400 for
// every one of PayPal's retries, and the capture was never recorded, while Transaction Search
// (KPIs of older days) and the webhook must read the same custom_id alike.
func TestPayPalCustomIDNotAllQueryString(t *testing.T) {
	at := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	for _, tt := range []struct {
		custom, invoice string
		want            map[string]string
	}{
		{"client_id=acme&order_id=o-1&note=50%off", "", map[string]string{"client_id": "acme", "order_id": "o-1"}},
		{"client_id=acme;order_id=o-2", "inv-2", map[string]string{"order_id": "inv-2"}},
		{"client_id=acme&order_id=o-3;x", "", map[string]string{"client_id": "acme"}},
		{"order #12; gift 100%", "inv-12", map[string]string{"order_id": "inv-12"}},
	} {
		t.Run(tt.custom, func(t *testing.T) {
			res := map[string]any{"id": "CAPQ1", "status": "COMPLETED", "amount": paypalevent.Amount(1000, "usd"), "custom_id": tt.custom}
			if tt.invoice != "" {
				res["invoice_id"] = tt.invoice
			}
			ev, capture, _, err := paypalToEvent(paypalevent.Build("WH-Q1", "PAYMENT.CAPTURE.COMPLETED", at, res))
			require.NoError(t, err)
			require.Equal(t, "CAPQ1", capture)
			require.Equal(t, tt.want, ev.Metadata)
			require.Equal(t, tt.want["client_id"], paypalsearch.ClientOf(tt.custom), "Transaction Search reads the same client")
		})
	}
}
