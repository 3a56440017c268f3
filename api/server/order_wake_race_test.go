package server_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"paysplit/api/server"
	ipayment "paysplit/internal/payment"
	"paysplit/internal/stripeevent"
	"paysplit/workflows/payment"
)

// TestAnOrderStoredWhileItsPaymentLooksForItWakesIt: a shop's order webhook that comes while its
// payment's run is looking for the order must either be found by that look or wake the run.
// Enrich read the order (not there yet), then recorded the run as the order's waiter; the
// webhook saved the order and read its waiters in one transaction. When the webhook's save and
// read both fell between Enrich's read and its record, neither saw the other: the order was
// stored, nobody was woken, and the payment waited for its next poll (EnrichPoll, a minute by
// default) with its order at hand. In TestEventOrderDoesNotChangeTheOutcome on a loaded machine,
// payment 0 of "a capture whose order comes later, and a refund" lost its wake this way: its
// refund came during the poll's wait and was taken before the payout. Now Enrich looks again
// once recorded, and the webhook reads the waiters after its commit: one of them sees the other.
//
// The race is made deterministic by holding inserts into order_waiters (LOCK TABLE ... IN
// EXCLUSIVE MODE lets reads through) until the run's record of itself waits on the lock, that is
// after it read no order; the webhook is delivered then. EnrichPoll is an hour, so only a wake
// or a look made after the order was stored can pay the payment.
func TestAnOrderStoredWhileItsPaymentLooksForItWakesIt(t *testing.T) {
	s := newStack(t, payment.Settings{SettleWindow: 0, EnrichPoll: time.Hour, EnrichWait: 2 * time.Hour})
	// Storefront secrets are sealed: the shop's webhook goes to a replica that has the key.
	shop := newAPI(t, func(d *server.Deps) { d.Temporal, d.TaskQueue = s.tc, s.Queue })
	const client, pi = "ordwake", "pi_ordwake0"
	s.seed(client)
	setShopifySecret(s, shop.url, client)
	ctx := context.Background()

	lock, err := s.Stack.Pool.Begin(ctx)
	require.NoError(t, err)
	defer func() { _ = lock.Rollback(ctx) }() // a no-op once committed
	_, err = lock.Exec(ctx, `LOCK TABLE order_waiters IN EXCLUSIVE MODE`)
	require.NoError(t, err, "hold inserts into order_waiters")

	at := time.Now().Add(-time.Hour).Truncate(time.Second)
	c := capture(client, pi)
	c.Created = at
	c.Metadata = map[string]string{"client_id": client, "order_id": shopifyOrderID(0)}
	code, out := s.webhook(stripeevent.Sign(c.Body(), webhookSecret, time.Now()))
	require.Equal(t, http.StatusOK, code, out)

	// The run read no order and now waits to record itself as the order's waiter.
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		var n int
		err := s.Stack.Pool.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity
			WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE 'INSERT INTO order_waiters%'`).Scan(&n)
		if assert.NoError(c, err) {
			assert.Equal(c, 1, n, "Enrich's insert into order_waiters waiting on the lock")
		}
	}, time.Minute, 20*time.Millisecond)

	code, out = postShopifyOrder(s, shop.url, client, 0, at)
	require.Equal(t, http.StatusOK, code, "shop order: %v", out)
	require.NoError(t, lock.Commit(ctx), "let the run record itself")

	// A liveness bound, not a speed one: woken (or finding the order) the run pays in seconds;
	// otherwise it waits an hour for its poll.
	s.AwaitStatus(payment.WorkflowID("stripe", pi), time.Minute, ipayment.StatusPaid)
}
