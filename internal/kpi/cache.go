package kpi

import (
	"container/heap"
	"sync"
	"time"
)

// Cache keeps answers for a short time, so a dashboard reloading a 90-day chart does not ask the
// sources again each time. It is per process: API replicas each keep their own.
type Cache[V any] struct {
	TTL time.Duration
	// Max bounds the entries; when full, expired entries go first, then the one closest to
	// expiry (the oldest while TTL is unchanged; of those expiring together, the first put).
	Max int
	Now func() time.Time

	mu      sync.Mutex
	entries map[string]*cacheEntry[V]
	// byExpiry holds each entry of entries once, soonest expiry on top, so a put into a full
	// cache finds what to evict without scanning every entry under the lock that every read
	// takes (at the API's 40,000 entries, a year-long range took that lock for a quarter of a
	// second).
	byExpiry expiryHeap[V]
	// puts orders entries that expire at the same instant, oldest put first, so such ties
	// are evicted in a fixed order rather than the map's.
	puts uint64
}

type cacheEntry[V any] struct {
	key     string
	v       V
	expires time.Time
	put     uint64
	// index is the entry's place in byExpiry, so an overwrite moves it rather than adding a
	// second item that would outlive it.
	index int
}

// expiryItem copies its entry's order into the heap's array: comparing through the entry
// pointers cost a cache miss a level, most of a put's time at 40,000 entries. Push and Pop
// still pass the entry pointer, as boxing an item in an interface would allocate.
type expiryItem[V any] struct {
	expires time.Time
	put     uint64
	e       *cacheEntry[V]
}

func (c *Cache[V]) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

// Get returns a live entry.
func (c *Cache[V]) Get(key string) (V, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[key]
	if !ok || !c.now().Before(e.expires) {
		var zero V
		return zero, false
	}
	return e.v, true
}

// Put stores v for TTL; a zero TTL stores nothing.
func (c *Cache[V]) Put(key string, v V) {
	if c.TTL <= 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.entries == nil {
		c.entries = map[string]*cacheEntry[V]{}
	}
	now := c.now()
	// Full, a put evicts even for a key it holds, as the cache always has: the entry evicted
	// may be that key's, which is then put anew.
	if c.Max > 0 && len(c.entries) >= c.Max {
		c.evict(now)
	}
	c.puts++
	if e, ok := c.entries[key]; ok {
		e.v, e.expires, e.put = v, now.Add(c.TTL), c.puts
		c.byExpiry[e.index] = expiryItem[V]{expires: e.expires, put: e.put, e: e}
		heap.Fix(&c.byExpiry, e.index)
		return
	}
	e := &cacheEntry[V]{key: key, v: v, expires: now.Add(c.TTL), put: c.puts}
	c.entries[key] = e
	heap.Push(&c.byExpiry, e)
}

// evict drops expired entries, or the one closest to expiry when none has expired.
func (c *Cache[V]) evict(now time.Time) {
	for len(c.byExpiry) > 0 && !now.Before(c.byExpiry[0].expires) {
		c.drop()
	}
	if len(c.entries) >= c.Max && len(c.byExpiry) > 0 {
		c.drop()
	}
}

// drop removes the entry closest to expiry.
func (c *Cache[V]) drop() {
	e := heap.Pop(&c.byExpiry).(*cacheEntry[V])
	delete(c.entries, e.key)
}

// Len is the number of entries held, live or not.
func (c *Cache[V]) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.entries)
}

// expiryHeap is a container/heap of entries, soonest expiry first.
type expiryHeap[V any] []expiryItem[V]

func (h expiryHeap[V]) Len() int { return len(h) }

func (h expiryHeap[V]) Less(i, j int) bool {
	if !h[i].expires.Equal(h[j].expires) {
		return h[i].expires.Before(h[j].expires)
	}
	return h[i].put < h[j].put
}

func (h expiryHeap[V]) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].e.index, h[j].e.index = i, j
}

func (h *expiryHeap[V]) Push(x any) {
	e := x.(*cacheEntry[V])
	e.index = len(*h)
	*h = append(*h, expiryItem[V]{expires: e.expires, put: e.put, e: e})
}

func (h *expiryHeap[V]) Pop() any {
	old := *h
	n := len(old) - 1
	it := old[n]
	// Cleared so the backing array does not keep an evicted entry's value alive.
	old[n] = expiryItem[V]{}
	*h = old[:n]
	return it.e
}
