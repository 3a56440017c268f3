package kpi

import (
	"context"
	"fmt"

	"golang.org/x/sync/singleflight"
)

// Limiter caps how many listings of the platform's provider accounts run at once in the process,
// whichever clients they are for: Stripe's rate limit is per account, and the payment workflows
// capturing, refunding and paying out on the same account must not meet 429s because dashboards
// page through a year of charges. A nil Limiter caps nothing.
type Limiter chan struct{}

// NewLimiter lets n listings run at once.
func NewLimiter(n int) Limiter { return make(Limiter, max(n, 1)) }

// acquire waits for a slot until ctx ends; the caller then answers as the source failing.
func (l Limiter) acquire(ctx context.Context) (release func(), err error) {
	if l == nil {
		return func() {}, nil
	}
	select {
	case l <- struct{}{}:
		return func() { <-l }, nil
	case <-ctx.Done():
		return nil, fmt.Errorf("waiting for a provider listing slot: %w", ctx.Err())
	}
}

// Listings shares what a provider lists of the whole platform account between the clients whose
// revenue is filtered from it. The Reader's cache is per client, so each client's request listed
// every client's charges again: 40 clients asking for the same year paged through the account 40
// times. A listing is kept for Cache's TTL (the API's KPI_CACHE_TTL, as the days the Reader
// keeps, so a client's figures are no older than they were), concurrent callers for the same key
// share one listing, and listings run under Limit.
type Listings[V any] struct {
	// Cache keeps listings by key; nil keeps none (concurrent callers still share one).
	Cache *Cache[V]
	Limit Limiter

	flight singleflight.Group
}

// Get returns the listing under key, from the cache or from list. The shared listing runs on
// ctx without its cancellation, bounded by sharedFetchTimeout, so a caller that leaves neither
// fails the others sharing it nor wastes what was listed; a caller whose ctx ends stops waiting.
func (l *Listings[V]) Get(ctx context.Context, key string, list func(ctx context.Context) (V, error)) (V, error) {
	var zero V
	if v, ok := l.cached(key); ok {
		return v, nil
	}
	call := l.flight.DoChan(key, func() (any, error) {
		// A listing that ended between the look-up above and this call has put its answer.
		if v, ok := l.cached(key); ok {
			return v, nil
		}
		lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), sharedFetchTimeout)
		defer cancel()
		release, err := l.Limit.acquire(lctx)
		if err != nil {
			return nil, err
		}
		defer release()
		v, err := list(lctx)
		if err != nil {
			return nil, err
		}
		if l.Cache != nil {
			l.Cache.Put(key, v)
		}
		return v, nil
	})
	select {
	case res := <-call:
		if res.Err != nil {
			return zero, res.Err
		}
		return res.Val.(V), nil
	case <-ctx.Done():
		return zero, fmt.Errorf("waiting for a provider listing: %w", ctx.Err())
	}
}

func (l *Listings[V]) cached(key string) (V, bool) {
	if l.Cache == nil {
		var zero V
		return zero, false
	}
	return l.Cache.Get(key)
}
