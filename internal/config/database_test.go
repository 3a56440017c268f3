package config

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// TestDatabaseURLPoolSettings: DATABASE_URL carries the pool's settings (pool_max_conns and the
// other pool_* parameters, internal/db), which the config did not read: a pool of 0 connections
// or a lifetime without a unit passed as well formed, and the programs stopped later, at the
// migration, with "migrate database: db: migrate: parse connection url: cannot parse ...", a line
// that does not name DATABASE_URL. The password never appears in the message.
func TestDatabaseURLPoolSettings(t *testing.T) {
	for _, tt := range []struct{ query, want string }{
		{"pool_max_conns=0", "pool_max_conns"},
		{"pool_max_conns=many", "pool_max_conns"},
		{"pool_min_conns=few", "pool_min_conns"},
		{"pool_max_conn_lifetime=30", "pool_max_conn_lifetime"},
		{"pool_health_check_period=soon", "pool_health_check_period"},
	} {
		t.Run(tt.query, func(t *testing.T) {
			_, err := load(env(map[string]string{"DATABASE_URL": "postgres://app:s3cr3t-pw@db.internal:5432/pay?sslmode=require&" + tt.query}))
			require.Error(t, err, "DATABASE_URL with %s is taken", tt.query)
			require.ErrorContains(t, err, "config: DATABASE_URL is malformed")
			require.ErrorContains(t, err, tt.want)
			require.NotContains(t, err.Error(), "s3cr3t-pw")
		})
	}
	c, err := load(env(map[string]string{"DATABASE_URL": "postgres://app:pw@db.internal:5432/pay?sslmode=require&pool_max_conns=32&pool_max_conn_lifetime=30m"}))
	require.NoError(t, err)
	require.Contains(t, c.DatabaseURL, "pool_max_conns=32", "the pool settings reach internal/db")

	// A URL that does not parse says so without echoing it (its password).
	_, err = load(env(map[string]string{"DATABASE_URL": "postgres://app:s3cr3t-pw@db.internal:5432/pay%zz"}))
	require.ErrorContains(t, err, "config: DATABASE_URL is malformed")
	require.NotContains(t, err.Error(), "s3cr3t-pw")
}
