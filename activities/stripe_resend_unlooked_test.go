package activities_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"paysplit/activities"
	"paysplit/testenv"
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
		for _, status := range []int{http.StatusUnauthorized, http.StatusForbidden, http.StatusBadRequest} {
			for _, m := range resendMovements(t, f, 50000+n*1000+status) {
				t.Run(fmt.Sprintf("%s/%d/%s", tt.name, status, m.name), func(t *testing.T) {
					ctx := context.Background()
					var mu sync.Mutex // guards what the proxy's hooks share with the test
					sends, lose := 0, false
					f.proxy.Inject = func(r *http.Request, _ url.Values) (int, string) {
						if r.URL.Path != m.path || r.Method != http.MethodPost || r.Header.Get("Idempotency-Key") != m.key {
							return 0, ""
						}
						mu.Lock()
						defer mu.Unlock()
						switch sends++; {
						case sends > 1:
							return status, stripeRefusals[status]
						case tt.first == "429":
							return http.StatusTooManyRequests, `{"error":{"type":"invalid_request_error","code":"rate_limit","message":"Too many requests"}}`
						}
						lose = true
						return 0, ""
					}
					f.proxy.LoseAnswer = func(c testenv.StripeCall) bool {
						mu.Lock()
						defer mu.Unlock()
						lost := lose && c.Method == http.MethodPost && c.IdempotencyKey == m.key
						lose = lose && !lost
						return lost
					}
					t.Cleanup(func() { f.proxy.Inject, f.proxy.LoseAnswer = nil, nil })

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
	}
}
