package kpi

import (
	"context"
	"time"

	"golang.org/x/sync/singleflight"
)

// CounterFor returns the client's analytics as a VisitorCounter (kpisrc.Factory.VisitorCounter:
// GA4 of the property its settings name); ErrNotConfigured when the client has no analytics.
type CounterFor func(ctx context.Context, clientID string) (VisitorCounter, error)

// RangeVisitors serves a range's distinct visitors, which the stored days cannot give (a day's
// visitors do not add up across days): asked of the client's analytics, each answer cached per
// client, source (its property: Keyed) and range for the cache's TTL (KPI_CACHE_TTL, as fetched
// days are), concurrent asks for the same range sharing one call. A failure is not cached, so
// the next ask tries again.
type RangeVisitors struct {
	Counter CounterFor
	// Cache keeps the answers; nil caches nothing.
	Cache *Cache[VisitorCount]

	flight singleflight.Group
}

// Distinct returns the client's distinct visitors from from to to. A caller that gives up (its
// context ends) leaves the shared call running for the others, bounded by sharedFetchTimeout.
func (r *RangeVisitors) Distinct(ctx context.Context, clientID string, from, to time.Time) (VisitorCount, error) {
	from, to = DayOf(from), DayOf(to)
	// The counter is built from the settings first, so the key names the property asked now.
	counter, err := r.Counter(ctx, clientID)
	if err != nil {
		return VisitorCount{}, err
	}
	key := clientID + "/" + cacheName(SourceGA4, counter) + "/" + from.Format(time.DateOnly) + "/" + to.Format(time.DateOnly)
	if r.Cache != nil {
		if n, ok := r.Cache.Get(key); ok {
			return n, nil
		}
	}
	ch := r.flight.DoChan(key, func() (any, error) {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), sharedFetchTimeout)
		defer cancel()
		n, err := counter.DistinctVisitors(cctx, from, to)
		if err == nil && r.Cache != nil {
			r.Cache.Put(key, n)
		}
		return n, err
	})
	select {
	case res := <-ch:
		if res.Err != nil {
			return VisitorCount{}, res.Err
		}
		return res.Val.(VisitorCount), nil
	case <-ctx.Done():
		return VisitorCount{}, ctx.Err()
	}
}
