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
	t0 := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	runOrderSteps(t, "order-time", []orderStep{
		{"first, with no time", true, 1000, "pending", time.Time{}, true, "pending", 1000},
		{"a time replaces no time", true, 1000, "paid", t0, true, "paid", 1000},
		{"later", true, 1000, "refunded", t0.Add(time.Hour), true, "refunded", 1000},
		{"older: nothing changes", true, 900, "paid", t0, false, "refunded", 1000},
		{"no time: nothing changes", true, 900, "paid", time.Time{}, false, "refunded", 1000},
		{"the same time", true, 1000, "cancelled", t0.Add(time.Hour), true, "cancelled", 1000},
	})
}

// orderStep is one order event in a TestSaveOrder* sequence: a whole body (with amounts) or a
// status-only change, at a shop time (zero: none).
type orderStep struct {
	name       string
	body       bool
	subtotal   int64 // a body's
	status     string
	at         time.Time
	saved      bool
	wantStatus string
	wantSub    int64
}

func runOrderSteps(t *testing.T, client string, steps []orderStep) {
	t.Helper()
	pool, _ := testenv.Postgres(t)
	s, ctx := store.New(pool), t.Context()
	kpiClient(t, s, client)
	for _, st := range steps {
		var saved bool
		var err error
		if st.body {
			o := payment.Order{ClientID: client, OrderID: "o-1", Platform: "shopify", Currency: "usd", VendorID: client + "-v", Subtotal: st.subtotal}
			saved, err = s.SaveOrderIfNewer(ctx, o, st.status, st.at)
		} else {
			saved, err = s.UpdateOrderStatusIfNewer(ctx, client, "o-1", st.status, st.at)
		}
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

// TestSaveOrderSameSecondKeepsTheFurtherState: at the same shop time the status rank decides: an
// orders/paid of a refund's own second does not undo it, the same state again is stored again (a
// shop's retry after the API failed to wake the waiting payments needs its waiters), and a state
// further on replaces the stored one, keeping the time (the trigger of 00024 does not take this
// release's writes of the same time for the previous release's).
func TestSaveOrderSameSecondKeepsTheFurtherState(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	runOrderSteps(t, "order-same-second", []orderStep{
		{"paid", true, 1000, "paid", t0, true, "paid", 1000},
		{"the same body again", true, 1000, "paid", t0, true, "paid", 1000},
		{"a refund of the same second", false, 0, "partially_refunded", t0, true, "partially_refunded", 1000},
		{"orders/paid of that second again", true, 1000, "paid", t0, false, "partially_refunded", 1000},
		{"a status change back of that second", false, 0, "paid", t0, false, "partially_refunded", 1000},
		{"the refund again", false, 0, "partially_refunded", t0, true, "partially_refunded", 1000},
		{"refunded in full, same second", false, 0, "refunded", t0, true, "refunded", 1000},
		{"orders/paid one second before", true, 1000, "paid", t0.Add(-time.Second), false, "refunded", 1000},
	})
	pool, _ := testenv.Postgres(t)
	var at time.Time
	require.NoError(t, pool.QueryRow(t.Context(), `SELECT shop_updated_at FROM orders WHERE client_id = 'order-same-second'`).Scan(&at))
	require.True(t, at.Equal(t0), "the state's time became %v", at)
}

// TestSaveOrderStatusChangeDoesNotDateTheAmounts: a status-only event (a refund, a TikTok or
// Meta status change) dates the status, not the amounts: a body made after the stored body but
// before the status change brings its amounts and leaves the status; an older body brings
// nothing.
func TestSaveOrderStatusChangeDoesNotDateTheAmounts(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	runOrderSteps(t, "order-status-amounts", []orderStep{
		{"paid", true, 1000, "paid", t0, true, "paid", 1000},
		{"refund at 12:00", false, 0, "partially_refunded", t0.Add(2 * time.Hour), true, "partially_refunded", 1000},
		{"an order edit of 11:00, delivered late", true, 1200, "paid", t0.Add(time.Hour), true, "partially_refunded", 1200},
		{"the 10:00 body again", true, 1000, "paid", t0, false, "partially_refunded", 1200},
		{"a status change of 11:30", false, 0, "paid", t0.Add(90 * time.Minute), false, "partially_refunded", 1200},
		{"the 11:00 edit again", true, 1200, "paid", t0.Add(time.Hour), false, "partially_refunded", 1200},
		{"a body of 13:00", true, 1300, "refunded", t0.Add(3 * time.Hour), true, "refunded", 1300},
	})
}

// TestSaveOrderWithoutShopTime: an event that names no shop time, or one over a state whose
// time is not known, cannot be placed in time, so the status rank decides: it is taken when its
// status has gone as far as the stored one or further (the status then has no known time), never
// when it would move the order back.
func TestSaveOrderWithoutShopTime(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	none := time.Time{}
	runOrderSteps(t, "order-no-time", []orderStep{
		{"paid at 10:00", true, 1000, "paid", t0, true, "paid", 1000},
		{"a body with no time, same status (WooCommerce without date_modified_gmt)", true, 1100, "processing", none, true, "processing", 1100},
		{"paid at 9:00: the stored status has no time now, rank decides", true, 900, "paid", t0.Add(-time.Hour), true, "paid", 900},
		{"cancelled, no time", false, 0, "cancelled", none, true, "cancelled", 900},
		{"orders/paid with no time, again", true, 1000, "paid", none, false, "cancelled", 900},
		{"a body of 11:00: its amounts are later than the 9:00 body's, its status cannot be placed against the untimed cancellation",
			true, 1000, "paid", t0.Add(time.Hour), true, "cancelled", 1000},
		{"the cancellation again", false, 0, "cancelled", none, true, "cancelled", 1000},
		{"a timed cancellation dates the state again", false, 0, "cancelled", t0.Add(2 * time.Hour), true, "cancelled", 1000},
		{"a pending change of 11:00 is older", false, 0, "pending", t0.Add(time.Hour), false, "cancelled", 1000},
		{"the 11:00 body again", true, 1000, "paid", t0.Add(time.Hour), false, "cancelled", 1000},
	})
}

// TestGetOrderOfClientReadsWhatGetOrderAndGetClientRead: a payment's enrichment reads its order
// and whether its client is known in one round trip; the answers are GetOrder's (a one-vendor
// order with its vendor and extras, a multi-vendor one with its lines, ErrNotFound) and GetClient's, for
// the order found or not and the client registered or not.
func TestGetOrderOfClientReadsWhatGetOrderAndGetClientRead(t *testing.T) {
	pool, _ := testenv.Postgres(t)
	s, ctx := store.New(pool), t.Context()
	client := "order-of-client"
	kpiClient(t, s, client)
	_, err := s.SaveOrderIfNewer(ctx, payment.Order{ClientID: client, OrderID: "one", Platform: "shopify", Currency: "usd",
		VendorID: client + "-v", Subtotal: 1000, Tax: 100, Shipping: 30, Extras: 20}, "paid", time.Time{})
	require.NoError(t, err)
	_, err = s.SaveOrderIfNewer(ctx, payment.Order{ClientID: client, OrderID: "multi", Platform: "shopify", Currency: "usd", Subtotal: 900,
		Lines: []payment.OrderLine{{VendorID: client + "-a", Subtotal: 400}, {VendorID: client + "-b", Subtotal: 500}}}, "paid", time.Time{})
	require.NoError(t, err)
	for _, tt := range []struct {
		client, order string
		found         bool
	}{
		{client, "one", true}, {client, "multi", true}, {client, "none", false}, {"nobody-registered", "one", false},
	} {
		t.Run(tt.client+"/"+tt.order, func(t *testing.T) {
			got, known, err := s.GetOrderOfClient(ctx, tt.client, tt.order)
			want, wantErr := s.GetOrder(ctx, tt.client, tt.order)
			_, clientErr := s.GetClient(ctx, tt.client)
			require.Equal(t, clientErr == nil, known, "client known")
			require.Equal(t, tt.found, wantErr == nil, "GetOrder: %v", wantErr)
			if wantErr != nil {
				require.ErrorIs(t, wantErr, store.ErrNotFound)
				require.ErrorIs(t, err, store.ErrNotFound)
				return
			}
			require.NoError(t, err)
			require.Equal(t, want, got)
			if tt.order == "one" {
				require.Equal(t, [2]int64{30, 20}, [2]int64{got.Shipping, got.Extras}, "shipping and extras told apart")
			}
		})
	}
}

// TestGetOrderOfClientTakesExtrasAsGetOrderDoes: the extras are read only while shipping is the
// one stored with them (migration 00047): an order whose shipping a previous release rewrote, or
// stored before extras were told apart (NULL), reads with its extras in shipping, from either
// read; and an offboarded client is still a known one (GetClient reads no status).
func TestGetOrderOfClientTakesExtrasAsGetOrderDoes(t *testing.T) {
	pool, _ := testenv.Postgres(t)
	s, ctx := store.New(pool), t.Context()
	client := "order-of-client-extras"
	kpiClient(t, s, client)
	for _, tt := range []struct {
		order, change    string // change is what a previous release's write does to the stored row
		shipping, extras int64
		offboard         bool
	}{
		{order: "told-apart", shipping: 30, extras: 20},
		{order: "rewritten", change: `UPDATE orders SET shipping = 70 WHERE client_id = $1 AND order_id = $2`, shipping: 70},
		{order: "from-before", change: `UPDATE orders SET extras = NULL, extras_of_shipping = NULL WHERE client_id = $1 AND order_id = $2`, shipping: 50},
		{order: "of-an-offboarded-client", shipping: 30, extras: 20, offboard: true},
	} {
		t.Run(tt.order, func(t *testing.T) {
			_, err := s.SaveOrderIfNewer(ctx, payment.Order{ClientID: client, OrderID: tt.order, Platform: "shopify", Currency: "usd",
				VendorID: client + "-v", Subtotal: 1000, Shipping: 30, Extras: 20}, "paid", time.Time{})
			require.NoError(t, err)
			if tt.change != "" {
				_, err = pool.Exec(ctx, tt.change, client, tt.order)
				require.NoError(t, err)
			}
			if tt.offboard {
				_, err = s.SetClientStatus(ctx, client, store.ClientOffboarded)
				require.NoError(t, err)
			}
			got, known, err := s.GetOrderOfClient(ctx, client, tt.order)
			require.NoError(t, err)
			require.True(t, known, "client known")
			want, err := s.GetOrder(ctx, client, tt.order)
			require.NoError(t, err)
			require.Equal(t, want, got)
			require.Equal(t, [2]int64{tt.shipping, tt.extras}, [2]int64{got.Shipping, got.Extras})
		})
	}
}
