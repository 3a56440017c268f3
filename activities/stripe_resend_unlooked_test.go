package activities_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"paysplit/activities"
)

// A run from before keys went into metadata (code path < 5) cannot look its key up, so only
// "sent before" decides whether a refusal is the movement's. The run says so (Asked) only for a
// key it knew was sent; the activity's own retry of an attempt whose answer was lost comes with
// the same input, Asked false. Its refusal by Stripe before it looks at the key (our API key
// rotated, a permission removed, a validation failure) was taken as the movement's:
// ErrTypeRejected, a new key, and the transfer (or reversal) the first attempt made moved the
// money a second time. The key's send record says it was sent before, whatever the run knows.
func TestStripeRefusalOfAnUnlookedKeyRetriedByTheActivityIsNoRefusalOfTheMovement(t *testing.T) {
	tests := []struct {
		name string
		// first is what came of the key's first send: "lost", made and its answer lost; "429",
		// Stripe's rate limiter refused it and nothing was made.
		first        string
		wantRejected bool
	}{
		{name: "made, answer lost", first: "lost"},
		{name: "rate-limited, nothing made", first: "429", wantRejected: true},
	}
	f := newFixture(t)
	for n, tt := range tests {
		answer := func(h *resendHooks, r *http.Request, status int) (int, string, bool) {
			switch {
			case r.Method != http.MethodPost:
				return 0, "", false
			case h.sends > 1:
				return status, stripeRefusals[status], false
			case tt.first == "429":
				return http.StatusTooManyRequests, `{"error":{"type":"invalid_request_error","code":"rate_limit","message":"Too many requests"}}`, false
			}
			return 0, "", true
		}
		resendSubtests(t, f, tt.name, 50000+n*1000, answer, func(t *testing.T, m resendMovement, _ *resendHooks, status int) {
			ctx := context.Background()
			// The activity's first attempt and its retry: one input, not asked, no key in metadata.
			_, err := m.send(ctx, false, false)
			require.Error(t, err, "the first attempt's answer")
			requireRetryable(t, err)
			_, err = m.send(ctx, false, false)
			require.Error(t, err, "the refused retry")
			if tt.wantRejected && status != http.StatusUnauthorized { // a 401 refuses our API key, never the movement
				requireNonRetryable(t, err, activities.ErrTypeRejected)
				require.Empty(t, m.made(), "nothing made under the key")
				return
			}
			requireRetryable(t, err)
			if tt.first == "429" {
				require.ErrorContains(t, err, "STRIPE_API_KEY")
				require.Empty(t, m.made(), "nothing made under the key")
				return
			}
			require.Len(t, m.made(), 1, "the first attempt's movement stands under the key")
		})
	}
}
