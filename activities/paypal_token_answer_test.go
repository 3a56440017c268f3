package activities_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"paysplit/internal/store"
	"paysplit/testenv"
)

// unusableTokenAnswers are token endpoint answers that carry no usable token: a proxy's HTML page
// in front of PayPal, an empty or cut-off body, JSON without access_token, an expires_in of 0 or
// below.
var unusableTokenAnswers = []struct {
	name   string
	answer testenv.PayPalTokenAnswer
}{
	{"200 HTML", testenv.PayPalTokenAnswer{Status: 200, ContentType: "text/html", Body: "<html><body>Sign in to the proxy</body></html>"}},
	{"502 HTML", testenv.PayPalTokenAnswer{Status: 502, ContentType: "text/html", Body: "<html><head><title>502 Bad Gateway</title></head></html>"}},
	{"503 HTML", testenv.PayPalTokenAnswer{Status: 503, ContentType: "text/html", Body: "<html><body>Service Unavailable</body></html>"}},
	{"200 empty", testenv.PayPalTokenAnswer{Status: 200, ContentType: "application/json"}},
	{"200 truncated JSON", testenv.PayPalTokenAnswer{Status: 200, ContentType: "application/json", Body: `{"access_token":"A21AAcut`}},
	{"200 without access_token", testenv.PayPalTokenAnswer{Status: 200, ContentType: "application/json", Body: `{"token_type":"Bearer","expires_in":32400}`}},
	{"200 expires_in 0", testenv.PayPalTokenAnswer{Status: 200, ContentType: "application/json", Body: `{"access_token":"A21AAzero","expires_in":0}`}},
	{"200 expires_in negative", testenv.PayPalTokenAnswer{Status: 200, ContentType: "application/json", Body: `{"access_token":"A21AAneg","expires_in":-1}`}},
}

// A token answer with no usable token (a proxy's HTML page, 200 or 502/503; an empty or cut-off
// body; no access_token; an expires_in of 0 or below) was the payout's JSON error, or a panic
// that left the client's lock held: the token request's failure now, so the payout is retried
// naming the settings, never refused nor given a new key, and once PayPal issues a token again it
// is paid once under its key.
func TestPayPalTokenAnswerUnusableIsNoRefusalOfThePayout(t *testing.T) {
	pool, _ := testenv.Postgres(t)
	for n, tc := range unusableTokenAnswers {
		t.Run(tc.name, func(t *testing.T) {
			fake := testenv.NewPayPal(t)
			a, in := paypalVendorPayout(t, store.New(pool), fake, nil, fmt.Sprintf("TOKANS%d", n))
			fake.TokenAnswer = &tc.answer
			requireRetriedThenPaidOnce(t, a, fake, in, func() { fake.TokenAnswer = nil })
			require.Equal(t, in.IdempotencyKey, fake.Payouts()[0].SenderBatchID, "paid under the payout's own key")
		})
	}
}

// The token PayPal drops while a payout settles, and its renewal answered with no usable token:
// the batch read is retried naming the settings (never a refusal once the batch exists), and the
// payout asked again under its key settles the batch made, none made again.
func TestPayPalTokenAnswerUnusableWhileThePayoutSettles(t *testing.T) {
	pool, _ := testenv.Postgres(t)
	for n, tc := range unusableTokenAnswers {
		t.Run(tc.name, func(t *testing.T) {
			fake := testenv.NewPayPal(t)
			a, in := paypalVendorPayout(t, store.New(pool), fake, nil, fmt.Sprintf("TOKANSREAD%d", n))
			fake.PayoutMade = func(testenv.PayPalPayout) { fake.RevokeTokens(); fake.TokenAnswer = &tc.answer }
			ctx := context.Background()
			_, err := a.Transfer(ctx, in)
			require.Error(t, err)
			requireRetryable(t, err)
			require.ErrorContains(t, err, "get payout")
			require.ErrorContains(t, err, "PAYPAL_SECRET")
			require.Len(t, fake.Payouts(), 1)

			fake.PayoutMade, fake.TokenAnswer, in.Asked = nil, nil, true
			out, err := a.Transfer(ctx, in)
			require.NoError(t, err)
			require.Equal(t, "ITEM0001", out.TransferID)
			require.Len(t, fake.Payouts(), 1, "PayPal paid once")
			require.Equal(t, in.IdempotencyKey, fake.Payouts()[0].SenderBatchID)
		})
	}
}
