package activities_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"paysplit/activities"
	"paysplit/internal/store"
	"paysplit/testenv"
)

// PayPal refusing a payout for its PayPal-Request-Id (used, or in use by a request it still
// works on) says the key went out before, whatever the send records say: they know only the
// sends of workers that keep them (not a release from before the records, whose send a run that
// never heard of it sends again as new) and no more than 90 days. Taken as the payout's refusal
// (ErrTypeRejected), the leg got a new key and the batch the earlier send made paid too. A
// refusal of anything else of a key never sent is still the payout's.
func TestPayPalRefusalOfAUsedRequestIDIsNoRefusalOfThePayout(t *testing.T) {
	pool, _ := testenv.Postgres(t)
	st := store.New(pool)
	tests := []struct {
		name, body   string
		status       int
		wantRejected bool
	}{
		{name: "request ID used", status: http.StatusUnprocessableEntity,
			body: `{"name":"UNPROCESSABLE_ENTITY","message":"The requested action could not be performed.","debug_id":"d1",` +
				`"details":[{"issue":"PAYPAL_REQUEST_ID_PREVIOUSLY_USED","description":"The PayPal-Request-Id has already been used for another request."}]}`},
		{name: "duplicate request ID", status: http.StatusBadRequest,
			body: `{"name":"DUPLICATE_REQUEST_ID","message":"The value of PayPal-Request-Id header has already been used","debug_id":"d2"}`},
		{name: "funds short", status: http.StatusUnprocessableEntity, wantRejected: true,
			body: `{"name":"INSUFFICIENT_FUNDS","message":"Sender does not have sufficient funds. Please add funds and retry.","debug_id":"d3"}`},
	}
	for n, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var posts atomic.Int32
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				_, _ = io.Copy(io.Discard, r.Body)
				w.Header().Set("Content-Type", "application/json")
				switch {
				case r.URL.Path == "/v1/oauth2/token":
					_, _ = io.WriteString(w, `{"access_token":"A21AA","token_type":"Bearer","expires_in":32400}`)
				case r.Method == http.MethodPost && r.URL.Path == "/v1/payments/payouts":
					posts.Add(1)
					w.WriteHeader(tc.status)
					_, _ = io.WriteString(w, tc.body)
				default:
					w.WriteHeader(http.StatusTeapot)
				}
			}))
			defer srv.Close()
			c, err := activities.NewPayPalClient("paysplit-test", "secret", srv.URL, srv.Client())
			require.NoError(t, err)
			a := &activities.Activities{PayPal: c, Store: st, PayPalWatch: 1}
			// Never sent as far as the records and the run know.
			key := fmt.Sprintf("payment-paypal-REQID%d-%d/transfer/vendor-v1/0", n, time.Now().UnixNano())
			_, err = a.Transfer(context.Background(), activities.TransferInput{Provider: activities.ProviderPayPal, IdempotencyKey: key,
				Destination: "vendor@example.com", Amount: 9545, Currency: "usd", TransferGroup: "o-1", Metadata: map[string]string{"payee_id": "v1"}})
			require.Error(t, err)
			require.EqualValues(t, 1, posts.Load())
			if tc.wantRejected {
				requireNonRetryable(t, err, activities.ErrTypeRejected)
				return
			}
			requireRetryable(t, err)
		})
	}
}
