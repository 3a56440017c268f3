package activities_test

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"paysplit/activities"
	"paysplit/internal/store"
	"paysplit/testenv"
)

// payoutPosts records the payout creations a client sent PayPal: each one's PayPal-Request-Id
// and the status PayPal answered.
type payoutPosts struct {
	base http.RoundTripper
	mu   sync.Mutex
	sent []string // "<PayPal-Request-Id> <status>"
}

func (p *payoutPosts) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := p.base.RoundTrip(req)
	if req.Method == http.MethodPost && req.URL.Path == "/v1/payments/payouts" {
		status := 0
		if err == nil {
			status = resp.StatusCode
		}
		p.mu.Lock()
		p.sent = append(p.sent, fmt.Sprintf("%s %d", req.Header.Get("PayPal-Request-Id"), status))
		p.mu.Unlock()
	}
	return resp, err
}

func (p *payoutPosts) list() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.sent...)
}

// plutov renews its cached OAuth token only a minute before its expires_in. A token PayPal stops
// taking earlier (revoked, the REST app's credentials rotated, dropped on PayPal's side) was
// answered 401 {"error":"invalid_token",...} on every call until then, hours: a payout's retries
// ran out and it was left in doubt, or, never sent before, refused for good. A 401 to a call
// bearing a token now renews it once and makes the call again, the same request under the same
// key (never a new one: the first send of a payout in doubt may have made its batch). A 401
// after the fresh token, or a renewal PayPal refuses (the secret rotated), is our credentials',
// never the payout's refusal (which gives the leg a new key and an admin's decision, every leg of
// every payment while PAYPAL_SECRET is wrong): retried under the key, naming the settings.
func TestPayPalTokenRevokedBeforeItsExpiryIsRenewedOnce(t *testing.T) {
	pool, _ := testenv.Postgres(t)
	st := store.New(pool)
	tests := []struct {
		name string
		// before runs on the fake and the client before the payout is asked (again).
		before func(p *testenv.PayPal)
		// loseFirst loses the answer of a first send (the batch made); the payout is then asked again.
		loseFirst bool
		// during runs when the batch is made, before it is answered.
		during       func(p *testenv.PayPal)
		wantPaid     bool
		wantRejected bool // else retryable
		wantPosts    []string
		wantTokens   int
	}{
		{name: "revoked before the payout: renewed, sent again under the key", before: func(p *testenv.PayPal) { p.RevokeTokens() },
			wantPaid: true, wantPosts: []string{"401", "201"}, wantTokens: 2},
		{name: "revoked after a lost answer: the batch made first is the payout's", loseFirst: true,
			before: func(p *testenv.PayPal) { p.RevokeTokens() }, wantPaid: true, wantPosts: []string{"500", "401", "201"}, wantTokens: 2},
		{name: "revoked while the batch settles: its read renewed", during: func(p *testenv.PayPal) { p.RevokeTokens() },
			wantPaid: true, wantPosts: []string{"201"}, wantTokens: 2},
		{name: "revoked and the secret rotated, never sent: our credentials, retried",
			before: func(p *testenv.PayPal) { p.RevokeTokens(); p.RefuseCredentials = true }, wantPosts: []string{"401"}, wantTokens: 2},
		{name: "revoked and the secret rotated, sent before: retried under the key, as before", loseFirst: true,
			before: func(p *testenv.PayPal) { p.RevokeTokens(); p.RefuseCredentials = true }, wantPosts: []string{"500", "401"}, wantTokens: 2},
		{name: "the fresh token refused too: one renewal, then retried", before: func(p *testenv.PayPal) { p.RefuseTokens = true },
			wantPosts: []string{"401", "401"}, wantTokens: 2},
	}
	for n, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fake := testenv.NewPayPal(t)
			hc := fake.HTTPClient()
			posts := &payoutPosts{base: hc.Transport}
			hc.Transport = posts
			a, in := paypalVendorPayout(t, st, fake, hc, fmt.Sprintf("TOKEN%d", n))
			c, key := a.PayPal, in.IdempotencyKey
			ctx := context.Background()

			// The worker has its token, issued hours before its expiry.
			_, err := c.GetAccessToken(ctx)
			require.NoError(t, err)
			if tc.loseFirst {
				fake.LosePayoutAnswer = func(string) bool { return true }
				_, err = a.Transfer(ctx, in)
				require.Error(t, err, "the first answer is lost")
				requireRetryable(t, err)
				fake.LosePayoutAnswer = nil
				in.Asked = true
			}
			if tc.during != nil {
				fake.PayoutMade = func(testenv.PayPalPayout) { tc.during(fake) }
			}
			if tc.before != nil {
				tc.before(fake)
			}

			out, err := a.Transfer(ctx, in)
			var want []string
			for _, s := range tc.wantPosts {
				want = append(want, key+" "+s)
			}
			require.Equal(t, want, posts.list(), "every send under the payout's own key")
			require.Equal(t, tc.wantTokens, fake.TokenRequests(), "one renewal")
			switch {
			case tc.wantPaid:
				require.NoError(t, err)
				require.Equal(t, "ITEM0001", out.TransferID)
				payouts := fake.Payouts()
				require.Len(t, payouts, 1, "PayPal paid once")
				require.Equal(t, key, payouts[0].SenderBatchID)
			case tc.wantRejected:
				requireNonRetryable(t, err, activities.ErrTypeRejected)
				require.ErrorContains(t, err, "401")
			default:
				require.Error(t, err)
				requireRetryable(t, err)
				require.ErrorContains(t, err, "PAYPAL_SECRET")
			}
			if !tc.wantPaid && !tc.loseFirst {
				require.Empty(t, fake.Payouts())
			}
		})
	}
}

