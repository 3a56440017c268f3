package store_test

import (
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"paysplit/internal/payment"
	"paysplit/internal/store"
	"paysplit/testenv"
)

// the lines of a multi-vendor order must add up to the order. Sums that wrap around
// int64 must not pass that check: here the lines total 2^64 (MaxInt64 + MaxInt64 + 2), which
// wraps to 0, the order's subtotal.
func TestValidateOrderRejectsOverflowingLines(t *testing.T) {
	o := payment.Order{
		ClientID: "c1", OrderID: "o1", Currency: "usd", Platform: "shopify", Subtotal: 0,
		Lines: []payment.OrderLine{
			{VendorID: "v1", Subtotal: math.MaxInt64},
			{VendorID: "v2", Subtotal: math.MaxInt64},
			{VendorID: "v3", Subtotal: 2},
		},
	}
	err := store.ValidateOrder(o)
	require.ErrorIs(t, err, store.ErrInvalid, "lines of 2^64 accepted as adding up to a subtotal of 0")
}

// TestSaveOrderIfNewer: an order state older than the stored one (by the shop's time) changes
// nothing, neither status nor amounts nor lines; the same time or a later one replaces it; a
// state with no time replaces only one without either.
func TestSaveOrderIfNewer(t *testing.T) {
	pool, _ := testenv.Postgres(t)
	s, ctx := store.New(pool), t.Context()
	client := "order-time"
	kpiClient(t, s, client)
	t0 := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	order := func(subtotal int64) payment.Order {
		return payment.Order{ClientID: client, OrderID: "o-1", Platform: "shopify", Currency: "usd", VendorID: client + "-v", Subtotal: subtotal}
	}
	steps := []struct {
		name       string
		subtotal   int64
		status     string
		at         time.Time
		saved      bool
		wantStatus string
		wantSub    int64
	}{
		{"first, with no time", 1000, "pending", time.Time{}, true, "pending", 1000},
		{"a time replaces no time", 1000, "paid", t0, true, "paid", 1000},
		{"later", 1000, "refunded", t0.Add(time.Hour), true, "refunded", 1000},
		{"older: nothing changes", 900, "paid", t0, false, "refunded", 1000},
		{"no time: nothing changes", 900, "paid", time.Time{}, false, "refunded", 1000},
		{"the same time", 1000, "cancelled", t0.Add(time.Hour), true, "cancelled", 1000},
	}
	for _, st := range steps {
		saved, err := s.SaveOrderIfNewer(ctx, order(st.subtotal), st.status, st.at)
		require.NoError(t, err, st.name)
		require.Equal(t, st.saved, saved, st.name)
		got, err := s.GetOrder(ctx, client, "o-1")
		require.NoError(t, err, st.name)
		require.Equal(t, st.wantSub, got.Subtotal, st.name)
		var status string
		require.NoError(t, pool.QueryRow(ctx, `SELECT status FROM orders WHERE client_id = $1 AND order_id = 'o-1'`, client).Scan(&status))
		require.Equal(t, st.wantStatus, status, st.name)
	}
}
