package store_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"paysplit/internal/store"
	"paysplit/testenv"
)

// TestRecordDeliveryBody: a delivery ID is taken with its first body and again with the same
// body (a retry); with another body it is ErrBodyChanged, even when both arrive at once.
func TestRecordDeliveryBody(t *testing.T) {
	pool, _ := testenv.Postgres(t)
	s := store.New(pool)
	ctx := t.Context()
	id := fmt.Sprintf("tx-%d", time.Now().UnixNano())
	require.NoError(t, s.RecordDeliveryBody(ctx, "paypal-transmission", id, []byte(`{"a":1}`)))
	require.NoError(t, s.RecordDeliveryBody(ctx, "paypal-transmission", id, []byte(`{"a":1}`)), "the same body again is a retry")
	require.ErrorIs(t, s.RecordDeliveryBody(ctx, "paypal-transmission", id, []byte(`{"a":2}`)), store.ErrBodyChanged)
	require.NoError(t, s.RecordDeliveryBody(ctx, "other-provider", id, []byte(`{"a":2}`)), "IDs are per provider")

	// Concurrent deliveries of one new ID with two bodies: whichever is stored first, every
	// delivery of that body is taken and every delivery of the other refused.
	racing := fmt.Sprintf("tx-race-%d", time.Now().UnixNano())
	bodies := [][]byte{[]byte(`{"b":1}`), []byte(`{"b":2}`)}
	var mu sync.Mutex
	taken := map[int]int{}
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Go(func() {
			err := s.RecordDeliveryBody(ctx, "paypal-transmission", racing, bodies[i%2])
			if err != nil {
				assert.ErrorIs(t, err, store.ErrBodyChanged) // not require: this is not the test's goroutine
				return
			}
			mu.Lock()
			taken[i%2]++
			mu.Unlock()
		})
	}
	wg.Wait()
	require.Len(t, taken, 1, "one body only: %v", taken)
	for _, n := range taken {
		require.Equal(t, 8, n, "every delivery of the body stored first is taken")
	}
}

// TestPruneKeepsDeliveryBodies: the retention prunes storefront delivery records by its cut, but
// a record with its body's hash (a PayPal transmission) is kept for DeliveryBodyKeep whatever the
// cut, or a transmission still fresh to PayPal's verifier could carry another body again.
func TestPruneKeepsDeliveryBodies(t *testing.T) {
	pool, _ := testenv.Postgres(t)
	s := store.New(pool)
	ctx := t.Context()
	n := time.Now().UnixNano()
	recent, old := time.Now().Add(-2*24*time.Hour), time.Now().Add(-store.DeliveryBodyKeep-time.Hour)
	rows := []struct {
		id   string
		at   time.Time
		body bool
		kept bool
	}{
		{fmt.Sprintf("keep-body-%d", n), recent, true, true},
		{fmt.Sprintf("prune-plain-%d", n), recent, false, false},
		{fmt.Sprintf("prune-old-body-%d", n), old, true, false},
	}
	for _, r := range rows {
		require.NoError(t, s.RecordDeliveryBody(ctx, "prune-test", r.id, []byte(r.id)))
		if !r.body {
			_, err := pool.Exec(ctx, `UPDATE webhook_deliveries SET body_sha256 = NULL WHERE provider = 'prune-test' AND delivery_id = $1`, r.id)
			require.NoError(t, err)
		}
		_, err := pool.Exec(ctx, `UPDATE webhook_deliveries SET received_at = $2 WHERE provider = 'prune-test' AND delivery_id = $1`, r.id, r.at)
		require.NoError(t, err)
	}
	// A retention of one day: the cut is after every row above.
	for {
		got, err := s.PruneBatch(ctx, store.PruneWebhookDeliveries, time.Now().Add(-24*time.Hour), 100)
		require.NoError(t, err)
		if got < 100 {
			break
		}
	}
	for _, r := range rows {
		var left int
		require.NoError(t, pool.QueryRow(ctx, `SELECT count(*) FROM webhook_deliveries WHERE provider = 'prune-test' AND delivery_id = $1`, r.id).Scan(&left))
		require.Equal(t, r.kept, left == 1, r.id)
	}
}
