package config

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestKPISettings(t *testing.T) {
	c, err := load(env(nil))
	require.NoError(t, err)
	require.Equal(t, 15*time.Minute, c.KPISyncEvery)
	require.Equal(t, 7, c.KPIRetentionDays)
	require.Equal(t, time.Hour, c.KPIStaleAfter)
	require.Equal(t, 5*time.Minute, c.KPICacheTTL)
	require.Empty(t, c.GA4APIEndpoint)
	require.Equal(t, KPIStripeRevenueSearch, c.KPIStripeRevenue, "older Stripe revenue searched per client by default")

	c, err = load(env(map[string]string{"KPI_SYNC_EVERY": "5m", "KPI_RETENTION_DAYS": "14", "GA4_API_ENDPOINT": "http://127.0.0.1:9999",
		"KPI_STRIPE_REVENUE": "list"}))
	require.NoError(t, err)
	require.Equal(t, 5*time.Minute, c.KPISyncEvery)
	require.Equal(t, 14, c.KPIRetentionDays)
	require.Equal(t, "http://127.0.0.1:9999", c.GA4APIEndpoint)
	require.Equal(t, KPIStripeRevenueList, c.KPIStripeRevenue)

	for _, tt := range []struct{ name, value, want string }{
		{"KPI_SYNC_EVERY", "10s", "config: KPI_SYNC_EVERY is malformed"},
		{"KPI_RETENTION_DAYS", "0", "config: KPI_RETENTION_DAYS is malformed"},
		{"KPI_STALE_AFTER", "soon", "config: KPI_STALE_AFTER is malformed"},
		{"GA4_API_ENDPOINT", "analyticsdata", "config: GA4_API_ENDPOINT is malformed"},
		{"KPI_STRIPE_REVENUE", "listing", "config: KPI_STRIPE_REVENUE is malformed"},
	} {
		_, err := load(env(map[string]string{tt.name: tt.value}))
		require.ErrorContains(t, err, tt.want)
	}
}
