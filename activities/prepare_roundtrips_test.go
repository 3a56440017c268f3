package activities_test

import (
	"context"
	"sync/atomic"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"paysplit/activities"
	"paysplit/internal/ledger"
	"paysplit/internal/payment"
	"paysplit/internal/split"
	"paysplit/internal/store"
	"paysplit/testenv"
)

// roundTrips counts what a pool sends Postgres and waits on: each query, and each batch (its
// queries go together).
type roundTrips struct{ n atomic.Int64 }

func (r *roundTrips) TraceQueryStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryStartData) context.Context {
	r.n.Add(1)
	return ctx
}
func (r *roundTrips) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}
func (r *roundTrips) TraceBatchStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceBatchStartData) context.Context {
	r.n.Add(1)
	return ctx
}
func (r *roundTrips) TraceBatchQuery(context.Context, *pgx.Conn, pgx.TraceBatchQueryData) {}
func (r *roundTrips) TraceBatchEnd(context.Context, *pgx.Conn, pgx.TraceBatchEndData)     {}

// TestPrepareRoundTrips counts the round trips to Postgres of a payment's first step, run with
// its capture (the API starts every new payment so): as found it read the stored payment, and
// only then the order its metadata names, one round trip after the other. The order is now read
// in the same round trip; what Prepare answers is the same (TestPrepare and the rest).
func TestPrepareRoundTrips(t *testing.T) {
	_, url := testenv.Postgres(t)
	cfg, err := pgxpool.ParseConfig(url)
	require.NoError(t, err)
	trips := &roundTrips{}
	cfg.ConnConfig.Tracer = trips
	cfg.MaxConns = 1 // one connection: its statement cache warmed once
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	st := store.New(pool)
	a := &activities.Activities{Store: st, Ledger: ledger.New(pool)}
	ctx := context.Background()
	_, _, err = st.UpsertClient(ctx, store.Client{ID: "shop-trips", Name: "Trips", DefaultCurrency: "usd"})
	require.NoError(t, err)
	_, err = st.CreateRule(ctx, split.Rule{ClientID: "shop-trips", PlatformBps: 1000}, "test")
	require.NoError(t, err)
	require.NoError(t, st.SaveOrder(ctx, payment.Order{ClientID: "shop-trips", OrderID: "o-shop", VendorID: "v1", Platform: "shopify",
		Subtotal: 1000, Tax: 100, Currency: "usd"}, "paid"))
	stored := payment.Record{WorkflowID: "payment-paypal-CAPTRIPSSTORED", Provider: "paypal", PaymentID: "CAPTRIPSSTORED", Status: payment.StatusPaid}
	require.NoError(t, st.SavePayment(ctx, stored))

	md := func(order string) map[string]string {
		return map[string]string{"client_id": "shop-trips", "order_id": order, "vendor_id": "v1", "subtotal": "1000", "tax": "100", "platform": "shopify"}
	}
	prepare := func(id string, md map[string]string) activities.PrepareOutput {
		out, err := a.Prepare(ctx, activities.PrepareInput{WorkflowID: "payment-paypal-" + id, FirstRun: true, CapturedAt: nextSecond(),
			Capture: &activities.EnrichInput{WorkflowID: "payment-paypal-" + id, Provider: "paypal", PaymentID: id, Gross: 1100, Currency: "usd", Fee: 40, Metadata: md}})
		require.NoError(t, err)
		return out
	}
	prepare("CAPTRIPSWARM", md("o-warm")) // the connection prepares each statement once
	prepare("CAPTRIPSWARM2", md("o-shop"))
	prepare("CAPTRIPSWARM3", map[string]string{"client_id": "shop-trips", "order_id": "o-late"})

	for _, tt := range []struct {
		name  string
		id    string
		md    map[string]string
		trips int64
		check func(t *testing.T, out activities.PrepareOutput)
	}{
		// The stored payment and the order, then the rule.
		{"metadata with the whole order, no shop order", "CAPTRIPS1", md("o-1"), 2, func(t *testing.T, out activities.PrepareOutput) {
			require.NotNil(t, out.Split)
			assert.Equal(t, "v1", out.Enriched.Order.VendorID)
		}},
		{"metadata and the shop's order", "CAPTRIPS2", md("o-shop"), 2, func(t *testing.T, out activities.PrepareOutput) {
			require.NotNil(t, out.Split)
			assert.Equal(t, "shopify", out.Enriched.Order.Platform)
		}},
		// The stored payment and the order, the waiter, the order looked at again (anew).
		{"the order not arrived", "CAPTRIPS3", map[string]string{"client_id": "shop-trips", "order_id": "o-late2"}, 3, func(t *testing.T, out activities.PrepareOutput) {
			require.NotNil(t, out.Enriched)
			assert.Contains(t, out.Enriched.Missing, "vendor_id")
		}},
		// Stored (a restore's first run): the order read with it goes unused, the run checked
		// against the last one (no Temporal client here: nothing to check against).
		{"stored already", "CAPTRIPSSTORED", md("o-1"), 1, func(t *testing.T, out activities.PrepareOutput) {
			assert.True(t, out.Found)
			assert.Nil(t, out.Enriched)
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			before := trips.n.Load()
			out := prepare(tt.id, tt.md)
			assert.Equal(t, tt.trips, trips.n.Load()-before, "round trips to Postgres")
			tt.check(t, out)
		})
	}
}
