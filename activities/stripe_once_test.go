package activities_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"

	"paysplit/activities"
	"paysplit/internal/money"
)

// stripeMovement is a transfer or a reversal as a test sends it: its key, what its errors begin
// with (the transfer's key; the reversal's transfer, which an admin looks up), the path its sends
// and lookups use, and its send.
type stripeMovement struct {
	name, key, says, path string
	send                  func(ctx context.Context, amount int64, cur string) error
}

func stripeMovements(t *testing.T, f fixture, n int) []stripeMovement {
	tr, err := f.a.Transfer(context.Background(), activities.TransferInput{IdempotencyKey: fmt.Sprintf("once-%d-%d/base", n, time.Now().UnixNano()),
		Destination: "acct_v1", Amount: 5000, Currency: "usd", TransferGroup: "o-once"})
	require.NoError(t, err)
	trKey := fmt.Sprintf("payment-stripe-pi_once%d_%d/transfer/vendor-v1/0", n, time.Now().UnixNano())
	revKey := trKey + "/refund"
	return []stripeMovement{
		{name: "transfer", key: trKey, says: "transfer " + trKey, path: "/v1/transfers",
			send: func(ctx context.Context, amount int64, cur string) error {
				_, err := f.a.Transfer(ctx, activities.TransferInput{IdempotencyKey: trKey, Destination: "acct_v1", Amount: amount,
					Currency: money.Currency(cur), TransferGroup: "o-once", Metadata: map[string]string{activities.MetaIdempotencyKey: trKey}})
				return err
			}},
		{name: "reversal", key: revKey, says: "reverse transfer " + tr.TransferID, path: "/v1/transfers/" + tr.TransferID + "/reversals",
			send: func(ctx context.Context, amount int64, cur string) error {
				_, err := f.a.ReverseTransfer(ctx, activities.ReverseTransferInput{IdempotencyKey: revKey, TransferID: tr.TransferID, Amount: amount,
					Currency: money.Currency(cur), Metadata: map[string]string{activities.MetaIdempotencyKey: revKey}})
				return err
			}},
	}
}

// A transfer and a reversal are made by one sequence (stripeRail.once) and must keep what each
// said and did on its own: an error names the transfer's key, or the reversed transfer; an amount
// Stripe cannot carry is refused before Stripe is asked; and a 429 (nothing made) spares the
// retry its lookup while a 500 (outcome unknown) does not, for a reversal as for a transfer.
func TestStripeMovementsSayWhichAndLookUpOnlyWhatMayBeMade(t *testing.T) {
	const refused = `{"error":{"type":"invalid_request_error","message":"injected refusal"}}`
	f := newFixture(t)
	for n, tt := range []struct {
		name string
		// answers are Stripe's to the movement's sends in turn (0: taken); a send after them is
		// taken.
		answers     []int
		amount      int64
		cur         string
		wantLookups int
	}{
		{name: "a fraction of an ariary: refused unasked", amount: 450050, cur: "mga"},
		{name: "refused by Stripe", answers: []int{400}, amount: 500, cur: "usd"},
		{name: "two 429s: no lookup", answers: []int{429, 429}, amount: 500, cur: "usd"},
		{name: "a 500: the next send looks first", answers: []int{500}, amount: 500, cur: "usd", wantLookups: 1},
	} {
		for _, m := range stripeMovements(t, f, n) {
			t.Run(tt.name+"/"+m.name, func(t *testing.T) {
				lookups := answerSends(t, f, m.path, func(n int) (int, string) {
					switch {
					case n > len(tt.answers) || tt.answers[n-1] == 0:
						return 0, ""
					case tt.answers[n-1] == 400:
						return 400, refused
					}
					return tt.answers[n-1], fmt.Sprintf(`{"error":{"type":"api_error","message":"injected %d"}}`, tt.answers[n-1])
				})
				ctx := context.Background()
				if tt.cur == "mga" {
					err := m.send(ctx, tt.amount, tt.cur)
					requireNonRetryable(t, err, activities.ErrTypeRejected)
					require.True(t, strings.HasPrefix(appMessage(err), m.says+": "), "%q begins with %q", appMessage(err), m.says)
					for _, c := range f.proxy.Calls(http.MethodPost, m.path) {
						require.NotEqual(t, m.key, c.IdempotencyKey, "Stripe is not asked")
					}
					return
				}
				for i, code := range tt.answers {
					err := m.send(ctx, tt.amount, tt.cur)
					require.Error(t, err, "send %d", i+1)
					require.True(t, strings.HasPrefix(appMessage(err), m.says+": "), "%q begins with %q", appMessage(err), m.says)
					if code == 400 {
						requireNonRetryable(t, err, activities.ErrTypeRejected)
						return
					}
					requireRetryable(t, err)
				}
				require.NoError(t, m.send(ctx, tt.amount, tt.cur))
				require.Equal(t, tt.wantLookups, lookups(), "lookups of the key at Stripe")
			})
		}
	}
}

// appMessage is an activity error's message as the workflow and the admin read it.
func appMessage(err error) string {
	var app *temporal.ApplicationError
	if errors.As(err, &app) {
		return app.Message()
	}
	return err.Error()
}

// answerSends has Stripe answer the nth send (POST) to path with answer(n) (0: stripe-mock's own
// answer) and passes its lookups (GET) on, counting them: lookups reads the count.
func answerSends(t *testing.T, f fixture, path string, answer func(n int) (int, string)) (lookups func() int) {
	var mu sync.Mutex
	gets, sends := 0, 0
	f.proxy.Inject = func(r *http.Request, _ url.Values) (int, string) {
		if r.URL.Path != path {
			return 0, ""
		}
		mu.Lock()
		defer mu.Unlock()
		if r.Method == http.MethodGet {
			gets++
			return 0, ""
		}
		sends++
		return answer(sends)
	}
	t.Cleanup(func() { f.proxy.Inject = nil })
	return func() int {
		mu.Lock()
		defer mu.Unlock()
		return gets
	}
}
