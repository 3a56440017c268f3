package kpi

import (
	"context"
	"time"

	"golang.org/x/sync/singleflight"
)

// DistinctCount counts a client's distinct visitors from from to to, each person once however
// many of the days they came (kpisrc.Factory.DistinctVisitors: GA4 without the date dimension);
// ErrNotConfigured when the client has no analytics.
type DistinctCount func(ctx context.Context, clientID string, from, to time.Time) (int64, error)

// RangeVisitors serves a range's distinct visitors, which the stored days cannot give (a day's
// visitors do not add up across days): asked of the client's analytics, each answer cached per
// client and range for the cache's TTL (KPI_CACHE_TTL, as fetched days are), concurrent asks for
// the same range sharing one call. A failure is not cached, so the next ask tries again.
type RangeVisitors struct {
	Count DistinctCount
	// Cache keeps the answers; nil caches nothing.
	Cache *Cache[int64]

	flight singleflight.Group
}

// Distinct returns the client's distinct visitors from from to to. A caller that gives up (its
// context ends) leaves the shared call running for the others, bounded by sharedFetchTimeout.
func (r *RangeVisitors) Distinct(ctx context.Context, clientID string, from, to time.Time) (int64, error) {
	from, to = DayOf(from), DayOf(to)
	key := clientID + "/" + from.Format(time.DateOnly) + "/" + to.Format(time.DateOnly)
	if r.Cache != nil {
		if n, ok := r.Cache.Get(key); ok {
			return n, nil
		}
	}
	ch := r.flight.DoChan(key, func() (any, error) {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), sharedFetchTimeout)
		defer cancel()
		n, err := r.Count(cctx, clientID, from, to)
		if err == nil && r.Cache != nil {
			r.Cache.Put(key, n)
		}
		return n, err
	})
	select {
	case res := <-ch:
		if res.Err != nil {
			return 0, res.Err
		}
		return res.Val.(int64), nil
	case <-ctx.Done():
		return 0, ctx.Err()
	}
}
