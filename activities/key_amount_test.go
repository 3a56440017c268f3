package activities_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"

	"paysplit/activities"
)

// A movement found under its key once Stripe forgot it answers as Stripe would have while it
// remembered: the movement made, when it was asked with the same amount; when the key went out
// with another amount, Stripe would refuse the key as reused with other parameters (retryable, the
// key stays in doubt), not answer with a movement of another amount, which the run would book as
// the amount it asked. A run whose worker died in the task that sent the key (nothing in its
// history) can send it again with another amount: a refund that came meanwhile changed the leg's
// share before the retried task computed it.
func TestMovementFoundUnderItsKeyIsOfTheAmountAsked(t *testing.T) {
	meta := func(key string) map[string]string { return map[string]string{activities.MetaIdempotencyKey: key} }
	kinds := map[string]func(f fixture, key string, amount int64, asked bool) (string, error){
		"transfer": func(f fixture, key string, amount int64, asked bool) (string, error) {
			out, err := f.a.Transfer(context.Background(), activities.TransferInput{IdempotencyKey: key, Destination: "acct_v1", Amount: amount,
				Currency: "usd", TransferGroup: "o-amount", Metadata: meta(key), Asked: asked})
			return out.TransferID, err
		},
		"reversal": func(f fixture, key string, amount int64, asked bool) (string, error) {
			out, err := f.a.ReverseTransfer(context.Background(), activities.ReverseTransferInput{IdempotencyKey: key, Currency: "usd",
				TransferID: f.proxy.Transfers()[0].ID, Amount: amount, Metadata: meta(key), Asked: asked})
			return out.ReversalID, err
		},
	}
	tests := []struct {
		name          string
		forget, asked bool
		again         int64
		wantSame      bool // answered with the first movement; else a retryable error
	}{
		{"key remembered, other amount: Stripe refuses the key's reuse", false, false, 80, false},
		{"key forgotten, not asked, other amount: refused as Stripe would", true, false, 80, false},
		{"key forgotten, asked, other amount: refused as Stripe would", true, true, 80, false},
		{"key forgotten, not asked, same amount: found", true, false, 100, true},
	}
	for kind, send := range kinds {
		for n, tt := range tests {
			t.Run(kind+": "+tt.name, func(t *testing.T) {
				f := newFixture(t)
				_, err := f.a.Transfer(context.Background(), activities.TransferInput{IdempotencyKey: "wf/transfer/vendor-v1/0", Destination: "acct_v1",
					Amount: 9545, Currency: "usd", TransferGroup: "o-amount", Metadata: meta("wf/transfer/vendor-v1/0")})
				require.NoError(t, err)
				key := fmt.Sprintf("wf-amount-%d/%s/vendor-v1", n, kind)
				first, err := send(f, key, 100, false)
				require.NoError(t, err)
				if tt.forget {
					f.proxy.ForgetKeys()
				}
				got, err := send(f, key, tt.again, tt.asked)
				if tt.wantSame {
					require.NoError(t, err)
					require.Equal(t, first, got)
					return
				}
				require.Error(t, err, "answered with %s, made under the key with another amount", got)
				var app *temporal.ApplicationError
				require.False(t, errors.As(err, &app) && app.NonRetryable(), "retryable, the key stays in doubt: %v", err)
			})
		}
	}
}
