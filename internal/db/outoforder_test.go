package db_test

import (
	"context"
	"io/fs"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/stretchr/testify/require"

	"paysplit/internal/db"
	"paysplit/testenv"
)

// migrations is a goose provider of fsys's migrations on the database at url, for tests that
// migrate a database part of the way (db.Migrate always goes all the way).
func migrations(t *testing.T, url string, fsys fs.FS) *goose.Provider {
	t.Helper()
	cfg, err := pgx.ParseConfig(url)
	require.NoError(t, err)
	sqlDB := stdlib.OpenDB(*cfg)
	t.Cleanup(func() { sqlDB.Close() })
	p, err := goose.NewProvider(goose.DialectPostgres, sqlDB, fsys, goose.WithDisableGlobalRegistry(true))
	require.NoError(t, err)
	return p
}

// migratedTo is a new database migrated up to version, as the release before the migration under
// test left it, and a connection to it; db.Migrate then takes it the rest of the way.
func migratedTo(t *testing.T, version int64) (url string, conn *pgx.Conn) {
	t.Helper()
	ctx := t.Context()
	url = testenv.EmptyDatabase(t)
	fsys, err := fs.Sub(db.MigrationsFS, "migrations")
	require.NoError(t, err)
	_, err = migrations(t, url, fsys).UpTo(ctx, version)
	require.NoError(t, err)
	conn, err = pgx.Connect(ctx, url)
	require.NoError(t, err)
	t.Cleanup(func() { conn.Close(context.Background()) })
	return url, conn
}

// Migrate allows out-of-order migrations ("a database that got a higher-numbered one
// first still takes the lower ones it lacks"). 00012 and 00014 both replace monitors_kind_check
// with a full list; 00012's list lacks payout_failed_age. A database that has 00014 but not
// 00012 loses payout_failed_age when Migrate applies 00012 late.
func TestOutOfOrderMigrationKeepsMonitorKinds(t *testing.T) {
	ctx := t.Context()
	url := testenv.EmptyDatabase(t)

	// Every migration but 00012, as a database that took 00014's feature first would have.
	sub, err := fs.Sub(db.MigrationsFS, "migrations")
	require.NoError(t, err)
	files, err := fs.Glob(sub, "*.sql")
	require.NoError(t, err)
	partial := fstest.MapFS{}
	for _, f := range files {
		if strings.HasPrefix(f, "00012_") {
			continue
		}
		b, err := fs.ReadFile(sub, f)
		require.NoError(t, err)
		partial[f] = &fstest.MapFile{Data: b}
	}
	_, err = migrations(t, url, partial).Up(ctx)
	require.NoError(t, err)

	// An admin creates a payout_failed_age monitor (allowed by 00014).
	conn, err := pgx.Connect(ctx, url)
	require.NoError(t, err)
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, `INSERT INTO monitors (name, kind, params) VALUES ('pf', 'payout_failed_age', '{"hours": 4}')`)
	require.NoError(t, err)

	// The next deploy runs Migrate, which applies 00012 out of order.
	require.NoError(t, db.Migrate(ctx, url), "Migrate must not fail on a database holding a payout_failed_age monitor")
	_, err = conn.Exec(ctx, `INSERT INTO monitors (name, kind, params) VALUES ('pf2', 'payout_failed_age', '{"hours": 4}')`)
	require.NoError(t, err, "payout_failed_age monitors must still be accepted after Migrate")
}
