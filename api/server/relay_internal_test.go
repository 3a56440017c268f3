package server

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"paysplit/internal/store"
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
	require.Equal(t, []int64{1, 2, 3}, ids(first))
	second := r.gather(<-r.local)
	require.Equal(t, []int64{4, 5}, ids(second))
	require.Empty(t, r.slots, "every slot is free again")
}

func ids(es []store.InboxEvent) []int64 {
	var out []int64
	for _, e := range es {
		out = append(out, e.ID)
	}
	return out
}
