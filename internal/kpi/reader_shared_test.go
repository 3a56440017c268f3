package kpi_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"paysplit/internal/kpi"
	"paysplit/internal/money"
)

// stalledTraffic answers only once released, or fails when its context ends first.
type stalledTraffic struct {
	calls   atomic.Int32
	entered chan struct{}
	release chan struct{}
}

func (f *stalledTraffic) Name() string { return kpi.SourceGA4 }

func (f *stalledTraffic) TrafficDays(ctx context.Context, from, to time.Time) ([]kpi.TrafficDay, error) {
	if f.calls.Add(1) == 1 {
		close(f.entered)
	}
	select {
	case <-f.release:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	var out []kpi.TrafficDay
	for _, d := range kpi.Days(from, to) {
		out = append(out, kpi.TrafficDay{Day: d, Traffic: kpi.Traffic{Visitors: 3}})
	}
	return out, nil
}

func (f *stalledTraffic) TrafficHours(context.Context, time.Time) ([]kpi.TrafficHour, error) {
	return nil, nil
}

// TestReaderSharedFetchOutlivesItsCallers: requests for the same days share one call to a source
// (a slow one: a year of a platform account's charges is many pages). A request whose client
// gives up returns at once instead of staying parked on that call, so a slow or stalled source
// does not pile up the goroutines of every request that came and went meanwhile; and the call
// does not die with the request that happened to start it, which failed every other request
// sharing it and left nothing cached for the next.
func TestReaderSharedFetchOutlivesItsCallers(t *testing.T) {
	src := &stalledTraffic{entered: make(chan struct{}), release: make(chan struct{})}
	cache := &kpi.Cache[[]kpi.Day]{TTL: time.Minute, Now: func() time.Time { return now }}
	r := &kpi.Reader{
		Hot: &fakeHot{}, RetentionDays: 7, StaleAfter: time.Hour, Now: func() time.Time { return now },
		Cold:  func(context.Context, string) (kpi.Sources, error) { return kpi.Sources{Traffic: src}, nil },
		Cache: cache,
	}
	series := func(ctx context.Context) <-chan kpi.Series {
		out := make(chan kpi.Series, 1)
		go func() {
			s, err := r.Series(ctx, "c", money.USD, day("2026-05-01"), day("2026-05-10"))
			if err == nil {
				out <- s
			}
			close(out)
		}()
		return out
	}
	returned := func(t *testing.T, ch <-chan kpi.Series, who string) {
		t.Helper()
		select {
		case <-ch:
		case <-time.After(5 * time.Second): // bounded, so the test fails instead of hanging
			t.Fatalf("%s is still waiting on the shared call after its context ended", who)
		}
	}

	first, cancelFirst := context.WithCancel(t.Context())
	defer cancelFirst()
	firstDone := series(first)
	<-src.entered

	later, cancelLater := context.WithCancel(t.Context())
	laterDone := series(later)
	cancelLater()
	returned(t, laterDone, "a request that joined the call")

	cancelFirst()
	returned(t, firstDone, "the request that started the call")

	// The call goes on without them, and what it brings is kept for the next request.
	close(src.release)
	for deadline := time.Now().Add(5 * time.Second); cache.Len() == 0 && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
	s, err := r.Series(t.Context(), "c", money.USD, day("2026-05-01"), day("2026-05-10"))
	require.NoError(t, err)
	require.Empty(t, s.ColdErrors)
	require.EqualValues(t, 1, src.calls.Load(), "the next request is answered from what the shared call brought")
	for _, d := range s.Days {
		require.NotNil(t, d.Traffic, d.Day)
	}
}
