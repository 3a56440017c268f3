package activities

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"

	"paysplit/internal/payment"
	"paysplit/internal/recon"
)

// A charge captured before 2025-03-31.basil, where a partial capture released the uncaptured
// rest as a refund counted in amount_refunded (the capture's balance transaction is of the amount
// authorized, 1000, the release a transaction of its own): a PaymentIntent authorized for 1000,
// captured for 600 and refunded 100 states amount_refunded 500. What was refunded of the payment is 100, as the books say. Before, every
// partially captured payment showed as a drift of its uncaptured rest (refunded: books 100,
// Stripe 500), and one never refunded as 0 against 400.
func TestStripeStatedRefundLeavesOutAPartialCapturesRelease(t *testing.T) {
	for _, tt := range []struct {
		name                       string
		captured, refunded, wantRf int64
	}{
		{"captured in part, refunded 100", 600, 500, 100},
		{"captured in part, never refunded", 600, 400, 0},
		{"captured in full, refunded 100", 1000, 100, 100},
	} {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path != "/v1/charges/ch_1" {
					http.NotFound(w, r)
					return
				}
				w.Header().Set("Content-Type", "application/json")
				_, _ = w.Write([]byte(`{"id":"ch_1","object":"charge","amount":1000,"amount_captured":` + itoa(tt.captured) +
					`,"amount_refunded":` + itoa(tt.refunded) + `,"captured":true,"currency":"usd","disputed":false,"payment_intent":"pi_1",` +
					`"balance_transaction":{"id":"txn_1","object":"balance_transaction","amount":1000,"currency":"usd","fee":47,"net":953}}`))
			}))
			t.Cleanup(srv.Close)
			rail := stripeRail{api: NewStripeClient("sk_test_123", srv.URL, srv.Client())}
			out, err := stripeStated(context.Background(), rail, payment.Record{PaymentID: "pi_1", ChargeID: "ch_1", Currency: "usd", Gross: tt.captured})
			require.NoError(t, err)
			require.Equal(t, tt.captured, out[recon.Captured], "captured")
			require.Equal(t, tt.wantRf, out[recon.Refunded], "refunded of the payment")
		})
	}
}

func itoa(v int64) string { return strconv.FormatInt(v, 10) }
