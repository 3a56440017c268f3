package store_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"paysplit/internal/store"
	"paysplit/testenv"
)

// TestPruneWhileAnOrderTakesItsEarlyStatuses: the retention prune takes no order lock, so it may
// run while an order's delivery takes the status changes kept for it. Whichever deletes a row
// first has it: an order that took its changes applies them (the prune, waiting on the rows,
// then deletes nothing of them), and changes the prune deleted first are not applied (they were
// past retention, as if the order had come after it ran). Never both, never a half.
func TestPruneWhileAnOrderTakesItsEarlyStatuses(t *testing.T) {
	pool := testenv.OwnDatabase(t)
	s := store.New(pool)
	ctx := t.Context()
	kpiClient(t, s, "shop")
	old, cut := time.Now().Add(-9*24*time.Hour), time.Now().Add(-7*24*time.Hour)
	keepOld := func(orderID string) {
		for _, st := range []string{"partially_refunded", "refunded"} {
			require.NoError(t, s.KeepEarlyStatus(ctx, store.EarlyStatus{ClientID: "shop", OrderID: orderID, Platform: "shopify", Status: st}))
		}
		_, err := pool.Exec(ctx, `UPDATE early_order_statuses SET received_at = $2 WHERE order_id = $1`, orderID, old)
		require.NoError(t, err)
	}
	waitingDelete := func() {
		require.EventuallyWithT(t, func(col *assert.CollectT) {
			var n int
			err := pool.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()
				AND wait_event_type = 'Lock' AND query LIKE '%DELETE FROM early_order_statuses%'`).Scan(&n)
			if assert.NoError(col, err) {
				assert.Equal(col, 1, n)
			}
		}, time.Minute, 20*time.Millisecond)
	}

	t.Run("the order takes first", func(t *testing.T) {
		keepOld("o-take")
		tx, err := pool.Begin(ctx)
		require.NoError(t, err)
		defer func() { _ = tx.Rollback(ctx) }()
		took, err := s.Joining(tx).TakeEarlyStatuses(ctx, "shop", "o-take", "shopify")
		require.NoError(t, err)
		require.Len(t, took, 2)
		pruned := make(chan int64, 1)
		go func() {
			n, err := s.PruneBatch(ctx, store.PruneEarlyOrderStatuses, cut, 10)
			assert.NoError(t, err)
			pruned <- n
		}()
		waitingDelete()
		require.NoError(t, tx.Commit(ctx))
		require.Zero(t, <-pruned, "the prune deletes nothing the order took")
	})
	t.Run("the prune deletes first", func(t *testing.T) {
		keepOld("o-prune")
		tx, err := pool.Begin(ctx)
		require.NoError(t, err)
		defer func() { _ = tx.Rollback(ctx) }()
		n, err := s.Joining(tx).PruneBatch(ctx, store.PruneEarlyOrderStatuses, cut, 10)
		require.NoError(t, err)
		require.EqualValues(t, 2, n)
		took := make(chan int, 1)
		go func() {
			got, err := s.TakeEarlyStatuses(ctx, "shop", "o-prune", "shopify")
			assert.NoError(t, err)
			took <- len(got)
		}()
		waitingDelete()
		require.NoError(t, tx.Commit(ctx))
		require.Zero(t, <-took, "nothing left to apply")
	})
}
