package db_test

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"paysplit/internal/db"
	"paysplit/testenv"
)

// A migration that builds indexes CONCURRENTLY runs outside a transaction: a build that fails
// leaves an invalid index and goose, which recorded nothing, runs the whole migration again. The
// run again must drop and build only the invalid index: one already built stays (building it
// again reads the whole table once more), which its OID shows.
func TestConcurrentIndexMigrationRerunRebuildsOnlyInvalidIndexes(t *testing.T) {
	tests := []struct {
		version int
		indexes []string
		broken  string // the index whose build failed
	}{
		{18, []string{"payments_at", "payments_client_at", "payments_held"}, "payments_client_at"},
		{18, []string{"payments_at", "payments_client_at", "payments_held"}, "payments_at"},
		{20, []string{"payments_vendor_at"}, "payments_vendor_at"},
	}
	for _, tt := range tests {
		t.Run(tt.broken, func(t *testing.T) {
			ctx := t.Context()
			url := testenv.EmptyDatabase(t)
			require.NoError(t, db.Migrate(ctx, url))
			conn, err := pgx.Connect(ctx, url)
			require.NoError(t, err)
			defer conn.Close(ctx)

			want := indexDefs(t, conn, tt.indexes)
			failBuild(t, conn, tt.broken)
			before := indexOIDs(t, conn, tt.indexes)
			// goose records a migration once all its statements ran: a failed one runs again.
			_, err = conn.Exec(ctx, `DELETE FROM goose_db_version WHERE version_id = $1`, tt.version)
			require.NoError(t, err)
			require.NoError(t, db.Migrate(ctx, url))

			after := indexOIDs(t, conn, tt.indexes)
			for _, name := range tt.indexes {
				if name == tt.broken {
					require.NotEqual(t, before[name], after[name], "%s was invalid: it must be built again", name)
				} else {
					require.Equal(t, before[name], after[name], "%s was valid: the run again must keep it, not build it again", name)
				}
			}
			require.Equal(t, want, indexDefs(t, conn, tt.indexes), "every index valid, as the migration defines it")
			var leftovers int
			require.NoError(t, conn.QueryRow(ctx, `SELECT count(*) FROM pg_class WHERE relname LIKE 'payments%invalid'`).Scan(&leftovers))
			require.Zero(t, leftovers, "the invalid index renamed out of the way must be dropped")
		})
	}
}

// failBuild leaves name invalid, as a CREATE INDEX CONCURRENTLY that failed does: here a unique
// build over two payments of one client (another definition, which the run again must replace).
func failBuild(t *testing.T, conn *pgx.Conn, name string) {
	t.Helper()
	ctx := t.Context()
	_, err := conn.Exec(ctx, `INSERT INTO payments (workflow_id, provider, payment_id, client_id, status, state)
		VALUES ('wf-rerun-1', 'stripe', 'pi_1', 'c1', 'paid', '{}'), ('wf-rerun-2', 'stripe', 'pi_2', 'c1', 'paid', '{}')`)
	require.NoError(t, err)
	_, err = conn.Exec(ctx, `DROP INDEX `+name)
	require.NoError(t, err)
	_, err = conn.Exec(ctx, `CREATE UNIQUE INDEX CONCURRENTLY `+name+` ON payments (client_id)`)
	require.Error(t, err, "a unique build over a duplicate fails")
	var valid bool
	require.NoError(t, conn.QueryRow(ctx, `SELECT indisvalid FROM pg_index WHERE indexrelid = to_regclass($1)`, name).Scan(&valid))
	require.False(t, valid, "a failed concurrent build leaves its index invalid")
}

func indexOIDs(t *testing.T, conn *pgx.Conn, names []string) map[string]uint32 {
	t.Helper()
	out := map[string]uint32{}
	for _, n := range names {
		var oid uint32
		require.NoError(t, conn.QueryRow(context.Background(), `SELECT to_regclass($1)::oid`, n).Scan(&oid), n)
		out[n] = oid
	}
	return out
}

// indexDefs are the valid indexes' definitions (an invalid index is left out).
func indexDefs(t *testing.T, conn *pgx.Conn, names []string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, n := range names {
		var def string
		err := conn.QueryRow(context.Background(), `SELECT pg_get_indexdef(indexrelid) FROM pg_index
			WHERE indexrelid = to_regclass($1) AND indisvalid`, n).Scan(&def)
		if err == pgx.ErrNoRows {
			continue
		}
		require.NoError(t, err, n)
		out[n] = def
	}
	return out
}