// A worker started with PayPal credentials PayPal refuses (PAYPAL_SECRET wrong, the REST app's
// secret rotated): the token plutov asks before the payout's first call is refused 401
// invalid_client. That is our credentials, no refusal of the payout: retried, naming the settings,
// and paid under the same key once they are right.
func TestPayPalCredentialsRefusedAreNoRefusalOfThePayout(t *testing.T) {
	pool, _ := testenv.Postgres(t)
	fake := testenv.NewPayPal(t)
	a, in := paypalVendorPayout(t, store.New(pool), fake, nil, "CREDS")
	fake.RefuseCredentials = true
	requireRetriedThenPaidOnce(t, a, fake, in, func() { fake.RefuseCredentials = false }) // the secret fixed in the deployment
}

// A token request PayPal refuses with another status than 401 (400 invalid_request or 403 from a
// REST app misconfigured or disabled, 500 from its token service): PayPal never looked at the
// payout, so it is no refusal of it (which gave the leg a new key and an admin's decision):
// retried, naming the settings, and paid under the same key once the app is fixed. So for a
// batch read while the payout settles.
func TestPayPalTokenRequestFailedIsNoRefusalOfThePayout(t *testing.T) {
	pool, _ := testenv.Postgres(t)
	for _, status := range []int{http.StatusBadRequest, http.StatusForbidden, http.StatusInternalServerError} {
		t.Run(http.StatusText(status), func(t *testing.T) {
			fake := testenv.NewPayPal(t)
			a, in := paypalVendorPayout(t, store.New(pool), fake, nil, fmt.Sprintf("TOKREQ%d", status))
			fake.TokenStatus = status
			requireRetriedThenPaidOnce(t, a, fake, in, func() { fake.TokenStatus = 0 }) // the REST app fixed
		})
	}
}

// The token PayPal drops while a payout settles, and its renewal answered 400: the batch read is
// retried naming the settings, the key kept (never a refusal once the batch exists).
func TestPayPalTokenRequestFailedWhileThePayoutSettles(t *testing.T) {
	pool, _ := testenv.Postgres(t)
	fake := testenv.NewPayPal(t)
	a, in := paypalVendorPayout(t, store.New(pool), fake, nil, "TOKREAD")
	fake.PayoutMade = func(testenv.PayPalPayout) { fake.RevokeTokens(); fake.TokenStatus = http.StatusBadRequest }
	_, err := a.Transfer(context.Background(), in)
	require.Error(t, err)
	requireRetryable(t, err)
	require.ErrorContains(t, err, "get payout")
	require.ErrorContains(t, err, "PAYPAL_SECRET")
	require.Len(t, fake.Payouts(), 1)
}

// paypalVendorPayout is Activities paying through the PayPal fake, over hc (the fake's own client
// when nil), and a vendor payout's input under a key of its own (tag marks it).
func paypalVendorPayout(t *testing.T, st *store.Store, fake *testenv.PayPal, hc *http.Client, tag string) (*activities.Activities, activities.TransferInput) {
	t.Helper()
	if hc == nil {
		hc = fake.HTTPClient()
	}
	c, err := activities.NewPayPalClient("paysplit-test", "secret", fake.APIBase, hc)
	require.NoError(t, err)
	key := fmt.Sprintf("payment-paypal-%s-%d/transfer/vendor-v1/0", tag, time.Now().UnixNano())
	return &activities.Activities{PayPal: c, Store: st}, activities.TransferInput{Provider: activities.ProviderPayPal, IdempotencyKey: key,
		Destination: "vendor@example.com", Amount: 9545, Currency: "usd", TransferGroup: "o-1", Metadata: map[string]string{"payee_id": "v1"}}
}

// requireRetriedThenPaidOnce: the payout fails retryable, naming PAYPAL_SECRET, with nothing made
// at PayPal; once fix has mended the deployment it is paid, once, under the same key.
func requireRetriedThenPaidOnce(t *testing.T, a *activities.Activities, fake *testenv.PayPal, in activities.TransferInput, fix func()) {
	t.Helper()
	ctx := context.Background()
	_, err := a.Transfer(ctx, in)
	require.Error(t, err)
	requireRetryable(t, err)
	require.ErrorContains(t, err, "PAYPAL_SECRET")
	require.Empty(t, fake.Payouts())

	fix()
	out, err := a.Transfer(ctx, in)
	require.NoError(t, err)
	require.Equal(t, "ITEM0001", out.TransferID)
	require.Len(t, fake.Payouts(), 1)
}
