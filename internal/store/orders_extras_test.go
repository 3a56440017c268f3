package store_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"paysplit/internal/payment"
	"paysplit/internal/store"
	"paysplit/testenv"
)

// An order's extras (a tip, duties, fees) come back as they were stored, apart from its
// shipping. The shipping column still holds both (migration 00047), as the previous release
// wrote and reads it; a write of that release (a rolling deploy, a rollback) rewrites shipping and
// leaves the extras column alone: the order then reads as that release stored it, all in
// shipping, never with extras that are no longer in it (its total would be off by them).
func TestOrderExtrasStoredApartFromShipping(t *testing.T) {
	pool, _ := testenv.Postgres(t)
	s, ctx := store.New(pool), t.Context()
	client := "order-extras"
	kpiClient(t, s, client)
	o := payment.Order{ClientID: client, OrderID: "o-1", Platform: "shopify", Currency: "usd", VendorID: client + "-v",
		Subtotal: 10000, Tax: 800, Shipping: 1000, Extras: 2500}
	saved, err := s.SaveOrderIfNewer(ctx, o, "paid", time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC))
	require.NoError(t, err)
	require.True(t, saved)
	got, err := s.GetOrder(ctx, client, "o-1")
	require.NoError(t, err)
	require.Equal(t, o, got)

	var shipping int64
	require.NoError(t, pool.QueryRow(ctx, `SELECT shipping FROM orders WHERE client_id = $1 AND order_id = 'o-1'`, client).Scan(&shipping))
	require.EqualValues(t, 3500, shipping, "the previous release reads shipping: it must hold the extras, or its total falls short")

	// A later body of the same order, without a tip now, replaces the extras.
	o.Extras = 0
	require.NoError(t, s.SaveOrder(ctx, o, "paid"))
	got, err = s.GetOrder(ctx, client, "o-1")
	require.NoError(t, err)
	require.Equal(t, o, got)

	// The previous release's update (store.saveOrder at 6fa8359) of an order stored with extras.
	o.Extras = 2500
	require.NoError(t, s.SaveOrder(ctx, o, "paid"))
	_, err = pool.Exec(ctx, `UPDATE orders SET platform = $3, currency = $4, subtotal = $5, tax = $6, shipping = $7,
			discount = $8, affiliate_id = $9, shop_amounts_at = $10, shop_write_seq = shop_write_seq + 1, updated_at = now()
		WHERE client_id = $1 AND order_id = $2`, client, "o-1", "shopify", "usd", 10000, 800, 1200+2500, 0, "", nil)
	require.NoError(t, err)
	got, err = s.GetOrder(ctx, client, "o-1")
	require.NoError(t, err)
	require.EqualValues(t, 3700, got.Shipping, "the previous release's write: everything in shipping")
	require.Zero(t, got.Extras, "extras of a write the previous release replaced")
	total, ok := got.Total()
	require.True(t, ok)
	require.EqualValues(t, 10000+800+3700, total)

	// The previous release's insert leaves the new columns NULL: no extras.
	_, err = pool.Exec(ctx, `INSERT INTO orders (client_id, order_id, platform, currency, subtotal, tax, shipping, discount, affiliate_id, status)
		VALUES ($1, 'o-2', 'shopify', 'usd', 5000, 0, 700, 0, '', 'paid')`, client)
	require.NoError(t, err)
	got, err = s.GetOrder(ctx, client, "o-2")
	require.NoError(t, err)
	require.EqualValues(t, 700, got.Shipping)
	require.Zero(t, got.Extras)

	o.OrderID, o.Extras = "o-3", -1
	require.ErrorIs(t, s.SaveOrder(ctx, o, "paid"), store.ErrInvalid)
}
