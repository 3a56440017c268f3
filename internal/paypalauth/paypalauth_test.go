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
		{"token answer unusable", &url.Error{Op: "Post", URL: "https://api-m.paypal.com/v1/oauth2/token", Err: &paypalauth.BadTokenAnswer{Status: 502, Problem: "is not JSON"}}, true},
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

// badTokenAnswers are token endpoint answers plutov cannot use: a proxy's HTML page in front of
// PayPal (200, 502, 503), an empty or cut-off body, JSON without a token or with an expires_in
// that makes the token already expired.
var badTokenAnswers = []struct {
	name   string
	answer testenv.PayPalTokenAnswer
}{
	{"200 HTML", testenv.PayPalTokenAnswer{Status: 200, ContentType: "text/html", Body: "<html><body><h1>Please sign in to the proxy</h1></body></html>"}},
	{"502 HTML", testenv.PayPalTokenAnswer{Status: 502, ContentType: "text/html", Body: "<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>"}},
	{"503 HTML", testenv.PayPalTokenAnswer{Status: 503, ContentType: "text/html", Body: "<html><body>Service Unavailable</body></html>"}},
	{"200 empty", testenv.PayPalTokenAnswer{Status: 200, ContentType: "application/json"}},
	{"503 empty", testenv.PayPalTokenAnswer{Status: 503, ContentType: "text/plain"}},
	{"200 truncated JSON", testenv.PayPalTokenAnswer{Status: 200, ContentType: "application/json", Body: `{"scope":"https://uri.paypal.com/services/payouts","access_token":"A21AAcut`}},
	{"502 truncated JSON", testenv.PayPalTokenAnswer{Status: 502, ContentType: "application/json", Body: `{"error":"server_err`}},
	{"200 without access_token", testenv.PayPalTokenAnswer{Status: 200, ContentType: "application/json", Body: `{"token_type":"Bearer","expires_in":32400}`}},
	{"200 empty access_token", testenv.PayPalTokenAnswer{Status: 200, ContentType: "application/json", Body: `{"access_token":"","token_type":"Bearer","expires_in":32400}`}},
	{"200 expires_in 0", testenv.PayPalTokenAnswer{Status: 200, ContentType: "application/json", Body: `{"access_token":"A21AAzero","token_type":"Bearer","expires_in":0}`}},
	{"200 expires_in negative", testenv.PayPalTokenAnswer{Status: 200, ContentType: "application/json", Body: `{"access_token":"A21AAneg","token_type":"Bearer","expires_in":-30}`}},
	{"200 without expires_in", testenv.PayPalTokenAnswer{Status: 200, ContentType: "application/json", Body: `{"access_token":"A21AAnone","token_type":"Bearer"}`}},
}

// A token answer plutov cannot use is the token request's failure (TokenRequestFailed), whether
// plutov asked it before a call (no token yet) or Do renewed one PayPal refused: never a JSON
// error of the call's, never a panic (plutov sent c.Token.Token with c.Token nil and its lock
// held, so every later call on the client waited forever), never a call sent with a token already
// expired. Once the endpoint answers a token again, the call goes out, once.
func TestUnusableTokenAnswerIsTheTokenRequestsFailure(t *testing.T) {
	end := time.Now().UTC().Truncate(time.Hour)
	for _, renewal := range []bool{false, true} {
		for _, tc := range badTokenAnswers {
			t.Run(fmt.Sprintf("%s renewal=%v", tc.name, renewal), func(t *testing.T) {
				pp := testenv.NewPayPal(t)
				c, err := paypalauth.NewClient("id", "secret", pp.APIBase, pp.HTTPClient())
				require.NoError(t, err)
				search := func() error {
					return paypalsearch.Each(t.Context(), c, money.USD, end.Add(-24*time.Hour), end, func(paypal.SearchTransactionInfo) error { return nil })
				}
				if renewal {
					require.NoError(t, search(), "the client's first token")
					pp.RevokeTokens()
				}
				searched := len(pp.TransactionSearches())
				pp.TokenAnswer = &tc.answer

				err = search()
				require.Error(t, err)
				require.True(t, paypalauth.TokenRequestFailed(err), "the token request's failure: %v", err)
				require.Equal(t, searched, len(pp.TransactionSearches()), "no search sent without a usable token")
				require.NotContains(t, err.Error(), "A21AA", "no token, whole or cut, in the error")

				pp.TokenAnswer = nil
				require.NoError(t, search(), "a token issued again lets the search go out")
				require.Equal(t, searched+1, len(pp.TransactionSearches()), "sent once")
			})
		}
	}
}
