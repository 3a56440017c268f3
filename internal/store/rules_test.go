package store_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"paysplit/internal/store"
	"paysplit/testenv"
)

// TestRuleAtPicksTheVersionInForceAtCapture: a payment takes the newest rule version created at or
// before its capture (from the start of the second the version was created in, as provider times
// have seconds only), whenever it is split: one captured before an edit and split after keeps the
// older version, one captured after takes the new one, and one captured before the client had any
// rule takes its first. The versions' times are written as an admin would have made them hours
// apart (rules are never updated, so the rows are inserted with their times).
func TestRuleAtPicksTheVersionInForceAtCapture(t *testing.T) {
	pool, _ := testenv.Postgres(t)
	s := store.New(pool)
	ctx := t.Context()
	c := newClient(t, s, "ruleat")
	t0 := time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC)
	for v, at := range map[int]time.Time{
		1: t0.Add(700 * time.Millisecond),
		2: t0.Add(time.Hour + 700*time.Millisecond),
		3: t0.Add(2 * time.Hour),
	} {
		_, err := pool.Exec(ctx, `INSERT INTO split_rules (client_id, version, platform_bps, affiliate_bps, created_by, created_at)
			VALUES ($1, $2, $3, 0, 'admin:test', $4)`, c, v, 1000*v, at)
		require.NoError(t, err)
	}
	tests := []struct {
		name     string
		captured time.Time
		version  int
	}{
		{"before any rule: the first", t0.Add(-24 * time.Hour), 1},
		{"in the second v1 was made", t0, 1},
		{"between v1 and v2", t0.Add(30 * time.Minute), 1},
		{"the last moment before v2's second", t0.Add(time.Hour - time.Nanosecond), 1},
		{"in the second v2 was made", t0.Add(time.Hour), 2},
		{"between v2 and v3", t0.Add(90 * time.Minute), 2},
		{"when v3 was made", t0.Add(2 * time.Hour), 3},
		{"long after", t0.Add(48 * time.Hour), 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := s.RuleAt(ctx, c, tt.captured)
			require.NoError(t, err)
			require.Equal(t, tt.version, r.Version)
			require.EqualValues(t, 1000*tt.version, r.PlatformBps)
		})
	}
	_, err := s.RuleAt(ctx, newClient(t, s, "ruleat-none"), t0)
	require.ErrorIs(t, err, store.ErrNotFound, "a client without a rule has none in force")
}
