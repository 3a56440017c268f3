package kpi_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"paysplit/internal/kpi"
)

// TestCacheEvictionOrder pins which entry a put into a full cache evicts: every expired entry,
// else the one closest to expiry (not the one put first), with an overwrite counting from its
// own time and TTL.
func TestCacheEvictionOrder(t *testing.T) {
	type put struct {
		at  time.Duration // after now
		ttl time.Duration // 0 is a minute
		key string
	}
	for _, tt := range []struct {
		name    string
		max     int
		puts    []put
		kept    []string
		evicted []string
	}{
		{
			name: "every expired entry goes, the live one stays",
			max:  3,
			puts: []put{{0, 0, "a"}, {0, 0, "b"}, {50 * time.Second, 0, "c"}, {70 * time.Second, 0, "d"}},
			kept: []string{"c", "d"}, evicted: []string{"a", "b"},
		},
		{
			name: "an expired entry goes before a live one put earlier",
			max:  2,
			puts: []put{{0, 10 * time.Minute, "a"}, {time.Second, 0, "b"}, {2 * time.Minute, 0, "c"}},
			kept: []string{"a", "c"}, evicted: []string{"b"},
		},
		{
			name: "none expired: the closest to expiry goes, not the first put",
			max:  3,
			puts: []put{{0, 10 * time.Minute, "a"}, {time.Second, 0, "b"}, {2 * time.Second, 10 * time.Minute, "c"}, {3 * time.Second, 0, "d"}},
			kept: []string{"a", "c", "d"}, evicted: []string{"b"},
		},
		{
			name: "same expiry: the first put goes",
			max:  2,
			puts: []put{{0, 0, "a"}, {0, 0, "b"}, {0, 0, "c"}},
			kept: []string{"b", "c"}, evicted: []string{"a"},
		},
		{
			name: "an overwrite before full pushes its expiry back",
			max:  3,
			puts: []put{{0, 0, "a"}, {time.Second, 0, "b"}, {2 * time.Second, 0, "a"}, {3 * time.Second, 0, "c"}, {4 * time.Second, 0, "d"}},
			kept: []string{"a", "c", "d"}, evicted: []string{"b"},
		},
		{
			// A put into a full cache evicts first, even for a key it holds.
			name: "an overwrite when full pushes its expiry back",
			max:  3,
			puts: []put{{0, 0, "a"}, {time.Second, 0, "b"}, {2 * time.Second, 0, "c"}, {3 * time.Second, 0, "a"}, {4 * time.Second, 0, "d"}},
			kept: []string{"a", "c", "d"}, evicted: []string{"b"},
		},
		{
			name: "an overwrite with a shorter TTL brings its expiry forward",
			max:  3,
			puts: []put{{0, 10 * time.Minute, "a"}, {time.Second, 10 * time.Minute, "b"}, {2 * time.Second, time.Minute, "b"}, {3 * time.Second, 10 * time.Minute, "c"}, {4 * time.Second, 10 * time.Minute, "d"}},
			kept: []string{"a", "c", "d"}, evicted: []string{"b"},
		},
		{
			name: "an overwrite of an expired entry makes it live again",
			max:  3,
			puts: []put{{0, 0, "a"}, {time.Second, 0, "b"}, {2 * time.Minute, 0, "a"}, {2*time.Minute + time.Second, 0, "c"}, {2*time.Minute + 2*time.Second, 0, "d"}},
			kept: []string{"a", "c", "d"}, evicted: []string{"b"},
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			clock := now
			c := &kpi.Cache[string]{Max: tt.max, Now: func() time.Time { return clock }}
			for _, p := range tt.puts {
				clock = now.Add(p.at)
				c.TTL = p.ttl
				if c.TTL == 0 {
					c.TTL = time.Minute
				}
				c.Put(p.key, p.key+"@"+p.at.String())
				require.LessOrEqual(t, c.Len(), tt.max)
			}
			for _, k := range tt.kept {
				_, ok := c.Get(k)
				require.True(t, ok, "%s kept", k)
			}
			for _, k := range tt.evicted {
				_, ok := c.Get(k)
				require.False(t, ok, "%s evicted", k)
			}
			require.Equal(t, len(tt.kept), c.Len(), "only the kept entries are held")
		})
	}
}

// TestCacheOverwriteKeepsValue: the latest put of a key is what Get returns.
func TestCacheOverwriteKeepsValue(t *testing.T) {
	c := &kpi.Cache[int]{TTL: time.Minute, Max: 2, Now: func() time.Time { return now }}
	c.Put("a", 1)
	c.Put("a", 2)
	v, ok := c.Get("a")
	require.True(t, ok)
	require.Equal(t, 2, v)
	require.Equal(t, 1, c.Len())
}
