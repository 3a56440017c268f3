package telemetry_test

import (
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"

	"paysplit/internal/kpi"
	"paysplit/telemetry"
)

// A client's KPI sync lag is in seconds; a source that never synced is +Inf, so an alert on the
// lag fires for it as the API calls it stale.
func TestKPISyncLagNeverSyncedIsInfinite(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := telemetry.NewMetrics(reg)
	m.KPISyncLag("late", 90*time.Minute)
	m.KPISyncLag("never", kpi.NeverSynced)
	require.NoError(t, testutil.GatherAndCompare(reg, strings.NewReader(`# HELP paysplit_kpi_sync_lag_seconds How far behind now each client's KPI sync is, as of its last run.
# TYPE paysplit_kpi_sync_lag_seconds gauge
paysplit_kpi_sync_lag_seconds{client="late"} 5400
paysplit_kpi_sync_lag_seconds{client="never"} +Inf
`), "paysplit_kpi_sync_lag_seconds"))
}
