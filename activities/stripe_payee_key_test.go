package activities_test

import (
	"context"
	"net/http"
	"net/url"
	"testing"

	"github.com/stretchr/testify/require"

	"paysplit/activities"
)

// The payee check (ResolvePayee, which reads the payee's connected account before a transfer)
// answered by Stripe with a 401 says our API key was refused (rotated, revoked, mistyped in a
// deploy), nothing of the payee's account. Taken as the account's refusal (ErrTypeRejected), the
// run held the leg "the payee could not be checked", blaming the payee for our key, and an ask
// of the hold recheck found nothing to ask again about. It is retried, the reason naming our key;
// a 404 is still the payee's (the account is gone), held.
func TestStripePayeeCheckRefusingOurKeyIsNoRefusalOfThePayee(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	in := activities.ResolvePayeeInput{PayeeID: "v1", Kind: "vendor", ClientID: "shop1", Currency: "usd", Fresh: true}
	tests := []struct {
		name, body string
		status     int
		wantErr    string // a retryable error naming it; "" a hold naming wantHold
		wantHold   string
	}{
		{name: "our API key refused", status: http.StatusUnauthorized, wantErr: "Stripe refused our API key",
			body: `{"error":{"type":"invalid_request_error","message":"Invalid API Key provided: sk_live_********************1234"}}`},
		{name: "no key sent", status: http.StatusUnauthorized, wantErr: "STRIPE_API_KEY",
			body: `{"error":{"type":"invalid_request_error","message":"You did not provide an API key. You need to provide your API key in the Authorization header."}}`},
		{name: "the account is gone: the payee's", status: http.StatusNotFound, wantHold: "Stripe account acct_v1 not found",
			body: `{"error":{"type":"invalid_request_error","code":"resource_missing","message":"No such account: 'acct_v1'","param":"account"}}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f.proxy.Inject = func(r *http.Request, _ url.Values) (int, string) {
				if r.Method == http.MethodGet && r.URL.Path == "/v1/accounts/acct_v1" {
					return tc.status, tc.body
				}
				return 0, ""
			}
			t.Cleanup(func() { f.proxy.Inject = nil })
			out, err := f.a.ResolvePayee(ctx, in)
			if tc.wantErr == "" {
				require.NoError(t, err)
				require.Contains(t, out.HoldReason, tc.wantHold)
				return
			}
			require.Error(t, err)
			requireRetryable(t, err)
			require.ErrorContains(t, err, tc.wantErr)
			require.Empty(t, out.HoldReason, "the payee is not held for our key")
		})
	}
	// The key accepted again (rotated in the deployment), the same check pays.
	f.proxy.Inject = nil
	out, err := f.a.ResolvePayee(ctx, in)
	require.NoError(t, err)
	require.Equal(t, "acct_v1", out.Destination)
}
