// Package db owns the Postgres connection pool and the schema migrations.
package db

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// defaultMaxConns is the pool size when the URL does not set pool_max_conns.
const defaultMaxConns = 16

// defaultConnectTimeout bounds one connection attempt (dial, TLS, startup, authentication) when
// neither the URL's connect_timeout nor PGCONNECT_TIMEOUT sets a bound. pgx's own default is none:
// a server that takes the TCP connection and never answers held the programs at start, before
// they served /healthz, without a word.
const defaultConnectTimeout = 10 * time.Second

// boundConnect gives cfg the default connect timeout unless url or the environment sets one.
func boundConnect(cfg *pgconn.Config, url string) {
	if cfg.ConnectTimeout == 0 && !strings.Contains(url, "connect_timeout") && os.Getenv("PGCONNECT_TIMEOUT") == "" {
		cfg.ConnectTimeout = defaultConnectTimeout
	}
}

// Connect opens a pool and pings it, so a wrong URL or a down server fails at
// startup instead of on the first request.
func Connect(ctx context.Context, url string) (*pgxpool.Pool, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("db: parse connection url: %w", err)
	}
	boundConnect(&cfg.ConnConfig.Config, url)
	if !strings.Contains(url, "pool_max_conns") {
		// pgx's default (4 on two cores) starves a worker running dozens of payments' steps at
		// once; ?pool_max_conns= in the URL still decides.
		cfg.MaxConns = defaultMaxConns
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("db: create pool: %w", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("db: ping %s@%s:%d/%s: %w",
			cfg.ConnConfig.User, cfg.ConnConfig.Host, cfg.ConnConfig.Port, cfg.ConnConfig.Database, err)
	}
	return pool, nil
}
