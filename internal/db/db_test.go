package db_test

import (
	"context"
	"database/sql"
	"io/fs"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/database"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"paysplit/internal/db"
	"paysplit/testenv"
)

func TestConnect(t *testing.T) {
	_, url := testenv.Postgres(t)
	tests := []struct {
		name    string
		url     string
		wantErr bool
	}{
		{name: "reachable database", url: url},
		// Port 1 is never Postgres: Connect must fail at startup, not on first use.
		{name: "unreachable server", url: "postgres://postgres@127.0.0.1:1/x?sslmode=disable&connect_timeout=2", wantErr: true},
		{name: "malformed url", url: "postgres://%zz", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
			defer cancel()
			pool, err := db.Connect(ctx, tt.url)
			if tt.wantErr {
				require.Error(t, err)
				require.Nil(t, pool)
				return
			}
			require.NoError(t, err)
			defer pool.Close()
			var one int
			require.NoError(t, pool.QueryRow(ctx, "SELECT 1").Scan(&one))
			require.Equal(t, 1, one)
		})
	}
}

// Several replicas start at once against a fresh database: the advisory lock
// must serialise them so every migration runs exactly once and nobody fails.
func TestMigrateConcurrently(t *testing.T) {
	tests := []struct {
		name string
		// prepare runs before the migrators start. With the version table
		// already there (an earlier release ran goose), goose's own retry
		// around creating that table no longer staggers the migrators, so
		// only the session lock stands between them and applying
		// 00001 several times at once.
		prepare func(t *testing.T, ctx context.Context, url string)
	}{
		{name: "fresh database", prepare: func(*testing.T, context.Context, string) {}},
		{name: "version table already present", prepare: createVersionTable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			url := testenv.EmptyDatabase(t)
			ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
			defer cancel()
			tt.prepare(t, ctx, url)

			const migrators = 5
			errs := make([]error, migrators)
			start := make(chan struct{})
			var wg sync.WaitGroup
			for i := range migrators {
				wg.Go(func() {
					<-start
					errs[i] = db.Migrate(ctx, url) // each call opens its own *sql.DB
				})
			}
			close(start)
			wg.Wait()
			for i, err := range errs {
				require.NoError(t, err, "migrator %d", i)
			}

			conn, err := pgx.Connect(ctx, url)
			require.NoError(t, err)
			defer conn.Close(ctx)
			assertAppliedOnce(t, ctx, conn)

			for _, table := range []string{"journal_entries", "postings"} {
				var reg sql.NullString
				require.NoError(t, conn.QueryRow(ctx, "SELECT to_regclass($1)::text", table).Scan(&reg))
				assert.True(t, reg.Valid, "table %s exists", table)
			}

			// A later start (rolling deploy) finds nothing pending and changes nothing.
			require.NoError(t, db.Migrate(ctx, url))
			assertAppliedOnce(t, ctx, conn)
		})
	}
}

func createVersionTable(t *testing.T, ctx context.Context, url string) {
	t.Helper()
	cfg, err := pgx.ParseConfig(url)
	require.NoError(t, err)
	sqlDB := stdlib.OpenDB(*cfg)
	defer sqlDB.Close()
	store, err := database.NewStore(goose.DialectPostgres, goose.DefaultTablename)
	require.NoError(t, err)
	require.NoError(t, store.CreateVersionTable(ctx, sqlDB))
	require.NoError(t, store.Insert(ctx, sqlDB, database.InsertRequest{Version: 0}))
}

// assertAppliedOnce checks goose recorded each embedded migration exactly once.
func assertAppliedOnce(t *testing.T, ctx context.Context, conn *pgx.Conn) {
	t.Helper()
	files, err := fs.Glob(db.MigrationsFS, "migrations/*.sql")
	require.NoError(t, err)
	require.NotEmpty(t, files)

	rows, err := conn.Query(ctx, `
		SELECT version_id, count(*) FROM goose_db_version
		WHERE version_id > 0 AND is_applied GROUP BY version_id ORDER BY version_id`)
	require.NoError(t, err)
	counts, err := pgx.CollectRows(rows, pgx.RowToStructByPos[struct {
		Version int64
		N       int64
	}])
	require.NoError(t, err)
	require.Len(t, counts, len(files), "every embedded migration recorded")
	for _, c := range counts {
		assert.EqualValues(t, 1, c.N, "migration %d applied %d times", c.Version, c.N)
	}
}

func TestMigrateRejectsBadURL(t *testing.T) {
	tests := []struct {
		name string
		url  string
	}{
		{name: "malformed", url: "postgres://%zz"},
		{name: "unreachable", url: "postgres://postgres@127.0.0.1:1/x?sslmode=disable&connect_timeout=2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
			defer cancel()
			require.Error(t, db.Migrate(ctx, tt.url))
		})
	}
}

// TestPoolSettingsInTheURL: pool settings in DATABASE_URL size the pool and do not reach the
// server, where Postgres would refuse them as unknown parameters.
func TestPoolSettingsInTheURL(t *testing.T) {
	_, url := testenv.Postgres(t)
	sep := "?"
	if strings.Contains(url, "?") {
		sep = "&"
	}
	url += sep + "pool_max_conns=7"
	require.NoError(t, db.Migrate(context.Background(), url))
	pool, err := db.Connect(context.Background(), url)
	require.NoError(t, err)
	defer pool.Close()
	require.EqualValues(t, 7, pool.Config().MaxConns)
}
