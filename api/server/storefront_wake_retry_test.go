package server_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"
	"go.temporal.io/api/serviceerror"
)

// TestStorefrontRetryAfterFailedWakeSignalsAfterANewerState: the same state again is stored so
// that the shop's retry after a failed wake-up reaches the waiting payments. Here orders/paid is
// stored but the wake-up fails (503, claim forgotten); before Shopify's retry a partial refund
// (status-only, later time) is stored, and status-only events wake nobody. The retry of the very
// same delivery is then answered "stale", and it used to signal no one: the payment waited for its
// next poll (EnrichPoll) instead of being woken. A stale body still wakes the order's waiters (the
// signal's event ID is the delivery's, so waking twice is once).
func TestStorefrontRetryAfterFailedWakeSignalsAfterANewerState(t *testing.T) {
	e := newShopEnv(t, nil, "")
	c, ctx := e.client, context.Background()
	require.NoError(t, e.store.AddOrderWaiter(ctx, c, "5934021746733", "payment-stripe-pi_wait_refund"))
	paid := withFields(t, shopSample(t, "shopify_orders_paid.json"), map[string]any{"updated_at": "2024-03-14T10:21:09-04:00"})
	refund := withFields(t, shopSample(t, "shopify_refunds_create.json"), map[string]any{
		"created_at":   "2024-03-14T10:25:00-04:00",
		"transactions": []map[string]any{{"kind": "refund", "status": "success", "amount": "10.00", "currency": "USD"}},
	})
	d := shopifyDelivery("orders/paid", "paid-wake-1", paid)

	e.temporal.setFail(serviceerror.NewUnavailable("connection refused"))
	code, out := e.post(c, d)
	require.Equal(t, http.StatusServiceUnavailable, code, out)
	e.temporal.setFail(nil)

	code, out = e.post(c, shopifyDelivery("refunds/create", "refund-wake-1", refund))
	require.Equal(t, http.StatusOK, code, out)
	require.Equal(t, "partially_refunded", e.status(c, "5934021746733"))

	code, out = e.post(c, d) // Shopify's retry of the delivery that failed to wake
	require.Equal(t, http.StatusOK, code, out)
	signals, _ := e.temporal.sent()
	require.Equal(t, []string{"payment-stripe-pi_wait_refund"}, signals,
		"the retry after a failed wake-up was answered %v and woke no waiting payment", out["status"])
}
