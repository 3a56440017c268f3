package activities_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"paysplit/activities"
	"paysplit/internal/store"
	"paysplit/testenv"
)

// Payouts of many payments run at once on a worker, all on one PayPal client: a token PayPal
// stops taking refuses all of them together, and each renews it while the others send theirs.
// The renewal must not write the client's token while another request reads it (go test -race),
// and the payouts refused together share one new token rather than ask one each.
func TestPayPalTokenRenewedByConcurrentPayoutsAtOnce(t *testing.T) {
	pool, _ := testenv.Postgres(t)
	st := store.New(pool)
	fake := testenv.NewPayPal(t)
	c, err := activities.NewPayPalClient("paysplit-test", "secret", fake.APIBase, fake.HTTPClient())
	require.NoError(t, err)
	a := &activities.Activities{PayPal: c, Store: st}
	ctx := context.Background()
	_, err = c.GetAccessToken(ctx)
	require.NoError(t, err)
	fake.RevokeTokens()

	const n = 32
	var wg sync.WaitGroup
	errs := make([]error, n)
	stamp := time.Now().UnixNano()
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			in := activities.TransferInput{Provider: activities.ProviderPayPal,
				IdempotencyKey: fmt.Sprintf("payment-paypal-RACE%d-%d/transfer/vendor-v1/0", i, stamp),
				Destination:    "vendor@example.com", Amount: 1000, Currency: "usd", TransferGroup: fmt.Sprintf("o-%d", i),
				Metadata: map[string]string{"payee_id": "v1"}}
			_, errs[i] = a.Transfer(ctx, in)
		}()
	}
	wg.Wait()
	for i, err := range errs {
		require.NoError(t, err, "payout %d", i)
	}
	t.Logf("token requests %d", fake.TokenRequests())
	require.Len(t, fake.Payouts(), n, "each paid once")
	require.LessOrEqual(t, fake.TokenRequests(), 1+n, "at most one renewal a payout")
	// Reads of the batches (an admin's made, checked) while PayPal keeps dropping tokens: each
	// refused read renews while the others read the token.
	payouts := fake.Payouts()
	stop := make(chan struct{})
	var revoker sync.WaitGroup
	revoker.Add(1)
	go func() {
		defer revoker.Done()
		for {
			select {
			case <-stop:
				return
			case <-time.After(2 * time.Millisecond):
				fake.RevokeTokens()
			}
		}
	}()
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p := payouts[i]
			in := activities.TransferInput{Provider: activities.ProviderPayPal, IdempotencyKey: p.SenderBatchID,
				Destination: "vendor@example.com", Amount: 1000, Currency: "usd", TransferGroup: fmt.Sprintf("o-%d", i),
				Metadata: map[string]string{"payee_id": "v1"}}
			for range 20 {
				_, _ = a.ConfirmTransfer(ctx, activities.ConfirmTransferInput{Transfer: in, Ref: p.BatchID})
			}
		}()
	}
	wg.Wait()
	close(stop)
	revoker.Wait()

	// PayPal takes tokens again: a payout renews what the last revocation refused, and is paid.
	in := activities.TransferInput{Provider: activities.ProviderPayPal,
		IdempotencyKey: fmt.Sprintf("payment-paypal-RACEX-%d/transfer/vendor-v1/0", stamp),
		Destination:    "vendor@example.com", Amount: 1000, Currency: "usd", TransferGroup: "o-x", Metadata: map[string]string{"payee_id": "v1"}}
	_, err = a.Transfer(ctx, in)
	require.NoError(t, err)
}
