package store_test

import (
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"paysplit/internal/store"
	"paysplit/testenv"
)

// TestInbox walks events through the relay's queue: stored once, claimed under a lease, retried
// later, forwarded, and pruned only once forwarded.
func TestInbox(t *testing.T) {
	pool, _ := testenv.Postgres(t)
	s := store.New(pool)
	ctx := t.Context()
	event := func(id, pi string) store.InboxEvent {
		return store.InboxEvent{Provider: "stripe", EventID: id, PaymentID: pi, TaskQueue: "payments", Event: json.RawMessage(`{"ID":"` + id + `"}`),
			Trace: map[string]string{"traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}}
	}
	for _, e := range []store.InboxEvent{event("evt_a", "pi_1"), event("evt_b", "pi_1"), event("evt_c", "pi_2")} {
		id, first, err := s.AcceptEvent(ctx, e, 0)
		require.NoError(t, err)
		require.True(t, first, e.EventID)
		require.Positive(t, id)
	}
	_, first, err := s.AcceptEvent(ctx, event("evt_a", "pi_1"), 0)
	require.NoError(t, err)
	require.False(t, first, "a re-delivery is a duplicate")

	backlog, err := s.InboxBacklog(ctx)
	require.NoError(t, err)
	require.EqualValues(t, 3, backlog.Pending)

	got, err := s.ClaimInbox(ctx, "payments", 2, time.Minute)
	require.NoError(t, err)
	require.Len(t, got, 2)
	require.Equal(t, []string{"evt_a", "evt_b"}, []string{got[0].EventID, got[1].EventID}, "oldest first")
	require.Equal(t, 1, got[0].Attempts)
	require.Equal(t, "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", got[0].Trace["traceparent"])
	require.JSONEq(t, `{"ID":"evt_a"}`, string(got[0].Event))

	other, err := s.ClaimInbox(ctx, "elsewhere", 10, time.Minute)
	require.NoError(t, err)
	require.Empty(t, other, "a relay forwards only its own task queue's events")
	rest, err := s.ClaimInbox(ctx, "payments", 10, time.Minute)
	require.NoError(t, err)
	require.Len(t, rest, 1, "leased events are not claimed twice")
	require.Equal(t, "evt_c", rest[0].EventID)

	// evt_c failed: it comes back once its retry time has come, with its attempt counted.
	require.NoError(t, s.RetryInboxAfter(ctx, []int64{rest[0].ID}, -time.Second, "temporal unavailable"))
	again, err := s.ClaimInbox(ctx, "payments", 10, time.Minute)
	require.NoError(t, err)
	require.Len(t, again, 1)
	require.Equal(t, 2, again[0].Attempts)

	require.NoError(t, s.MarkForwarded(ctx, []int64{got[0].ID, got[1].ID}))
	backlog, err = s.InboxBacklog(ctx)
	require.NoError(t, err)
	require.EqualValues(t, 1, backlog.Pending, "evt_c still waits")
	require.Positive(t, backlog.OldestWait)

	n, err := s.PruneBatch(ctx, store.PruneWebhookInbox, time.Now().Add(time.Minute), 10)
	require.NoError(t, err)
	require.EqualValues(t, 2, n, "only forwarded events are pruned")
	backlog, err = s.InboxBacklog(ctx)
	require.NoError(t, err)
	require.EqualValues(t, 1, backlog.Pending)

	// An event stored already leased to the API that took it is left to that API's relay...
	_, first, err = s.AcceptEvent(ctx, event("evt_d", "pi_3"), time.Minute)
	require.NoError(t, err)
	require.True(t, first)
	leased, err := s.ClaimInbox(ctx, "payments", 10, time.Minute)
	require.NoError(t, err)
	require.Empty(t, leased, "evt_c is leased again and evt_d is its taker's")
	// ...until its lease runs out (say, that API died before forwarding it).
	_, err = pool.Exec(ctx, `UPDATE webhook_inbox SET next_attempt_at = now() WHERE event_id = 'evt_d'`)
	require.NoError(t, err)
	orphan, err := s.ClaimInbox(ctx, "payments", 10, time.Minute)
	require.NoError(t, err)
	require.Len(t, orphan, 1)
	require.Equal(t, "evt_d", orphan[0].EventID)
	require.Equal(t, 2, orphan[0].Attempts, "the taker's attempt counts")
}

// TestRenewInbox: a relay renews the leases of events it holds in memory unless another relay
// claimed them after their lease ran out (the attempt count tells) or they were forwarded; a
// renewed event is not claimable until its new lease ends.
func TestRenewInbox(t *testing.T) {
	_, s, queue := inboxOf(t, "renew")
	ctx := t.Context()
	accept := func(id string) store.InboxEvent {
		e := store.InboxEvent{Provider: "stripe", EventID: queue + id, PaymentID: id, TaskQueue: queue, Event: json.RawMessage(`{}`)}
		got, first, err := s.AcceptEvent(ctx, e, time.Millisecond) // held in memory, lease about to end
		require.NoError(t, err)
		require.True(t, first)
		e.ID, e.Attempts = got, 1
		return e
	}
	claimed, held, forwarded := accept("claimed"), accept("held"), accept("forwarded")
	time.Sleep(5 * time.Millisecond)
	require.NoError(t, s.MarkForwarded(ctx, []int64{forwarded.ID}))
	got, err := s.ClaimInbox(ctx, queue, 1, time.Minute) // another relay takes the oldest expired one
	require.NoError(t, err)
	require.Equal(t, []int64{claimed.ID}, store.InboxIDs(got))

	renewed, err := s.RenewInbox(ctx, []store.InboxEvent{held, claimed, forwarded}, time.Minute)
	require.NoError(t, err)
	require.Equal(t, []int64{held.ID}, renewed, "only what nobody else took and nobody forwarded")
	rest, err := s.ClaimInbox(ctx, queue, 10, time.Minute)
	require.NoError(t, err)
	require.Empty(t, rest, "a renewed lease keeps claims away")
}

// TestAcceptEventsInOneStatement: events stored together are each stored once (a delivery
// already stored, or twice in the call, is a duplicate), in the call's order, each under its own
// lease and with its trace.
func TestAcceptEventsInOneStatement(t *testing.T) {
	pool, s, queue := inboxOf(t, "batch")
	ctx := t.Context()
	event := func(id string) store.InboxEvent {
		return store.InboxEvent{Provider: "stripe", EventID: queue + id, PaymentID: "pi_" + id, TaskQueue: queue,
			Event: json.RawMessage(`{"ID":"` + id + `"}`), Trace: map[string]string{"traceparent": id}}
	}
	_, first, err := s.AcceptEvent(ctx, event("before"), 0)
	require.NoError(t, err)
	require.True(t, first)

	got, err := s.AcceptEvents(ctx, []store.Accept{
		{Event: event("c")},
		{Event: event("before")},              // stored by an earlier call
		{Event: event("a"), Lease: time.Hour}, // held by its taker
		{Event: event("c")},                   // twice in this call
		{Event: store.InboxEvent{Provider: "paypal", EventID: queue + "c", PaymentID: "CAP", TaskQueue: queue, Event: json.RawMessage(`{}`)}},
	})
	require.NoError(t, err)
	require.Len(t, got, 5)
	firsts := []bool{got[0].First, got[1].First, got[2].First, got[3].First, got[4].First}
	require.Equal(t, []bool{true, false, true, false, true}, firsts, "the same event ID from another provider is another event")
	require.Less(t, got[0].ID, got[2].ID, "IDs follow the call's order")
	require.Less(t, got[2].ID, got[4].ID)
	require.Zero(t, got[1].ID)
	require.Zero(t, got[3].ID)

	claimed, err := s.ClaimInbox(ctx, queue, 10, time.Minute)
	require.NoError(t, err)
	require.Equal(t, []int64{got[0].ID, got[4].ID}, store.InboxIDs(claimed[1:]), "the leased one is its taker's; the rest oldest first")
	require.Equal(t, queue+"before", claimed[0].EventID)
	require.Equal(t, "c", claimed[1].Trace["traceparent"])
	require.JSONEq(t, `{"ID":"c"}`, string(claimed[1].Event))
	require.Empty(t, claimed[2].Trace)
	var nullTrace bool
	require.NoError(t, pool.QueryRow(ctx, `SELECT trace IS NULL FROM webhook_inbox WHERE id = $1`, got[4].ID).Scan(&nullTrace))
	require.True(t, nullTrace, "no trace is stored as NULL, as AcceptEvent did")
}

// TestInboxWriterSharesStatements: concurrent requests through an InboxWriter are all stored,
// each answered for its own event (duplicates as duplicates), in fewer statements than events.
func TestInboxWriterSharesStatements(t *testing.T) {
	pool, s, queue := inboxOf(t, "writer")
	ctx := t.Context()
	w := s.NewInboxWriter(1, 64, 0)
	const n = 200
	type answer struct {
		id    int64
		first bool
	}
	answers := make([]answer, 2*n)
	var wg sync.WaitGroup
	for i := range 2 * n { // every event twice
		wg.Go(func() {
			e := store.InboxEvent{Provider: "stripe", EventID: fmt.Sprintf("%s-%d", queue, i%n), PaymentID: "pi", TaskQueue: queue, Event: json.RawMessage(`{}`)}
			id, first, err := w.Accept(ctx, e, 0)
			assert.NoError(t, err)
			answers[i] = answer{id, first}
		})
	}
	wg.Wait()
	ids := map[int64]bool{}
	for i := range n {
		a, b := answers[i], answers[i+n]
		require.True(t, a.first != b.first, "event %d is stored by exactly one of its deliveries", i)
		id := max(a.id, b.id)
		require.Positive(t, id)
		require.False(t, ids[id], "an ID answers one event")
		ids[id] = true
	}
	var stored, statements int
	require.NoError(t, pool.QueryRow(ctx, `SELECT count(*), count(DISTINCT xmin::text) FROM webhook_inbox WHERE task_queue = $1`, queue).Scan(&stored, &statements))
	require.Equal(t, n, stored)
	require.Less(t, statements, n, "requests that waited together were committed together")

	w.Close()
	id, first, err := w.Accept(ctx, store.InboxEvent{Provider: "stripe", EventID: queue + "-late", TaskQueue: queue, Event: json.RawMessage(`{}`)}, 0)
	require.NoError(t, err, "closed, it still stores, one statement an event")
	require.True(t, first)
	require.Positive(t, id)
}

// inboxOf is a store on the test database and a task queue of the test's own.
func inboxOf(t *testing.T, prefix string) (*pgxpool.Pool, *store.Store, string) {
	pool, _ := testenv.Postgres(t)
	return pool, store.New(pool), prefix + "-" + time.Now().Format("150405.000000")
}
