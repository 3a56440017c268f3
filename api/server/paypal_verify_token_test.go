package server_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"paysplit/activities"
	"paysplit/api/server"
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
