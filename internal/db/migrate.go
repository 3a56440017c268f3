package db

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"log/slog"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
)

//go:embed migrations/*.sql
var migrationsFS embed.FS

// Lock polling: goose's default 5s interval would make every extra replica
// that starts alongside the first one sit idle for seconds; 1s (goose's minimum)
// x 300 keeps the same 5 minute ceiling for a slow migration held by another
// process.
const (
	lockPollSeconds = 1
	lockPollTries   = 300
)

// Migrate applies every pending embedded migration. Several processes (API
// replicas, workers, test binaries) may call it at the same time: a Postgres
// session-level advisory lock makes them take turns, so each migration runs
// exactly once and latecomers find nothing pending.
func Migrate(ctx context.Context, url string) error {
	// Parsed as a pool URL: pool settings such as pool_max_conns are the pool's, and pgx alone
	// would send them to the server as runtime parameters it refuses.
	poolCfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return fmt.Errorf("db: migrate: parse connection url: %w", err)
	}
	connCfg := poolCfg.ConnConfig
	boundConnect(&connCfg.Config, url)
	sqlDB := stdlib.OpenDB(*connCfg)
	defer sqlDB.Close()

	fsys, err := fs.Sub(migrationsFS, "migrations")
	if err != nil {
		return fmt.Errorf("db: migrate: open embedded migrations: %w", err)
	}
	locker, err := lock.NewPostgresSessionLocker(lock.WithLockTimeout(lockPollSeconds, lockPollTries))
	if err != nil {
		return fmt.Errorf("db: migrate: create session locker: %w", err)
	}
	provider, err := goose.NewProvider(goose.DialectPostgres, sqlDB, fsys,
		goose.WithSessionLocker(locker),
		// Only the embedded SQL files define the schema; a stray goose.AddMigration
		// elsewhere in the binary must not sneak in.
		goose.WithDisableGlobalRegistry(true),
		// Features land in parallel and their migrations are independent: a database that got a
		// higher-numbered one first still takes the lower ones it lacks, instead of refusing.
		goose.WithAllowOutofOrder(true),
	)
	if err != nil {
		return fmt.Errorf("db: migrate: create goose provider: %w", err)
	}
	results, err := provider.Up(ctx)
	if err != nil {
		return fmt.Errorf("db: migrate %s: %w", connCfg.Database, err)
	}
	for _, r := range results {
		slog.InfoContext(ctx, "db: migration applied",
			"database", connCfg.Database, "migration", r.Source.Path, "duration", r.Duration)
	}
	return nil
}
