package activities_test

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"

	"paysplit/activities"
	"paysplit/internal/store"
	"paysplit/testenv"
)

// A payout key sent again after an outcome never learnt (the answer lost, an attempt timed out
// while PayPal worked on it) may already have made its batch. PayPal then answers the key with
// the first answer or with its refusal of the used sender_batch_id, but it can also refuse the
// request before it looks at the key: our credentials or the app's Payouts permission refused
// (401, 403: rotated secrets, a changed app), or the request ID itself refused
// (developer.paypal.com/reference/guidelines/idempotency: "When you send two simultaneous API
// requests with same PayPal-Request-Id header, PayPal processes the first request and might fail
// the second request"; DUPLICATE_REQUEST_ID, PAYPAL_REQUEST_ID_PREVIOUSLY_USED). Such a refusal
// says nothing of the batch the earlier send made: taken as the payout's refusal, the leg got a
// new key, and its next send paid the payee a second time. It must stay in doubt (retryable,
// the key kept) until PayPal answers the key itself. A key never sent before is refused as before.
func TestPayPalRefusalOfAKeySentBeforeIsNoRefusalOfThePayout(t *testing.T) {
	pool, _ := testenv.Postgres(t)
	st := store.New(pool)
	tests := []struct {
		name   string
		status int
		// noDB: the run knows the key was sent (asked), the activity keeps no records.
		noDB bool
	}{
		{name: "credentials refused", status: http.StatusUnauthorized},
		{name: "Payouts permission refused", status: http.StatusForbidden},
		{name: "request ID refused", status: http.StatusUnprocessableEntity},
		{name: "request ID refused, bad request", status: http.StatusBadRequest},
		{name: "credentials refused, asked, no records", status: http.StatusUnauthorized, noDB: true},
	}
	for n, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fake := testenv.NewPayPal(t)
			c, err := activities.NewPayPalClient("paysplit-test", "secret", fake.APIBase, fake.HTTPClient())
			require.NoError(t, err)
			a := &activities.Activities{PayPal: c, Store: st}
			if tc.noDB {
				a.Store = nil
			}
			key := fmt.Sprintf("payment-paypal-RESEND%d-%d/transfer/vendor-v1/0", n, time.Now().UnixNano())
			in := activities.TransferInput{Provider: activities.ProviderPayPal, IdempotencyKey: key, Destination: "vendor@example.com",
				Amount: 9545, Currency: "usd", TransferGroup: "o-1", Metadata: map[string]string{"payee_id": "v1"}}
			ctx := context.Background()

			lost := 0
			fake.LosePayoutAnswer = func(string) bool { lost++; return lost == 1 }
			_, err = a.Transfer(ctx, in)
			require.Error(t, err, "the first answer is lost; the batch was made")
			requireRetryable(t, err)

			fake.FailPayout = func(string) int { return tc.status }
			again := in
			again.Asked = tc.noDB
			_, err = a.Transfer(ctx, again)
			require.Error(t, err)
			requireRetryable(t, err)
			require.Len(t, fake.Payouts(), 1)

			fake.FailPayout = nil // PayPal answers the key again
			out, err := a.Transfer(ctx, again)
			require.NoError(t, err)
			require.Equal(t, "ITEM0001", out.TransferID, "the batch the first send made")
			require.Len(t, fake.Payouts(), 1, "PayPal paid once")
		})
	}

	t.Run("a key never sent before is refused", func(t *testing.T) {
		fake := testenv.NewPayPal(t)
		c, err := activities.NewPayPalClient("paysplit-test", "secret", fake.APIBase, fake.HTTPClient())
		require.NoError(t, err)
		a := &activities.Activities{PayPal: c, Store: st}
		key := fmt.Sprintf("payment-paypal-RESENDNEW-%d/transfer/vendor-v1/0", time.Now().UnixNano())
		fake.FailPayout = func(string) int { return http.StatusUnprocessableEntity }
		_, err = a.Transfer(context.Background(), activities.TransferInput{Provider: activities.ProviderPayPal, IdempotencyKey: key,
			Destination: "vendor@example.com", Amount: 9545, Currency: "usd", TransferGroup: "o-1", Metadata: map[string]string{"payee_id": "v1"}})
		var app *temporal.ApplicationError
		require.ErrorAs(t, err, &app)
		require.True(t, app.NonRetryable(), "PayPal refused the only send of the key: nothing was made")
		require.Equal(t, activities.ErrTypeRejected, app.Type())
		require.Empty(t, fake.Payouts())
	})

	t.Run("a key whose earlier send PayPal rate-limited is refused", func(t *testing.T) {
		fake := testenv.NewPayPal(t)
		c, err := activities.NewPayPalClient("paysplit-test", "secret", fake.APIBase, fake.HTTPClient())
		require.NoError(t, err)
		a := &activities.Activities{PayPal: c, Store: st}
		key := fmt.Sprintf("payment-paypal-RESEND429-%d/transfer/vendor-v1/0", time.Now().UnixNano())
		in := activities.TransferInput{Provider: activities.ProviderPayPal, IdempotencyKey: key,
			Destination: "vendor@example.com", Amount: 9545, Currency: "usd", TransferGroup: "o-1", Metadata: map[string]string{"payee_id": "v1"}}
		fake.FailPayout = func(string) int { return http.StatusTooManyRequests }
		_, err = a.Transfer(context.Background(), in)
		requireRetryable(t, err)
		fake.FailPayout = func(string) int { return http.StatusUnprocessableEntity }
		_, err = a.Transfer(context.Background(), in)
		var app *temporal.ApplicationError
		require.ErrorAs(t, err, &app)
		require.True(t, app.NonRetryable(), "the 429 made nothing: the refusal is the payout's")
		require.Empty(t, fake.Payouts())
	})
}
