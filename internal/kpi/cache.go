package kpi

import (
	"sync"
	"time"
)

// Cache keeps answers for a short time, so a dashboard reloading a 90-day chart does not ask the
// sources again each time. It is per process: API replicas each keep their own.
type Cache[V any] struct {
	TTL time.Duration
	// Max bounds the entries; when full, expired entries go first, then the oldest.
	Max int
	Now func() time.Time

	mu      sync.Mutex
	entries map[string]cacheEntry[V]
}

type cacheEntry[V any] struct {
	v       V
	expires time.Time
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
		c.entries = map[string]cacheEntry[V]{}
	}
	now := c.now()
	if c.Max > 0 && len(c.entries) >= c.Max {
		c.evict(now)
	}
	c.entries[key] = cacheEntry[V]{v: v, expires: now.Add(c.TTL)}
}

// evict drops expired entries, or the one closest to expiry when none has expired.
func (c *Cache[V]) evict(now time.Time) {
	var oldest string
	var oldestAt time.Time
	for k, e := range c.entries {
		if !now.Before(e.expires) {
			delete(c.entries, k)
			continue
		}
		if oldest == "" || e.expires.Before(oldestAt) {
			oldest, oldestAt = k, e.expires
		}
	}
	if len(c.entries) >= c.Max && oldest != "" {
		delete(c.entries, oldest)
	}
}

// Len is the number of entries held, live or not.
func (c *Cache[V]) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.entries)
}
