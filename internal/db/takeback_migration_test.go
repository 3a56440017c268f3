package db_test

import (
	"io/fs"
	"testing"

	"github.com/stretchr/testify/require"

	"paysplit/internal/db"
)

// Migration 00050 inserts the system's payout_taken_back monitor under the name an admin's
// monitor may already have taken (live names are unique), and its Down takes the monitor, its
// alerts and their messages away with the kind, leaving the admin's monitors as they were.
func TestMigration00050SystemMonitorBesideAnAdminsNameAndDown(t *testing.T) {
	ctx := t.Context()
	url, conn := migratedTo(t, 49)
	_, err := conn.Exec(ctx, `INSERT INTO monitors (name, kind, params) VALUES ('payout taken back', 'webhook_inbox_age', '{"minutes": 5}')`)
	require.NoError(t, err)
	require.NoError(t, db.Migrate(ctx, url))

	var name string
	var mid int64
	require.NoError(t, conn.QueryRow(ctx, `SELECT id, name FROM monitors WHERE kind = 'payout_taken_back' AND system`).Scan(&mid, &name))
	require.Equal(t, "payout taken back (system)", name)
	var aid int64
	require.NoError(t, conn.QueryRow(ctx, `INSERT INTO alerts (monitor_id, state, summary, fired_at, resolved_at)
		VALUES ($1, 'resolved', 's', now(), now()) RETURNING id`, mid).Scan(&aid))
	_, err = conn.Exec(ctx, `INSERT INTO alert_notifications (alert_id, monitor_id, event, period_start, summary)
		VALUES ($1, $2, 'firing', now(), 's')`, aid, mid)
	require.NoError(t, err)

	fsys, err := fs.Sub(db.MigrationsFS, "migrations")
	require.NoError(t, err)
	p := migrations(t, url, fsys)
	_, err = p.DownTo(ctx, 49)
	require.NoError(t, err)
	var n int
	require.NoError(t, conn.QueryRow(ctx, `SELECT count(*) FROM monitors WHERE kind = 'payout_taken_back'`).Scan(&n))
	require.Zero(t, n)
	require.NoError(t, conn.QueryRow(ctx, `SELECT count(*) FROM monitors WHERE name = 'payout taken back'`).Scan(&n))
	require.Equal(t, 1, n, "the admin's monitor stays")
	_, err = conn.Exec(ctx, `INSERT INTO monitors (name, kind, system) VALUES ('x', 'payout_taken_back', true)`)
	require.Error(t, err, "the kind is gone with 00050")

	_, err = p.Up(ctx)
	require.NoError(t, err)
	require.NoError(t, conn.QueryRow(ctx, `SELECT count(*) FROM monitors WHERE kind = 'payout_taken_back' AND system AND deleted_at IS NULL`).Scan(&n))
	require.Equal(t, 1, n)
}
