package activities

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"

	"paysplit/internal/payment"
	"paysplit/internal/recon"
)

// Reconciliation reads every charge in the library's API version (before basil), but whether a
// partial capture released its rest as a refund was decided by the version the capture was made
// in (a store plugin's, the account's default). The charge's balance transaction says which:
// before basil the capture's transaction is of the amount authorized (the release a transaction
// of its own), from basil of the amount captured. A charge of 1000 captured for 600 under basil
// and refunded 500 states amount_refunded 500, all of it the customer's: it was read as 100 (500
// less a release of 400 that never was), a refunded drift of 400 on a payment whose books are
// right. One captured the old way (its transaction of 1000) still has its release left out.
//
// A charge captured before 2025-03-31.basil, where a partial capture released the uncaptured
// rest as a refund counted in amount_refunded, authorized for 1000, captured for 600 and refunded
// 100 states amount_refunded 500: what was refunded of the payment is 100, as the books say.
// Before, every partially captured payment showed as a drift of its uncaptured rest (refunded:
// books 100, Stripe 500), and one never refunded as 0 against 400
// (TestStripeStatedRefundLeavesOutAPartialCapturesRelease before).
func TestStripeStatedReadsTheReleaseFromTheBalanceTransaction(t *testing.T) {
	for _, tt := range []struct {
		name                                     string
		captured, btAmount, refunded, wantRefund int64
	}{
		{"captured under basil, refunded 500", 600, 600, 500, 500},
		{"captured under basil, refunded 400", 600, 600, 400, 400},
		{"captured the old way, refunded 100", 600, 1000, 500, 100},
		{"captured the old way, never refunded", 600, 1000, 400, 0},
		{"captured in full, refunded 100", 1000, 1000, 100, 100},
	} {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path != "/v1/charges/ch_1" {
					http.NotFound(w, r)
					return
				}
				w.Header().Set("Content-Type", "application/json")
				_, _ = fmt.Fprintf(w, `{"id":"ch_1","object":"charge","amount":1000,"amount_captured":%d,"amount_refunded":%d,`+
					`"captured":true,"currency":"usd","disputed":false,"payment_intent":"pi_1","balance_transaction":`+
					`{"id":"txn_1","object":"balance_transaction","type":"charge","amount":%d,"currency":"usd","fee":47,"net":%d}}`,
					tt.captured, tt.refunded, tt.btAmount, tt.btAmount-47)
			}))
			t.Cleanup(srv.Close)
			rail := stripeRail{api: NewStripeClient("sk_test_123", srv.URL, srv.Client())}
			out, err := stripeStated(context.Background(), rail, payment.Record{PaymentID: "pi_1", ChargeID: "ch_1", Currency: "usd", Gross: tt.captured})
			require.NoError(t, err)
			require.Equal(t, tt.captured, out[recon.Captured], "captured")
			require.Equal(t, tt.wantRefund, out[recon.Refunded], "refunded of the payment")
		})
	}
}
