// Package app holds the start-up steps both programs share: logging, configuration, the database.
package app

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"runtime/debug"

	"github.com/jackc/pgx/v5/pgxpool"

	"paysplit/internal/config"
	"paysplit/internal/db"
)

// Logger is the JSON logger both programs write with.
func Logger() *slog.Logger {
	return slog.New(slog.NewJSONHandler(os.Stdout, &slog.HandlerOptions{Level: slog.LevelInfo}))
}

// TuneGC applies the configured garbage-collector settings: GO_GC_PERCENT in place of Go's GOGC,
// and GO_MEMORY_LIMIT_MIB, when set, in place of GOMEMLIMIT.
func TuneGC(cfg config.Config) {
	debug.SetGCPercent(cfg.GCPercent)
	if cfg.MemoryLimitMiB > 0 {
		debug.SetMemoryLimit(int64(cfg.MemoryLimitMiB) << 20)
	}
}

// MustConfig loads the configuration or exits with the one line that names what is wrong.
func MustConfig() config.Config {
	cfg, err := config.Load()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	return cfg
}

// Database migrates the schema (safe from several processes at once) and opens a pool.
func Database(ctx context.Context, url string) (*pgxpool.Pool, error) {
	if err := db.Migrate(ctx, url); err != nil {
		return nil, fmt.Errorf("migrate database: %w", err)
	}
	pool, err := db.Connect(ctx, url)
	if err != nil {
		return nil, fmt.Errorf("connect database: %w", err)
	}
	return pool, nil
}
