package kpi_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"paysplit/internal/kpi"
)

// TestListingsCapConcurrentListings: listings of the platform's accounts run at most Limit at
// once, whatever their keys; a caller that cannot get a slot before its context ends gets an
// error (the Reader shows the source as failed, as for any source error), and the listing
// holding the slot, once done, serves later callers from the cache without listing again.
func TestListingsCapConcurrentListings(t *testing.T) {
	l := &kpi.Listings[int]{Cache: &kpi.Cache[int]{TTL: 1 << 62}, Limit: kpi.NewLimiter(1)}
	var lists, listsB atomic.Int32
	started, release := make(chan struct{}), make(chan struct{})
	done := make(chan error, 1)
	go func() {
		_, err := l.Get(t.Context(), "a", func(context.Context) (int, error) {
			lists.Add(1)
			close(started)
			<-release
			return 7, nil
		})
		done <- err
	}()
	<-started

	// The only slot is taken: this caller gives up when its context ends, never listing.
	ctx, cancel := context.WithCancel(t.Context())
	waiting := make(chan error, 1)
	go func() {
		_, err := l.Get(ctx, "b", func(context.Context) (int, error) {
			listsB.Add(1)
			return 8, nil
		})
		waiting <- err
	}()
	cancel()
	err := <-waiting
	require.ErrorIs(t, err, context.Canceled)
	require.Zero(t, listsB.Load(), "listed while another listing held the only slot")

	close(release)
	require.NoError(t, <-done)
	v, err := l.Get(t.Context(), "a", func(context.Context) (int, error) {
		return 0, errors.New("listed again")
	})
	require.NoError(t, err)
	require.Equal(t, 7, v)
	require.Equal(t, int32(1), lists.Load())
}
