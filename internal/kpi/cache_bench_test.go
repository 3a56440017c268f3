package kpi_test

import (
	"strconv"
	"testing"
	"time"

	"paysplit/internal/kpi"
)

// benchMax is the API's bound (api.kpiCacheEntries).
const benchMax = 40000

// fullCache is a cache at its bound with live entries only, each expiring a little after the
// last, as a busy API's would be; keys are made up front so the loop measures the cache alone.
func fullCache(b *testing.B) (*kpi.Cache[[]kpi.Day], *time.Time, []string) {
	clock := now
	c := &kpi.Cache[[]kpi.Day]{TTL: 5 * time.Minute, Max: benchMax, Now: func() time.Time { return clock }}
	// Twice the bound: the key put next is never one the cache still holds, so each put evicts.
	keys := make([]string, 2*benchMax)
	for i := range keys {
		keys[i] = "revenue/client-" + strconv.Itoa(i%40) + "/stripe/EUR/" + strconv.Itoa(i)
	}
	for _, k := range keys[:benchMax] {
		clock = clock.Add(time.Millisecond)
		c.Put(k, nil)
	}
	return c, &clock, keys
}

// BenchmarkCachePutFull is one new day put into a full cache of live entries.
func BenchmarkCachePutFull(b *testing.B) {
	c, clock, keys := fullCache(b)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		*clock = clock.Add(time.Millisecond)
		c.Put(keys[(benchMax+i)%len(keys)], nil)
	}
}

// BenchmarkCachePutYearFull is a year-long range fetched into a full cache: 365 day entries.
func BenchmarkCachePutYearFull(b *testing.B) {
	c, clock, keys := fullCache(b)
	b.ReportAllocs()
	b.ResetTimer()
	i := 0
	for b.Loop() {
		*clock = clock.Add(time.Millisecond)
		for range 365 {
			c.Put(keys[(benchMax+i)%len(keys)], nil)
			i++
		}
	}
}
