package server_test

import (
	"errors"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"paysplit/activities"
	"paysplit/api/server"
	"paysplit/internal/paypalhook"
	"paysplit/testenv"
)

// With PAYPAL_WEBHOOK_VERIFY=api every PayPal delivery is checked with the API's OAuth token. A
// token PayPal stops taking before its expires_in (revoked, the REST app's credentials rotated)
// was renewed by the payouts only: the verifier's 401 made every PayPal delivery a 503 until the
// client library renewed the token near its expiry, hours of webhooks held back. The verifier
// renews it as the payouts do, once, and asks again.
func TestPayPalAPIVerifierRenewsATokenRevokedBeforeItsExpiry(t *testing.T) {
	pp := testenv.NewPayPal(t)
	c, err := activities.NewPayPalClient("id", "secret", pp.APIBase, pp.HTTPClient())
	require.NoError(t, err)
	v := server.APIPayPalVerifier{Client: c, WebhookID: pp.WebhookID}
	good := paypalCapture("acme", "CAPTOKEN")
	require.NoError(t, v.Verify(t.Context(), pp.Sign(good), good), "the API's first token")
	require.Equal(t, 1, pp.TokenRequests())

	pp.RevokeTokens()
	require.NoError(t, v.Verify(t.Context(), pp.Sign(good), good), "the token PayPal refused is renewed and the delivery verified")
	require.Equal(t, 2, pp.TokenRequests(), "one new token")
	require.NoError(t, v.Verify(t.Context(), pp.Sign(good), good), "later deliveries use the new token")
	require.Equal(t, 2, pp.TokenRequests(), "no token asked for each delivery")
}

// A failed token request is no verdict on the delivery: PayPal never looked at its signature.
// Its answer 400 invalid_request or 403 (a REST app misconfigured or disabled) was taken as PayPal
// refusing to verify the delivery (400 invalid_signature, counted a bad signature), and an
// answer with no usable token (a proxy's HTML page, an empty or cut-off body, no access_token)
// as a JSON error naming nothing. Both are unavailable (503, PayPal delivers again) naming the
// settings, and verified once PayPal issues a token again.
func TestPayPalAPIVerifierTokenRequestFailedIsNoBadSignature(t *testing.T) {
	tests := []struct {
		name   string
		status int
		answer *testenv.PayPalTokenAnswer
	}{
		{name: "400 invalid_request", status: http.StatusBadRequest},
		{name: "403 access_denied", status: http.StatusForbidden},
		{name: "502 HTML", answer: &testenv.PayPalTokenAnswer{Status: 502, ContentType: "text/html", Body: "<html><body>Bad Gateway</body></html>"}},
		{name: "200 HTML", answer: &testenv.PayPalTokenAnswer{Status: 200, ContentType: "text/html", Body: "<html><body>proxy sign-in</body></html>"}},
		{name: "200 empty", answer: &testenv.PayPalTokenAnswer{Status: 200, ContentType: "application/json"}},
		{name: "200 truncated JSON", answer: &testenv.PayPalTokenAnswer{Status: 200, ContentType: "application/json", Body: `{"access_token":"A21`}},
		{name: "200 without access_token", answer: &testenv.PayPalTokenAnswer{Status: 200, ContentType: "application/json", Body: `{"expires_in":32400}`}},
		{name: "200 expires_in 0", answer: &testenv.PayPalTokenAnswer{Status: 200, ContentType: "application/json", Body: `{"access_token":"A21AAzero","expires_in":0}`}},
	}
	for _, tc := range tests {
		for _, renewal := range []bool{false, true} {
			name := tc.name + " first token"
			if renewal {
				name = tc.name + " renewal"
			}
			t.Run(name, func(t *testing.T) {
				pp := testenv.NewPayPal(t)
				c, err := activities.NewPayPalClient("id", "secret", pp.APIBase, pp.HTTPClient())
				require.NoError(t, err)
				v := server.APIPayPalVerifier{Client: c, WebhookID: pp.WebhookID}
				good := paypalCapture("acme", "CAPTOKREQ")
				if renewal {
					require.NoError(t, v.Verify(t.Context(), pp.Sign(good), good))
					pp.RevokeTokens()
				}
				pp.TokenStatus, pp.TokenAnswer = tc.status, tc.answer

				err = v.Verify(t.Context(), pp.Sign(good), good)
				require.Error(t, err)
				require.False(t, errors.Is(err, paypalhook.ErrUnverified), "no verdict on the delivery: %v", err)
				require.ErrorContains(t, err, "PAYPAL_SECRET")

				pp.TokenStatus, pp.TokenAnswer = 0, nil
				require.NoError(t, v.Verify(t.Context(), pp.Sign(good), good), "verified once PayPal issues a token")
			})
		}
	}
}
