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
	require.Equal(t, []int64{1, 2, 3}, inboxIDs(first))
	second := r.gather(<-r.local)
	require.Equal(t, []int64{4, 5}, inboxIDs(second))
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
	r.deliver = func(ctx context.Context, _, _ string, _ payment.Event) (string, error) {
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
