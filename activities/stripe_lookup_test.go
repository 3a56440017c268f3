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
	"paysplit/testenv"
)

// A send of a key sent before looks the key up at Stripe (GET /v1/transfers) only when an earlier
// send may have made the transfer: one Stripe answered 429 (rate limited before its endpoint ran,
// so nothing made and no answer saved under the key) made nothing, and a retry after it goes
// straight to the transfer. Under a storm of 429s each retry's lookup was one call more, and a
// lookup rate limited in its turn ended the attempt before its transfer was even asked. An answer
// that leaves the outcome unknown (a 500, which Stripe replays under the key, or a lost answer)
// still has the next send look first, and finds a transfer made under the key once Stripe forgot
// it.
func TestStripeLooksAKeyUpOnlyWhenAnEarlierSendMayHaveMadeIt(t *testing.T) {
	tests := []struct {
		name string
		// answers are what Stripe says to the transfer's sends in turn (0: it takes it; 502: it
		// makes it and the answer is lost); a send after them is taken.
		answers []int
		// forget: Stripe forgets the key before the last send.
		forget      bool
		wantLookups int
	}{
		{name: "two 429s: no lookup", answers: []int{429, 429}, wantLookups: 0},
		{name: "a 500: the next send looks first", answers: []int{500}, wantLookups: 1},
		{name: "a 429 after a 500: still looked up", answers: []int{500, 429}, wantLookups: 2},
		{name: "a 429, then made with its answer lost, Stripe forgot: found", answers: []int{429, 502}, forget: true, wantLookups: 1},
	}
	for n, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			key := fmt.Sprintf("payment-stripe-pi_lookup%d_%d/transfer/vendor-v1/0", n, time.Now().UnixNano())
			var mu sync.Mutex // guards lose, which the answer sets and LoseAnswer reads
			lose := false
			lookups := answerSends(t, f, "/v1/transfers", func(n int) (int, string) {
				if n > len(tt.answers) {
					return 0, ""
				}
				switch code := tt.answers[n-1]; code {
				case 0:
					return 0, ""
				case 502:
					mu.Lock()
					defer mu.Unlock()
					lose = true
					return 0, ""
				default:
					return code, fmt.Sprintf(`{"error":{"type":"api_error","message":"injected %d"}}`, code)
				}
			})
			f.proxy.LoseAnswer = func(c testenv.StripeCall) bool {
				mu.Lock()
				defer mu.Unlock()
				lost := lose && c.Method == http.MethodPost && c.Path == "/v1/transfers"
				lose = lose && !lost
				return lost
			}
			in := activities.TransferInput{Provider: activities.ProviderStripe, IdempotencyKey: key, Destination: "acct_v1", Amount: 9545,
				Currency: "usd", TransferGroup: fmt.Sprintf("o-lookup-%d", n), Metadata: map[string]string{activities.MetaIdempotencyKey: key}}
			ctx := context.Background()
			var out activities.TransferOutput
			var err error
			for i := 0; i <= len(tt.answers); i++ { // the activity's attempts, with the same input
				if i == len(tt.answers) && tt.forget {
					f.proxy.ForgetKeys()
				}
				out, err = f.a.Transfer(ctx, in)
				if i < len(tt.answers) {
					require.Error(t, err, "send %d", i+1)
					requireRetryable(t, err)
				}
			}
			require.NoError(t, err)
			var made []string
			for _, tr := range f.proxy.Transfers() {
				if tr.IdempotencyKey == key {
					made = append(made, tr.ID)
				}
			}
			require.Equal(t, []string{out.TransferID}, made, "one transfer under the key, the one answered")
			require.Equal(t, tt.wantLookups, lookups(), "lookups of the key at Stripe")
		})
	}
}
