package server

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"

	"paysplit/internal/store"
	"paysplit/testenv"
	"paysplit/workflows/payment"
)

func TestBackoffDoublesUpToTheCap(t *testing.T) {
	tests := []struct {
		attempts int
		want     time.Duration
	}{
		{0, 250 * time.Millisecond},
		{1, 250 * time.Millisecond},
		{2, 500 * time.Millisecond},
		{5, 4 * time.Second},
		{9, time.Minute},
		{1000, time.Minute},
	}
	for _, tt := range tests {
		require.Equal(t, tt.want, backoff(tt.attempts, time.Minute), "attempt %d", tt.attempts)
	}
}

// TestGatherTakesWhatWasHandedAndFreesSlots: a burst handed to the relay leaves as batches no
// larger than Batch, and every slot is free again once its event is taken.
func TestGatherTakesWhatWasHandedAndFreesSlots(t *testing.T) {
	r := &relay{opts: RelayOptions{Batch: 3, Buffer: 5}.withDefaults()}
	r.local, r.slots = make(chan store.InboxEvent, 5), make(chan struct{}, 5)
	for i := range 5 {
		require.True(t, r.reserve())
		r.hand(store.InboxEvent{ID: int64(i + 1)})
	}
	require.False(t, r.reserve(), "the buffer is full: the next event goes through the table")
	first := r.gather(<-r.local)
	require.Equal(t, []int64{1, 2, 3}, store.InboxIDs(first))
	second := r.gather(<-r.local)
	require.Equal(t, []int64{4, 5}, store.InboxIDs(second))
	require.Empty(t, r.slots, "every slot is free again")
}

// TestCloseReleasesWhatTheRelayHeld: a relay stopped mid-batch (a deploy's SIGTERM) hands the
// event in flight and the one waiting in its buffer to the next relay at once, instead of
// leaving them leased; after it stopped, new events are stored for a claim.
func TestCloseReleasesWhatTheRelayHeld(t *testing.T) {
	pool, _ := testenv.Postgres(t)
	st := store.New(pool)
	ctx := t.Context()
	queue := "relay-close-" + time.Now().Format("150405.000000")
	inFlight := make(chan struct{})
	r := &relay{store: st, taskQueue: queue, logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		opts: RelayOptions{Poll: time.Hour}.withDefaults(), kick: make(chan struct{}, 1),
		forwarded: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "t"}, []string{"provider", "outcome"})}
	r.local, r.slots = make(chan store.InboxEvent, r.opts.Buffer), make(chan struct{}, r.opts.Buffer)
	var calls atomic.Int32
	r.deliver = func(ctx context.Context, _, _ string, _ payment.Event, _ json.RawMessage) (string, error) {
		if calls.Add(1) == 1 {
			close(inFlight)
		}
		<-ctx.Done() // Temporal is slow; the stop comes first
		return "", ctx.Err()
	}
	r.start()

	accept := func(eventID string) store.InboxEvent {
		require.True(t, r.reserve())
		e := store.InboxEvent{Provider: "stripe", EventID: eventID, PaymentID: eventID, TaskQueue: queue, Event: json.RawMessage(`{"ID":"` + eventID + `"}`)}
		id, first, err := st.AcceptEvent(ctx, e, r.opts.Lease)
		require.NoError(t, err)
		require.True(t, first)
		e.ID, e.Attempts = id, 1
		r.hand(e)
		return e
	}
	accept(queue + "-a")
	<-inFlight
	accept(queue + "-b") // waits in the buffer behind the batch in flight
	r.close()

	require.False(t, r.reserve(), "a stopped relay takes nothing into memory")
	require.EqualValues(t, 1, calls.Load(), "nothing is forwarded once the relay stopped")
	require.Empty(t, r.slots, "every slot freed")
	claimed, err := st.ClaimInbox(ctx, queue, 10, time.Minute)
	require.NoError(t, err)
	var got []string
	for _, e := range claimed {
		got = append(got, e.EventID)
	}
	require.Equal(t, []string{queue + "-a", queue + "-b"}, got, "both claimable at once, not after the lease")
}

// TestStillHeldForwardsOnlyWhatItHolds: of a batch from memory, events with most of their lease
// left go as they are; nearer the end the lease is renewed first; an event whose lease ran out
// and that another relay claimed is left to that relay, so it is not delivered twice.
func TestStillHeldForwardsOnlyWhatItHolds(t *testing.T) {
	pool, _ := testenv.Postgres(t)
	st := store.New(pool)
	ctx := t.Context()
	queue := "relay-held-" + time.Now().Format("150405.000000")
	counts := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "t"}, []string{"provider", "outcome"})
	r := &relay{store: st, taskQueue: queue, logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		opts: RelayOptions{Lease: time.Minute}.withDefaults(), forwarded: counts}
	accept := func(name string, lease time.Duration) store.InboxEvent {
		e := store.InboxEvent{Provider: "stripe", EventID: queue + name, PaymentID: name, TaskQueue: queue, Event: json.RawMessage(`{}`)}
		leasedUntil := time.Now().Add(lease)
		id, first, err := st.AcceptEvent(ctx, e, lease)
		require.NoError(t, err)
		require.True(t, first)
		e.ID, e.Attempts, e.LeasedUntil = id, 1, leasedUntil
		return e
	}
	taken := accept("taken", time.Millisecond)    // its lease ran out and a claim took it
	expiring := accept("expiring", 2*time.Second) // still ours, but not for long
	fresh := accept("fresh", time.Minute)         // most of its lease left
	time.Sleep(5 * time.Millisecond)
	got, err := st.ClaimInbox(ctx, queue, 10, time.Minute)
	require.NoError(t, err)
	require.Equal(t, []int64{taken.ID}, store.InboxIDs(got))

	kept := r.stillHeld(ctx, []store.InboxEvent{fresh, taken, expiring})
	require.Equal(t, []int64{expiring.ID, fresh.ID}, store.InboxIDs(kept), "in arrival order, without the one claimed elsewhere")
	require.Greater(t, time.Until(kept[0].LeasedUntil), 50*time.Second, "the renewed lease runs from now")
	require.Equal(t, 1.0, testutil.ToFloat64(counts.WithLabelValues("stripe", "lease_renewed")))
	require.Equal(t, 1.0, testutil.ToFloat64(counts.WithLabelValues("stripe", "left_to_claim")))
	rest, err := st.ClaimInbox(ctx, queue, 10, time.Minute)
	require.NoError(t, err)
	require.Empty(t, rest, "what the relay kept stays its own")

	// Events committed together reach memory in whatever order their requests wake: with no
	// lease to renew, they still go in arrival order.
	capture, refund := accept("capture", time.Minute), accept("refund", time.Minute)
	kept = r.stillHeld(ctx, []store.InboxEvent{refund, capture})
	require.Equal(t, []int64{capture.ID, refund.ID}, store.InboxIDs(kept), "in arrival order, none to renew")
}
