package activities_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"paysplit/activities"
	"paysplit/internal/money"
	"paysplit/internal/payment"
	"paysplit/testenv"
)

// TestEnrichSecondLookForgetsItsWaiter: Enrich that finds no order records its payment as the
// order's waiter and looks again; when that second look finds the order (stored between the two),
// the payment waits for nothing, and its waiter row stayed behind until retention pruned it, the
// order's later updates signalling the payment for nothing. It is removed now. A payment the found
// order parks (another currency) keeps it: it may still need waking, and it files the payment
// under its client.
//
// The order is stored between the looks by holding inserts into order_waiters (LOCK TABLE ... IN
// EXCLUSIVE MODE lets reads through) until Enrich's record of its waiter waits on the lock.
func TestEnrichSecondLookForgetsItsWaiter(t *testing.T) {
	f := newFixture(t)
	pool, _ := testenv.Postgres(t)
	ctx := context.Background()
	tests := []struct {
		name, paymentID, orderID string
		currency                 string
		waiterStays              bool
	}{
		{"order found: split", "pi_second_look", "o-second-look", "usd", false},
		{"order in another currency: parked", "pi_second_look_eur", "o-second-look-eur", "eur", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			lock, err := pool.Begin(ctx)
			require.NoError(t, err)
			defer func() { _ = lock.Rollback(ctx) }() // a no-op once committed
			_, err = lock.Exec(ctx, `LOCK TABLE order_waiters IN EXCLUSIVE MODE`)
			require.NoError(t, err, "hold inserts into order_waiters")

			type result struct {
				out activities.EnrichOutput
				err error
			}
			done := make(chan result, 1)
			wf := "payment-stripe-" + tc.paymentID
			go func() {
				out, err := f.a.Enrich(ctx, activities.EnrichInput{WorkflowID: wf, Provider: "stripe", PaymentID: tc.paymentID,
					Gross: 550, Currency: "usd", Metadata: map[string]string{"client_id": "shop1", "order_id": tc.orderID}})
				done <- result{out, err}
			}()
			require.EventuallyWithT(t, func(c *assert.CollectT) {
				var n int
				err := pool.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()
					AND wait_event_type = 'Lock' AND query LIKE 'INSERT INTO order_waiters%'`).Scan(&n)
				if assert.NoError(c, err) {
					assert.Equal(c, 1, n, "Enrich's insert into order_waiters waiting on the lock")
				}
			}, time.Minute, 20*time.Millisecond)

			require.NoError(t, f.st.SaveOrder(ctx, payment.Order{ClientID: "shop1", OrderID: tc.orderID, VendorID: "v1",
				Platform: "woocommerce", Subtotal: 500, Tax: 50, Currency: money.Currency(tc.currency)}, "paid"))
			require.NoError(t, lock.Commit(ctx), "let Enrich record its waiter")
			r := <-done
			require.NoError(t, r.err)
			require.Empty(t, r.out.Missing, "the second look found the order")

			waiters, err := f.st.OrderWaiters(ctx, "shop1", tc.orderID)
			require.NoError(t, err)
			if tc.waiterStays {
				require.NotEmpty(t, r.out.Problem)
				require.Equal(t, []string{wf}, waiters, "a parked payment keeps its waiter")
				return
			}
			require.Empty(t, r.out.Problem)
			require.Equal(t, tc.orderID, r.out.Order.OrderID)
			require.Empty(t, waiters, "the payment found its order: it waits for nothing")
		})
	}
}
