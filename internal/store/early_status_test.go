package store_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"paysplit/internal/store"
	"paysplit/testenv"
)

// TestEarlyStatusesAreTakenOnceInArrivalOrder: the status changes kept for an order come back in
// the order they arrived, with what they said, and only for the order's platform; taken, they are
// gone.
func TestEarlyStatusesAreTakenOnceInArrivalOrder(t *testing.T) {
	pool := testenv.OwnDatabase(t)
	s := store.New(pool)
	ctx := t.Context()
	kpiClient(t, s, "shop")
	at := time.Date(2024, 3, 20, 13, 12, 44, 0, time.UTC)
	kept := []store.EarlyStatus{
		{ClientID: "shop", OrderID: "o-1", Platform: "shopify", Status: "partially_refunded", Refunded: 12257, Currency: "usd", ShopTime: at},
		{ClientID: "shop", OrderID: "o-1", Platform: "shopify", Status: "cancelled"}, // no shop time
		{ClientID: "shop", OrderID: "o-1", Platform: "tiktok", Status: "delivered", ShopTime: at},
		{ClientID: "shop", OrderID: "o-2", Platform: "shopify", Status: "refunded", ShopTime: at},
	}
	for _, k := range kept {
		require.NoError(t, s.KeepEarlyStatus(ctx, k))
	}
	got, err := s.TakeEarlyStatuses(ctx, "shop", "o-1", "shopify")
	require.NoError(t, err)
	require.Len(t, got, 2)
	require.True(t, got[0].ShopTime.Equal(at), got[0].ShopTime)
	got[0].ShopTime = at
	require.Equal(t, kept[:2], got)
	again, err := s.TakeEarlyStatuses(ctx, "shop", "o-1", "shopify")
	require.NoError(t, err)
	require.Empty(t, again, "taken once")
	var left int
	require.NoError(t, pool.QueryRow(ctx, `SELECT count(*) FROM early_order_statuses`).Scan(&left))
	require.Equal(t, 2, left, "another platform's and another order's stay")
}

// The retention drops kept status changes older than the cut (their order never came) and keeps
// newer ones.
func TestPruneEarlyOrderStatuses(t *testing.T) {
	pool := testenv.OwnDatabase(t)
	s := store.New(pool)
	ctx := t.Context()
	kpiClient(t, s, "shop")
	old, cut := time.Now().Add(-9*24*time.Hour), time.Now().Add(-7*24*time.Hour)
	for i, at := range []time.Time{old, old, old, time.Now()} {
		id := "o-" + string(rune('a'+i))
		require.NoError(t, s.KeepEarlyStatus(ctx, store.EarlyStatus{ClientID: "shop", OrderID: id, Platform: "tiktok", Status: "cancelled"}))
		_, err := pool.Exec(ctx, `UPDATE early_order_statuses SET received_at = $2 WHERE order_id = $1`, id, at)
		require.NoError(t, err)
	}
	var total int64
	for {
		n, err := s.PruneBatch(ctx, store.PruneEarlyOrderStatuses, cut, 2)
		require.NoError(t, err)
		total += n
		if n < 2 {
			break
		}
	}
	require.EqualValues(t, 3, total)
	left, err := s.TakeEarlyStatuses(ctx, "shop", "o-d", "tiktok")
	require.NoError(t, err)
	require.Len(t, left, 1, "the recent one stays")
}
