package activities_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"

	"paysplit/activities"
)

// An admin who found a payout in doubt made names its batch; the rail reads it at PayPal. A read
// PayPal refuses (our credentials refused, the app not allowed to see the batch: a batch another
// REST app of the account made, a batch ID PayPal will not take) says nothing of the payout, yet
// it was classified like a refused payout, ErrTypeRejected, which the workflow takes as PayPal
// saying the movement failed: "not made; the next retry sends under a new key", and the payee
// the admin found paid was paid again. Only the batch's own item (FAILED, RETURNED, ...) says
// the payout was not made; an unreadable batch leaves the leg in doubt.
func TestConfirmPayPalPayoutPayPalWillNotShowLeavesItInDoubt(t *testing.T) {
	const key = "payment-paypal-CAP1/transfer/vendor-v1/0"
	in := activities.TransferInput{Provider: activities.ProviderPayPal, IdempotencyKey: key, Destination: "vendor@example.com",
		Amount: 9545, Currency: "usd", TransferGroup: "o-1", Metadata: map[string]string{"payee_id": "v1"}}
	for _, tc := range []struct {
		status    int
		name      string
		retryable bool
	}{
		{http.StatusUnauthorized, "AUTHENTICATION_FAILURE", true},
		{http.StatusForbidden, "NOT_AUTHORIZED", false},
		{http.StatusBadRequest, "INVALID_REQUEST", false},
		{http.StatusUnprocessableEntity, "UNPROCESSABLE_ENTITY", false},
	} {
		t.Run(fmt.Sprint(tc.status), func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				_, _ = io.Copy(io.Discard, r.Body)
				w.Header().Set("Content-Type", "application/json")
				switch {
				case r.URL.Path == "/v1/oauth2/token":
					_, _ = io.WriteString(w, `{"access_token":"A21AA","token_type":"Bearer","expires_in":32400}`)
				case r.Method == http.MethodGet && strings.HasPrefix(r.URL.Path, "/v1/payments/payouts/"):
					w.WriteHeader(tc.status)
					_, _ = fmt.Fprintf(w, `{"name":%q,"message":"refused","debug_id":"d1"}`, tc.name)
				default:
					w.WriteHeader(http.StatusTeapot)
				}
			}))
			defer srv.Close()
			c, err := activities.NewPayPalClient("paysplit-test", "secret", srv.URL, srv.Client())
			require.NoError(t, err)
			a := &activities.Activities{PayPal: c, PayPalWatch: 1}

			_, err = a.ConfirmTransfer(context.Background(), activities.ConfirmTransferInput{Transfer: in, Ref: "CR9VS2K4X4846"})
			require.Error(t, err)
			var app *temporal.ApplicationError
			if errors.As(err, &app) {
				require.NotEqual(t, activities.ErrTypeRejected, app.Type(), "PayPal did not say the payout failed: %v", err)
			}
			if tc.retryable {
				requireRetryable(t, err)
			} else {
				requireNonRetryable(t, err, activities.ErrTypeNotThisMovement)
			}
		})
	}
}
