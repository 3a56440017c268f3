package paypalauth_test

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/plutov/paypal/v4"
	"github.com/stretchr/testify/require"

	"paysplit/internal/money"
	"paysplit/internal/paypalauth"
	"paysplit/internal/paypalsearch"
	"paysplit/testenv"
)

// Searches refused together (a token revoked before its expiry) share one new token, each made
// again once, and nothing writes plutov's token meanwhile (run with -race: its reads go on under
// its lock while the renewal happens beside it).
func TestConcurrentSearchesShareOneRenewal(t *testing.T) {
	pp := testenv.NewPayPal(t)
	c, err := paypalauth.NewClient("id", "secret", pp.APIBase, pp.HTTPClient())
	require.NoError(t, err)
	end := time.Now().UTC().Truncate(time.Hour)
	search := func() error {
		return paypalsearch.Each(t.Context(), c, money.USD, end.Add(-24*time.Hour), end, func(paypal.SearchTransactionInfo) error { return nil })
	}
	require.NoError(t, search())
	require.Equal(t, 1, pp.TokenRequests())

	pp.RevokeTokens()
	var wg sync.WaitGroup
	errs := make([]error, 8)
	for i := range errs {
		wg.Go(func() { errs[i] = search() })
	}
	wg.Wait()
	for _, err := range errs {
		require.NoError(t, err)
	}
	require.Equal(t, 2, pp.TokenRequests(), "one new token for all the searches refused")
	n := len(pp.TransactionSearches())
	require.NoError(t, search())
	require.Equal(t, n+1, len(pp.TransactionSearches()), "later searches sent once, with the new token")
	require.Equal(t, 2, pp.TokenRequests())
}

// Only a failure of the OAuth token request itself is one: a call's own refusal is PayPal's
// answer to that call.
func TestTokenRequestFailed(t *testing.T) {
	answer := func(path string, status int) error {
		u, _ := url.Parse("https://api-m.paypal.com" + path)
		return &paypal.ErrorResponse{Response: &http.Response{StatusCode: status, Request: &http.Request{URL: u}}}
	}
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"token request 400", answer("/v1/oauth2/token", 400), true},
		{"token request 403, wrapped", fmt.Errorf("renew: %w", answer("/v1/oauth2/token", 403)), true},
		{"token request unreachable", &url.Error{Op: "Post", URL: "https://api-m.paypal.com/v1/oauth2/token", Err: errors.New("connection refused")}, true},
		{"payout refused 400", answer("/v1/payments/payouts", 400), false},
		{"payout unreachable", &url.Error{Op: "Post", URL: "https://api-m.paypal.com/v1/payments/payouts", Err: errors.New("connection refused")}, false},
		{"answer without its request", &paypal.ErrorResponse{Response: &http.Response{StatusCode: 400}}, false},
		{"other", errors.New("boom"), false},
		{"nil", nil, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, paypalauth.TokenRequestFailed(tc.err))
		})
	}
}
