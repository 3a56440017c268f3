package db_test

import (
	"io/fs"
	"testing"

	"github.com/stretchr/testify/require"

	"paysplit/internal/db"
)

// Migration 00052 lets a client be bound to its Instagram/Facebook Page (client_shops.platform
// 'instagram'), the bindings of 00051 kept. Its Down refuses while an Instagram binding exists:
// dropping it silently would leave the client taking every Page's orders again, a security
// downgrade no one asked for; the admin removes it first (DELETE …/shops/instagram, audited).
func TestMigration00052InstagramBindingAndDown(t *testing.T) {
	ctx := t.Context()
	url, conn := migratedTo(t, 51)
	_, err := conn.Exec(ctx, `INSERT INTO clients (id, name, default_currency) VALUES ('acme', 'acme', 'usd')`)
	require.NoError(t, err)
	_, err = conn.Exec(ctx, `INSERT INTO client_shops (client_id, platform, shop) VALUES ('acme', 'shopify', 'acme.myshopify.com')`)
	require.NoError(t, err)
	const bindPage = `INSERT INTO client_shops (client_id, platform, shop) VALUES ('acme', 'instagram', '110493227123456')`
	_, err = conn.Exec(ctx, bindPage)
	require.Error(t, err, "00051 binds no Instagram Page")

	require.NoError(t, db.Migrate(ctx, url))
	_, err = conn.Exec(ctx, bindPage)
	require.NoError(t, err)
	_, err = conn.Exec(ctx, `INSERT INTO client_shops (client_id, platform, shop) VALUES ('acme', 'etsy', 'x')`)
	require.Error(t, err, "still only the bindable platforms")

	fsys, err := fs.Sub(db.MigrationsFS, "migrations")
	require.NoError(t, err)
	p := migrations(t, url, fsys)
	_, err = p.DownTo(ctx, 51)
	require.ErrorContains(t, err, "instagram", "the Down says why it refuses")
	var n int
	require.NoError(t, conn.QueryRow(ctx, `SELECT count(*) FROM client_shops`).Scan(&n))
	require.Equal(t, 2, n, "a refused Down removes no binding")

	_, err = conn.Exec(ctx, `DELETE FROM client_shops WHERE platform = 'instagram'`)
	require.NoError(t, err)
	_, err = p.DownTo(ctx, 51)
	require.NoError(t, err)
	_, err = conn.Exec(ctx, bindPage)
	require.Error(t, err, "the check of 00051 is back")
	require.NoError(t, conn.QueryRow(ctx, `SELECT count(*) FROM client_shops WHERE platform = 'shopify'`).Scan(&n))
	require.Equal(t, 1, n, "the other bindings stay")
}
