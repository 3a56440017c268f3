package kpi

import (
	"math/rand/v2"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// checkCache asserts that byExpiry holds each entry exactly once, in heap order, and that its
// spare capacity keeps no evicted entry alive.
func checkCache[V any](t *testing.T, c *Cache[V]) {
	t.Helper()
	require.Len(t, c.byExpiry, len(c.entries), "one heap item per entry")
	for i, it := range c.byExpiry {
		e := it.e
		require.Equal(t, i, e.index, "index of %s", e.key)
		require.Same(t, c.entries[e.key], e, "heap item of %s is the map's", e.key)
		require.True(t, it.expires.Equal(e.expires), "heap item of %s has its expiry", e.key)
		if i > 0 {
			require.False(t, c.byExpiry.Less(i, (i-1)/2), "heap order at %d", i)
		}
	}
	for _, it := range c.byExpiry[len(c.byExpiry):cap(c.byExpiry)] {
		require.Nil(t, it.e, "evicted entry left in the heap's array")
	}
}

// TestCacheHeapStaysInStep: overwrites and refreshes move an entry's heap item rather than add
// one, so the heap never outgrows the bound or the map however often keys are put again.
func TestCacheHeapStaysInStep(t *testing.T) {
	const max = 10
	for _, tt := range []struct {
		name string
		keys int           // distinct keys put in turn
		step time.Duration // clock advance per put
		ttl  time.Duration
	}{
		{"one key put again and again", 1, time.Second, time.Minute},
		{"as many keys as the bound, all live", max, time.Second, time.Hour},
		{"as many keys as the bound, each expired when put again", max, time.Minute, 5 * time.Second},
		{"more keys than the bound, all live", 3 * max, time.Second, time.Hour},
		{"more keys than the bound, some expired", 3 * max, time.Second, 15 * time.Second},
		{"same instant for every put", 2 * max, 0, time.Minute},
	} {
		t.Run(tt.name, func(t *testing.T) {
			clock := time.Date(2026, 6, 15, 10, 30, 0, 0, time.UTC)
			c := &Cache[int]{TTL: tt.ttl, Max: max, Now: func() time.Time { return clock }}
			for i := range 10000 {
				clock = clock.Add(tt.step)
				c.Put(strconv.Itoa(i%tt.keys), i)
				require.LessOrEqual(t, len(c.byExpiry), max)
			}
			checkCache(t, c)
			require.Equal(t, min(tt.keys, max), len(c.entries), "entries held")
			require.LessOrEqual(t, cap(c.byExpiry), 2*max, "heap array bounded")
		})
	}
}

// TestCacheSweepFreesEntries: a put that sweeps out expired entries leaves none of them
// reachable from the cache, so their values can be collected.
func TestCacheSweepFreesEntries(t *testing.T) {
	clock := time.Date(2026, 6, 15, 10, 30, 0, 0, time.UTC)
	c := &Cache[[]byte]{TTL: time.Minute, Max: 10, Now: func() time.Time { return clock }}
	for i := range 10 {
		c.Put(strconv.Itoa(i), make([]byte, 1<<20))
	}
	clock = clock.Add(2 * time.Minute)
	c.Put("new", nil)
	require.Len(t, c.entries, 1)
	checkCache(t, c)
}

// refCache is the cache before byExpiry, scanning every entry to evict, with ties on expiry
// broken by put order as byExpiry breaks them (the scan took the map's order).
type refCache struct {
	ttl     time.Duration
	max     int
	puts    uint64
	entries map[string]refEntry
}

type refEntry struct {
	v       int
	expires time.Time
	put     uint64
}

func (c *refCache) put(now time.Time, key string, v int) {
	if c.max > 0 && len(c.entries) >= c.max {
		var oldest string
		var found bool
		for k, e := range c.entries {
			if !now.Before(e.expires) {
				delete(c.entries, k)
				continue
			}
			o := c.entries[oldest]
			if !found || e.expires.Before(o.expires) || (e.expires.Equal(o.expires) && e.put < o.put) {
				oldest, found = k, true
			}
		}
		if len(c.entries) >= c.max && found {
			delete(c.entries, oldest)
		}
	}
	c.puts++
	c.entries[key] = refEntry{v: v, expires: now.Add(c.ttl), put: c.puts}
}

// TestCacheMatchesScan: random puts, overwrites, TTL changes and clock moves leave the cache
// holding exactly what the scanning eviction held.
func TestCacheMatchesScan(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	clock := time.Date(2026, 6, 15, 10, 30, 0, 0, time.UTC)
	const max, keys = 8, 20
	c := &Cache[int]{Max: max, Now: func() time.Time { return clock }}
	ref := &refCache{max: max, entries: map[string]refEntry{}}
	for i := range 20000 {
		clock = clock.Add(time.Duration(r.IntN(3)) * time.Second)
		ttl := time.Duration(1+r.IntN(60)) * time.Second
		c.TTL, ref.ttl = ttl, ttl
		k := strconv.Itoa(r.IntN(keys))
		c.Put(k, i)
		ref.put(clock, k, i)
		require.Equal(t, len(ref.entries), c.Len(), "put %d", i)
		for j := range keys {
			k := strconv.Itoa(j)
			v, ok := c.Get(k)
			e, held := ref.entries[k]
			live := held && clock.Before(e.expires)
			require.Equal(t, live, ok, "put %d, key %s", i, k)
			if live {
				require.Equal(t, e.v, v, "put %d, key %s", i, k)
			}
		}
	}
	checkCache(t, c)
}
