package db_test

import (
	"io/fs"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"paysplit/internal/db"
)

// Migration 00044 moves the chain's head to a statement-level trigger. A long reader of the
// journal (a chain verification walks all of it in one snapshot; reports and reconciliation read
// it too) holds it in ACCESS SHARE mode: a migration that needs ACCESS EXCLUSIVE (DROP TRIGGER)
// waits for it, and every read and append of the journal queues behind that wait, so a deploy
// during the nightly verification stalled every payment's booking until the walk ended. The swap
// takes no lock a reader holds: the migration completes while the reader's transaction is open.
func TestMigration00044DoesNotQueueTheJournalBehindAReader(t *testing.T) {
	ctx := t.Context()
	url, reader := migratedTo(t, 43)
	fsys, err := fs.Sub(db.MigrationsFS, "migrations")
	require.NoError(t, err)
	mig := migrations(t, url, fsys)
	watcher, err := pgx.Connect(ctx, url)
	require.NoError(t, err)
	t.Cleanup(func() { watcher.Close(ctx) })

	tx, err := reader.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	require.NoError(t, err)
	var n int64
	require.NoError(t, tx.QueryRow(ctx, `SELECT count(*) FROM journal_entries`).Scan(&n))

	done := make(chan error, 1)
	go func() {
		_, err := mig.UpTo(ctx, 44)
		done <- err
	}()
	// Wait for the migration to end, or to be seen waiting for a lock on the journal.
	waiting := false
	for !waiting {
		select {
		case err := <-done:
			require.NoError(t, err)
			require.NoError(t, tx.Rollback(ctx))
			return
		default:
		}
		require.NoError(t, watcher.QueryRow(ctx, `SELECT EXISTS (SELECT FROM pg_locks
			WHERE relation = 'journal_entries'::regclass AND NOT granted)`).Scan(&waiting))
		if !waiting {
			time.Sleep(10 * time.Millisecond) // poll again: the migration has not blocked yet
		}
	}
	// A read of the journal now queues behind the migration's request.
	_, lockErr := watcher.Exec(ctx, `BEGIN; LOCK TABLE journal_entries IN ACCESS SHARE MODE NOWAIT; COMMIT`)
	_, _ = watcher.Exec(ctx, `ROLLBACK`)
	require.NoError(t, tx.Rollback(ctx))
	require.NoError(t, <-done)
	t.Fatalf("migration 00044 waits for the journal's reader; meanwhile a read of the journal gets: %v", lockErr)
}
