package app

import (
	"math"
	"runtime/debug"
	"testing"

	"paysplit/internal/config"
)

// TestTuneGC checks that the configured target and limit reach the runtime, and that a limit of
// 0 leaves the runtime's own (GOMEMLIMIT, or none) in place.
func TestTuneGC(t *testing.T) {
	prevPercent := debug.SetGCPercent(100)
	prevLimit := debug.SetMemoryLimit(math.MaxInt64)
	t.Cleanup(func() {
		debug.SetGCPercent(prevPercent)
		debug.SetMemoryLimit(prevLimit)
	})
	tests := []struct {
		name        string
		cfg         config.Config
		wantPercent int
		wantLimit   int64
	}{
		{"target and limit", config.Config{GCPercent: 250, MemoryLimitMiB: 123}, 250, 123 << 20},
		{"no limit", config.Config{GCPercent: 150}, 150, math.MaxInt64},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			debug.SetGCPercent(100)
			debug.SetMemoryLimit(math.MaxInt64)
			TuneGC(tt.cfg)
			if got := debug.SetGCPercent(100); got != tt.wantPercent {
				t.Errorf("GC percent = %d, want %d", got, tt.wantPercent)
			}
			if got := debug.SetMemoryLimit(-1); got != tt.wantLimit {
				t.Errorf("memory limit = %d, want %d", got, tt.wantLimit)
			}
		})
	}
}
